"""The live engine's model comparison: an ``engine.compare.CompareAccumulator`` over the run's models, fed
one result at a time on the inference thread (after the subscribers and the recorder) and read from any thread.

``CompareFeed`` owns the accumulator, its lock and the window clock; ``LiveEngine`` makes one in ``prepare()`` (so a
new model set or source, which means a new engine, starts a new comparison) and forwards ``compare_snapshot()``,
``compare_models``, ``reset_compare()`` and ``compare_error`` to it. The comparison never stops inference: a failure
switches it off and says why in ``error``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from engine.live.results import LiveResult, ModelInfo, RollingStats

if TYPE_CHECKING:
    from engine.compare.accumulator import CompareAccumulator
    from engine.compare.snapshot import ModelDesc, Snapshot

log = logging.getLogger(__name__)

__all__ = ["COMPARE_WINDOW_FRAMES", "COMPARE_WINDOW_S", "CompareFeed"]

COMPARE_WINDOW_FRAMES = 120  # the live comparison's rolling window: at most this many frames ...
COMPARE_WINDOW_S = 4.0  # ... and at most this many seconds


class CompareFeed:
    """The comparison window of one live run (see the module docstring)."""

    def __init__(self, enabled: bool = True, window_frames: int = COMPARE_WINDOW_FRAMES,
                 window_s: float | None = COMPARE_WINDOW_S) -> None:
        self.enabled = enabled
        self.window = (int(window_frames), window_s)
        self.acc: CompareAccumulator | None = None  # once made
        self.error: str | None = None  # why the comparison stopped (it never stops inference)
        self._lock = threading.Lock()
        self._last_t = float("-inf")

    def make(self, models: Sequence[ModelInfo], notes: list[str]) -> None:
        """Start the comparison over ``models`` (no-op when off or without models); a joint set it cannot map turns
        it off, with a line appended to ``notes``."""
        if not self.enabled or not models:
            return
        from engine.compare import CompareAccumulator

        frames, seconds = self.window
        try:
            acc = CompareAccumulator(models, window_frames=frames, window_s=seconds)
        except (ValueError, KeyError) as exc:  # a joint set the comparison cannot map: no comparison, still live
            self.error = f"model comparison off: {exc}"
            notes.append(self.error)
            return
        with self._lock:
            self.acc = acc
            self._last_t = float("-inf")

    def feed(self, result: LiveResult, stats: RollingStats) -> None:
        """Add one result to the comparison window (a few array copies, tens of µs; timed as stage "compare").
        The clock is the file position when the source has one (so a file processed faster or slower than real
        time gives the same mm/s²), else the capture time; a clock going back (a looped file) starts a new window."""
        acc = self.acc
        if acc is None:
            return
        t0 = time.perf_counter()
        media = result.media_ts
        t = float(media) if media is not None and np.isfinite(media) else float(result.capture_ts)
        try:
            with self._lock:
                if t <= self._last_t:
                    acc.reset()
                self._last_t = t
                acc.update_from_result(result, t)
        except Exception as exc:  # noqa: BLE001 - the comparison must never stop inference
            log.warning("model comparison stopped: %s", exc, exc_info=exc)
            self.error = f"model comparison stopped: {type(exc).__name__}: {exc}"
            self.acc = None
            return
        stats.add("compare", (time.perf_counter() - t0) * 1e3)

    @property
    def models(self) -> list[ModelDesc]:
        """The ``engine.compare.ModelDesc`` of each compared model (empty before ``make()`` or when off)."""
        acc = self.acc
        return list(acc.descs) if acc is not None else []

    def snapshot(self) -> Snapshot | None:
        """The comparison over the recent window (``engine.compare.Snapshot``), or None when there is none.
        Thread-safe and never holds up inference: the window is copied under the lock (microseconds) and the
        measures are computed on the copy, in the caller's thread."""
        with self._lock:
            acc = self.acc
            frozen = acc.frozen() if acc is not None else None
        return frozen.snapshot() if frozen is not None else None

    def reset(self) -> None:
        """Start a new comparison window (e.g. the scene changed)."""
        with self._lock:
            if self.acc is not None:
                self.acc.reset()
            self._last_t = float("-inf")
