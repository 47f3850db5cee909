"""A load generator for the benches: another process that keeps one core busy, bounded and stopping by itself.

Why a process (not a thread): it must compete for a core the way another program does, without the GIL, and it
must never outlive the bench: it spins until its deadline (``seconds``) and is also ended when the block exits.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from types import TracebackType


def _spin(deadline: float) -> None:
    x = 0
    while time.monotonic() < deadline:
        for _ in range(10000):
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF


class CoreLoad:
    """``with CoreLoad(on=True, seconds=60):`` one core busy for the block (at most ``seconds``)."""

    def __init__(self, on: bool = True, seconds: float = 120.0) -> None:
        self.on, self.seconds = on, float(seconds)
        self._proc: mp.process.BaseProcess | None = None

    def __enter__(self) -> CoreLoad:
        if self.on:
            ctx = mp.get_context("spawn")
            self._proc = ctx.Process(target=_spin, args=(time.monotonic() + self.seconds,), daemon=True)
            self._proc.start()
            time.sleep(0.2)  # let it reach its core
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.join(5)
            self._proc = None
