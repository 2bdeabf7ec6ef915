"""Named points where a test may kill this very process, to prove a restarted run recovers.

Crash safety cannot be shown by reasoning alone: the crash tests start `taxgate process` with
`TAXGATE_CRASH_AT=<point>` (`POINTS`; a load's worker at `LOAD_POINTS`) and the process
SIGKILLs itself there, leaving exactly the state a power cut would. Unset (always, in
production), a crash point does nothing.
"""

from __future__ import annotations

import os
import signal

from taxgate.config import get_settings

POINTS = (
    "gate-recorded",
    "decisions-chunk-recorded",
    "response-written",
    "release-recorded",
)
# In `master load`'s worker processes (taxgate.match.master): the load, not `process`.
LOAD_POINTS = ("load-chunk-normalising",)


def crash_point(name: str) -> None:
    """Die here, without cleanup, when the settings name this point."""
    if name not in POINTS + LOAD_POINTS:
        raise ValueError(f"unknown crash point {name!r}")
    if get_settings().crash_at == name:
        os.kill(os.getpid(), signal.SIGKILL)
