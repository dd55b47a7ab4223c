"""System problems: one exception type a person can act on.

Claim problems are data (rule codes); these are for a bad installation, an unreachable
database, unusable input. The CLI prints ``str(error)`` without a traceback.
"""

from __future__ import annotations

__all__ = [
    "ClearinghouseError",
    "DropRefused",
    "Problem",
    "TransientError",
    "UsageError",
]


class ClearinghouseError(Exception):
    """A terminal problem with a message a person can act on (exit status 2)."""

    exit_code = 2


class UsageError(ClearinghouseError):
    """Bad usage: a path that does not exist, a date in the future, an unknown period."""


class TransientError(ClearinghouseError):
    """A problem that may pass (the database is unreachable): the scheduler retries it."""


class Problem(ClearinghouseError):  # noqa: N818 - a finding, reported with exit status 1
    """The command ran and found a problem it reports (exit status 1): an unbalanced run, a
    rebuilt file that no longer matches the hash its run recorded."""

    exit_code = 1


class DropRefused(Exception):  # noqa: N818 - a refusal is an answer, not an error
    """A drop refused whole with an F code; caught by the ingest job and acknowledged."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
