"""How many CPU threads a network may use now: its own count, unless other programs keep the cores busy.

Why: a LiteRT interpreter splits each layer over its threads and waits for the slowest. On a 2-core machine with
another program keeping one core busy, BlazePose's 2-thread forward took 25-27 ms against 19-24 ms for one thread
(``bench.live_pipeline --loaded``): one of its two threads always shared a core. MediaPipe's own pipeline, which
runs the same network, lost nothing to that load. So a runtime that can (``models.blazepose.runtime``) asks
``threads_for(n)`` before each forward and runs with fewer threads while other processes hold the cores.

How: ``/proc/stat`` gives the busy time of all cores; ``os.times()`` gives this process's own CPU time (all its
threads, its background search and RootNet included). Their difference over the last ``PERIOD_S`` is the cores
other programs used; a network runs with at most the cores they leave, with hysteresis: on 2 cores, 1 thread from
``BUSY_ENTER`` of a core busy elsewhere, 2 again under ``BUSY_LEAVE``. Samples are taken at most once a period by
whichever thread asks (about 30 us). Where ``/proc/stat`` does not exist (not Linux) a runtime keeps its own thread
count.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable

__all__ = ["BUSY_ENTER", "BUSY_LEAVE", "OtherLoad", "PERIOD_S", "threads_for"]

PERIOD_S = 0.25  # seconds between samples
BUSY_ENTER = 0.6  # of a core busy elsewhere: from here a network gives up the thread that core would run
BUSY_LEAVE = 0.3  # ... and takes it back under this


def _jiffies() -> tuple[float, int] | None:
    """(busy seconds of all cores since boot, number of cores), from /proc/stat; None where it cannot be read."""
    try:
        with open("/proc/stat", "rb") as f:
            lines = f.read().split(b"\n")
    except OSError:
        return None
    v = [int(x) for x in lines[0].split()[1:9]]
    cores = sum(1 for ln in lines[1:] if ln.startswith(b"cpu"))
    if len(v) < 4 or cores < 1:
        return None
    hz = float(os.sysconf("SC_CLK_TCK"))
    idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
    return (sum(v) - idle) / hz, cores


def _own_cpu_s() -> float:
    t = os.times()
    return t.user + t.system


class OtherLoad:
    """The cores other programs used over the last period (``busy_elsewhere``) and the threads a network that
    wants ``n`` should use now (``threads_for``). Thread-safe; one per process is enough (``threads_for``)."""

    def __init__(self, period_s: float = PERIOD_S, read_stat: Callable[[], tuple[float, int] | None] = _jiffies,
                 own_cpu: Callable[[], float] = _own_cpu_s, clock: Callable[[], float] = time.monotonic) -> None:
        self.period_s = float(period_s)
        self._read_stat, self._own_cpu, self._clock = read_stat, own_cpu, clock
        self._lock = threading.Lock()
        self._last: tuple[float, float, float] | None = None  # (clock, busy all cores, own cpu)
        self._next = 0.0
        self.busy_elsewhere = 0.0
        self._cap = 1 << 16  # threads a network may use (no limit until a sample says otherwise)

    def _sample(self) -> None:
        now = self._clock()
        if now < self._next:
            return
        self._next = now + self.period_s
        stat = self._read_stat()
        if stat is None:
            return
        cur = (now, stat[0], self._own_cpu())
        last, self._last = self._last, cur
        if last is None or cur[0] <= last[0]:
            return
        elsewhere = ((cur[1] - last[1]) - (cur[2] - last[2])) / (cur[0] - last[0])
        self.busy_elsewhere = busy = max(0.0, elsewhere)
        free = stat[1] - busy  # cores other programs leave
        cap_enter = math.floor(free + BUSY_ENTER - 1e-9)  # 2 cores: 1 thread from 0.6 of a core busy elsewhere
        cap_leave = math.floor(free + BUSY_LEAVE)  # ... and 2 again under 0.3
        if cap_enter < self._cap:
            self._cap = cap_enter
        elif cap_leave > self._cap:
            self._cap = cap_leave

    def threads_for(self, wanted: int) -> int:
        """``wanted`` threads, at most the cores other programs leave free (with hysteresis), at least 1."""
        wanted = max(1, int(wanted))
        with self._lock:
            self._sample()
            cap = self._cap
        return max(1, min(wanted, cap))


_SHARED = OtherLoad()


def threads_for(wanted: int) -> int:
    """The process-wide ``OtherLoad``'s answer: the threads a network wanting ``wanted`` should run with now."""
    return _SHARED.threads_for(wanted)
