"""clearinghouse package."""
