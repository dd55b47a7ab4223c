"""``python -m jobs`` runs the ``clearinghouse`` command line."""

from jobs.cli import main

main()
