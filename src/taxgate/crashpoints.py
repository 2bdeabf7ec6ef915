"""Named points where a test may kill this very process, to prove a restarted run recovers.

Crash safety cannot be shown by reasoning alone: the crash tests start `taxgate process` with
`TAXGATE_CRASH_AT=<point>` and the process SIGKILLs itself there, leaving exactly the state a
power cut would. Unset (always, in production), a crash point does nothing.
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
    "load-chunk-normalising",  # in a load's worker process (taxgate.match.master)
)


def crash_point(name: str) -> None:
    """Die here, without cleanup, when the settings name this point."""
    if name not in POINTS:
        raise ValueError(f"unknown crash point {name!r}")
    if get_settings().crash_at == name:
        os.kill(os.getpid(), signal.SIGKILL)
