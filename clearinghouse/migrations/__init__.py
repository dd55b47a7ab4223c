"""Alembic migrations of the stored data model (shipped in the package; see persistence.db)."""
