"""RootNet off the critical path: ``RootWorker`` runs RootNet on its own thread, one frame at a time, on the crops of
the newest frame it is given, while the inference thread goes on with the pose models at the depths RootNet gave
earlier (``root_planner.RootDepths`` holds them per track). A frame never waits for RootNet.

The inference thread calls ``submit()`` only when the worker is idle (``busy`` False: nothing in flight), so at most
one RootNet forward is in flight and nothing queues; ``take()`` returns the runs that finished since the last call
(never blocks) and raises the worker's error, if any, in the caller's thread (so it ends the run like any other).
The thread runs at the background priority (``engine.live.background``): it takes the cycles the pose models leave
idle rather than delaying their frames.

The RootNet-only step is the predictor's public ``predict_roots(image, boxes_xywh, intrinsics)`` (the real
``Predictor`` crops RootNet's group only; tests' stand-ins return made-up depths).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from engine.inference.camera import CameraIntrinsics
from engine.live.background import lower_this_thread

if TYPE_CHECKING:
    from engine.inference.protocols import RootPredictorLike

__all__ = ["RootRun", "RootWorker"]


@dataclass(frozen=True)
class RootRun:
    """One finished RootNet run: the keys (track ids) of its persons, their root depth in mm (NaN where the box
    could not be cropped), the capture time of its frame, and how long RootNet took."""

    keys: np.ndarray  # [P] int64
    depth_mm: np.ndarray  # [P] float64
    capture_ts: float
    ms: float


class RootWorker:
    """See the module docstring. The thread starts on the first ``submit()`` and ends with ``close()``."""

    def __init__(self, predictor: RootPredictorLike, lowered: bool = True) -> None:
        self.predictor = predictor
        self.lowered = lowered  # run at the background priority (engine.live.background)
        self._cond = threading.Condition()
        self._job: tuple[np.ndarray, np.ndarray, np.ndarray, CameraIntrinsics, float] | None = None
        self._busy = False
        self._done: list[RootRun] = []
        self._error: BaseException | None = None
        self._closed = False
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        """A RootNet run is in flight (or submitted and not yet taken up)."""
        with self._cond:
            return self._busy

    def submit(self, image: np.ndarray, boxes_xywh: np.ndarray, keys: np.ndarray, intr: CameraIntrinsics,
               capture_ts: float) -> bool:
        """Start RootNet on this frame's persons; False (nothing done) while a run is in flight."""
        with self._cond:
            if self._busy or self._closed:
                return False
            self._busy = True
            self._job = (image, np.array(boxes_xywh, np.float64).reshape(-1, 4), np.array(keys, np.int64), intr,
                         float(capture_ts))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="posearena-rootnet", daemon=True)
                self._thread.start()
            self._cond.notify()
        return True

    def take(self) -> list[RootRun]:
        """The runs finished since the last call (oldest first); raises the worker's error."""
        with self._cond:
            if self._error is not None:
                raise self._error
            done, self._done = self._done, []
        return done

    def close(self, timeout: float = 2.0) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _loop(self) -> None:
        if self.lowered:
            lower_this_thread()
        while True:
            with self._cond:
                while self._job is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                image, boxes, keys, intr, ts = self._job  # type: ignore[misc]
                self._job = None
            t = time.perf_counter()
            try:
                depth = np.asarray(self.predictor.predict_roots(image, boxes, intr), np.float64).reshape(-1)
            except BaseException as exc:  # noqa: BLE001 - handed to the inference thread by take()
                with self._cond:
                    self._error, self._busy = exc, False
                return
            run = RootRun(keys, depth, ts, (time.perf_counter() - t) * 1e3)
            with self._cond:
                self._done.append(run)
                self._busy = False
