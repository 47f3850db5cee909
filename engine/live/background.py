"""Background threads of the live pipeline run at a lower scheduling priority than the inference thread.

Why: on two cores the background work (RootNet's root depth, the periodic person detection) competes with the pose
models for the same cores, and every frame that shares its cores with it comes out late: the pose models' p95 rose
with it. At niceness 10 a background thread gets about a tenth of a core the inference thread wants and all of a
core it leaves idle (the gaps while it crops, decodes and waits for the next camera frame). Threads a background
thread starts (its OpenMP workers, a runtime's own pool) inherit its niceness on Linux. Elsewhere nothing changes.
``OneJobThread`` is the one such thread both RootNet's worker and the background person search are built on.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["BACKGROUND_NICE", "OneJobThread", "lower_this_thread"]

J = TypeVar("J")
R = TypeVar("R")

BACKGROUND_NICE = 10


def lower_this_thread(nice: int = BACKGROUND_NICE) -> bool:
    """Raise the calling thread's niceness to ``nice`` (Linux schedules threads one by one); False where the
    platform does not allow it. Call it first thing on the thread, before it starts worker threads of its own."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except (AttributeError, OSError):
        return False
    return True


class OneJobThread(Generic[J, R]):
    """One background thread, one job at a time, nothing queued: ``submit`` while idle (False otherwise), ``take``
    the results finished since the last call (never blocks). ``work`` runs on the thread, at the background priority
    when ``lowered``; an exception ends the thread and is kept in ``error`` (later submits are refused), for the
    owner to raise or to work around. The thread starts on the first ``submit`` and ends with ``close``."""

    def __init__(self, name: str, work: Callable[[J], R], lowered: bool = True) -> None:
        self.name, self.work, self.lowered = name, work, lowered
        self._cond = threading.Condition()
        self._job: J | None = None
        self._busy = False
        self._done: list[R] = []
        self._closed = False
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        """A job is in flight (or submitted and not yet taken up)."""
        with self._cond:
            return self._busy

    def submit(self, job: J) -> bool:
        with self._cond:
            if self._busy or self._closed or self.error is not None:
                return False
            self._busy, self._job = True, job
            if self.thread is None:
                self.thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self.thread.start()
            self._cond.notify()
        return True

    @property
    def finished(self) -> bool:
        """A result waits to be taken."""
        with self._cond:
            return bool(self._done)

    def take(self) -> list[R]:
        with self._cond:
            done, self._done = self._done, []
        return done

    def close(self, timeout: float = 2.0) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout)

    def _loop(self) -> None:
        if self.lowered:
            lower_this_thread()
        while True:
            with self._cond:
                while self._job is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                job, self._job = self._job, None
            try:
                result = self.work(job)  # type: ignore[arg-type]
            except BaseException as exc:  # noqa: BLE001 - kept for the owner (raised or worked around there)
                with self._cond:
                    self.error, self._busy = exc, False
                return
            with self._cond:
                self._done.append(result)
                self._busy = False
