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
from engine.live.background import OneJobThread

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


_Job = tuple[np.ndarray, np.ndarray, np.ndarray, CameraIntrinsics, float]  # image, boxes, keys, intrinsics, capture ts


class RootWorker:
    """See the module docstring: RootNet on a ``OneJobThread`` (``engine.live.background``)."""

    def __init__(self, predictor: RootPredictorLike, lowered: bool = True) -> None:
        self.predictor = predictor
        self._jobs: OneJobThread[_Job, RootRun] = OneJobThread("posearena-rootnet", self._run, lowered)

    @property
    def busy(self) -> bool:
        """A RootNet run is in flight (or submitted and not yet taken up)."""
        return self._jobs.busy

    @property
    def thread(self) -> threading.Thread | None:
        return self._jobs.thread

    def submit(self, image: np.ndarray, boxes_xywh: np.ndarray, keys: np.ndarray, intr: CameraIntrinsics,
               capture_ts: float) -> bool:
        """Start RootNet on this frame's persons; False (nothing done) while a run is in flight."""
        return self._jobs.submit((image, np.array(boxes_xywh, np.float64).reshape(-1, 4), np.array(keys, np.int64),
                                  intr, float(capture_ts)))

    def take(self) -> list[RootRun]:
        """The runs finished since the last call (oldest first); raises the worker's error."""
        if self._jobs.error is not None:
            raise self._jobs.error
        return self._jobs.take()

    def close(self, timeout: float = 2.0) -> None:
        self._jobs.close(timeout)

    def _run(self, job: _Job) -> RootRun:
        image, boxes, keys, intr, ts = job
        t = time.perf_counter()
        depth = np.asarray(self.predictor.predict_roots(image, boxes, intr), np.float64).reshape(-1)
        return RootRun(keys, depth, ts, (time.perf_counter() - t) * 1e3)
