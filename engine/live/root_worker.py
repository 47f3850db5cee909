"""RootNet off the critical path: ``RootWorker`` runs RootNet on its own thread, one frame at a time, on the crops of
the newest frame it is given, while the inference thread goes on with the pose models at the depths RootNet gave
earlier (``root_planner.RootDepths`` holds them per track). A frame never waits for RootNet.

The inference thread calls ``submit()`` only when the worker is idle (``busy`` False: nothing in flight), so at most
one RootNet forward is in flight and nothing queues; ``take()`` returns the runs that finished since the last call
(never blocks) and raises the worker's error, if any, in the caller's thread (so it ends the run like any other).

``predict_roots(predictor, image, boxes_xywh, intrinsics)`` is the RootNet-only step: a predictor may provide its own
``predict_roots`` (tests' stand-ins do); else the ``engine.inference.predictor.Predictor`` path crops RootNet's
group only and calls ``Predictor.predict_root``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.inference.camera import CameraIntrinsics

__all__ = ["RootRun", "RootWorker", "predict_roots"]


@dataclass(frozen=True)
class RootRun:
    """One finished RootNet run: the keys (track ids) of its persons, their root depth in mm (NaN where the box
    could not be cropped), the capture time of its frame, and how long RootNet took."""

    keys: np.ndarray  # [P] int64
    depth_mm: np.ndarray  # [P] float64
    capture_ts: float
    ms: float


def predict_roots(predictor: Any, image: np.ndarray, boxes_xywh: np.ndarray, intr: CameraIntrinsics) -> np.ndarray:
    """RootNet alone on ``boxes_xywh`` [P,4] -> root depth [P] mm (NaN for a box that cannot be cropped)."""
    own = getattr(predictor, "predict_roots", None)
    if own is not None:
        return np.asarray(own(image, boxes_xywh, intr), np.float64).reshape(-1)
    from engine.inference import geometry as geo
    from engine.inference.predictor import CropBatch, group_key

    boxes_in = np.asarray(boxes_xywh, np.float64).reshape(-1, 4)
    depth = np.full(len(boxes_in), np.nan)
    key = group_key(predictor.rootnet.spec)
    (in_h, in_w), norm = key
    img_h, img_w = image.shape[:2]
    kept, boxes = [], []
    for i, b in enumerate(boxes_in):
        pb = geo.process_bbox(b, img_w, img_h, in_w / in_h) if np.all(np.isfinite(b)) and b[2] > 0 and b[3] > 0 \
            else None
        if pb is not None:
            kept.append(i)
            boxes.append(pb)
    if not kept:
        return depth
    # crops of RootNet's group only, cut as Predictor.predict_frame cuts them
    gboxes = np.array(boxes, np.float64).reshape(len(kept), 4)
    arr = np.stack([geo.crop_patch(image, b, (in_h, in_w))[0] for b in gboxes])
    batch = CropBatch(crops={key: predictor._input(geo.normalise(arr, norm))}, boxes={key: gboxes},
                      f=np.asarray(intr.f, np.float64), c=np.asarray(intr.c, np.float64))
    _, root_cam = predictor.predict_root(batch)
    depth[kept] = np.asarray(root_cam, np.float64)[:, 2]
    return depth


class RootWorker:
    """See the module docstring. The thread starts on the first ``submit()`` and ends with ``close()``."""

    def __init__(self, predictor: Any) -> None:
        self.predictor = predictor
        self._cond = threading.Condition()
        self._job: tuple[Any, ...] | None = None
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
                depth = predict_roots(self.predictor, image, boxes, intr)
            except BaseException as exc:  # noqa: BLE001 - handed to the inference thread by take()
                with self._cond:
                    self._error, self._busy = exc, False
                return
            run = RootRun(keys, depth, ts, (time.perf_counter() - t) * 1e3)
            with self._cond:
                self._done.append(run)
                self._busy = False
