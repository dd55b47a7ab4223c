"""Named failpoints: kill the process at a chosen point, to prove crash safety in tests.

``CLEARINGHOUSE_FAILPOINT=<name>`` makes ``failpoint(name)`` send SIGKILL to its own process:
no cleanup, no rollback code runs, exactly like a power cut or the OOM killer.
"""

from __future__ import annotations

import os
import signal

__all__ = ["failpoint"]


def failpoint(name: str) -> None:
    """Die here, at once, when the environment names this point."""
    if os.environ.get("CLEARINGHOUSE_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
