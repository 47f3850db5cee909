"""Background threads of the live pipeline run at a lower scheduling priority than the inference thread.

Why: on two cores the background work (RootNet's root depth, the periodic person detection) competes with the pose
models for the same cores, and every frame that shares its cores with it comes out late: the pose models' p95 rose
with it. At niceness 10 a background thread gets about a tenth of a core the inference thread wants and all of a
core it leaves idle (the gaps while it crops, decodes and waits for the next camera frame). Threads a background
thread starts (its OpenMP workers, a runtime's own pool) inherit its niceness on Linux. Elsewhere nothing changes.
"""

from __future__ import annotations

import os
import threading

__all__ = ["BACKGROUND_NICE", "lower_this_thread"]

BACKGROUND_NICE = 10


def lower_this_thread(nice: int = BACKGROUND_NICE) -> bool:
    """Raise the calling thread's niceness to ``nice`` (Linux schedules threads one by one); False where the
    platform does not allow it. Call it first thing on the thread, before it starts worker threads of its own."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except (AttributeError, OSError):
        return False
    return True
