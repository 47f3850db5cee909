"""The periodic detection off the critical path: newcomers found on a background thread while poses carry the boxes.

Between detections every person's box comes from its previous pose (``PersonDetector``); a detection is still due
every ``every_n`` frames to pick up persons who walked in. On the inference thread that detection costs a whole
frame (NanoDet at 416 px: 35-45 ms on 2 cores, beside an 18 ms pose forward), a stall every ``every_n`` frames. A
``FindingDetector`` instead hands the due frame to ``RefreshWorker``: its own runtime (one CPU thread, built on the
worker) runs at the background priority (``engine.live.background``), so it takes the cycles the pose models leave
idle, and the frames keep coming from the carried boxes. When it finishes, the persons it found that overlap no
carried person join the next frame as newcomers, with ids from the detector's tracker. A detection on the inference
thread (at the start, or when a track is lost) makes a refresh in flight stale; a refresh still unfinished after
``LATE_AFTER`` intervals gives way to a detection on the inference thread, so a busy machine delays newcomers by a
bounded number of frames. The interval counts from the end of the last search: a search that takes longer than an
interval (a busy machine: about a second) is not followed at once by the next, which would keep a core's worth of
background work running all the time. And at most one search per ``search_every_s`` of wall time: each costs about
40 ms of a core (NanoDet at 416 on one thread), a tenth of a frame's time on the frames it overlaps, so a pipeline
running faster than a camera searches no more often than a 30 fps camera would make it.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.defaults import DETECTOR
from engine.live.background import OneJobThread
from engine.live.detector import Detections, DetectorError, PersonDetector
from engine.live.tracking import IouTracker, iou_xywh, squared_xywh

__all__ = ["FindingDetector", "LATE_AFTER", "Refresh", "RefreshWorker"]

log = logging.getLogger(__name__)

Finder = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
LATE_AFTER = 3  # a refresh unfinished after this many intervals gives way to a detection on the inference thread
NEWCOMER_IOU = 0.3  # a found box overlapping a carried person this much (as squares) is that person


@dataclass(frozen=True)
class Refresh:
    """One finished background detection: boxes [K,4] xywh and scores [K] of the frame it was given."""

    generation: int
    boxes_xywh: np.ndarray
    scores: np.ndarray
    ms: float


class RefreshWorker:
    """The background search on a ``OneJobThread`` (``engine.live.background``): ``submit`` when idle, ``take`` the
    newest finished search (never blocks). The finder is built on the thread by ``make_finder`` (its own runtime:
    nothing is shared with the inference thread's). A failing finder ends the background searches (``failed``) and
    is logged; the inference thread then detects itself, and meets the same error there if it is real."""

    def __init__(self, make_finder: Callable[[], Finder]) -> None:
        self._make_finder = make_finder
        self._finder: Finder | None = None  # built and used on the worker thread only
        self._jobs: OneJobThread[tuple[np.ndarray, int], Refresh] = OneJobThread("posearena-detect-refresh",
                                                                                 self._search)

    @property
    def busy(self) -> bool:
        return self._jobs.busy

    @property
    def finished(self) -> bool:
        """A search ended and its result waits to be taken."""
        return self._jobs.finished

    @property
    def thread(self) -> threading.Thread | None:
        return self._jobs.thread

    @property
    def failed(self) -> str | None:
        err = self._jobs.error
        return None if err is None else (str(err) or type(err).__name__)

    def submit(self, image: np.ndarray, generation: int) -> bool:
        """Start a search on ``image``; False (nothing done) while one is in flight or after a failure."""
        return self._jobs.submit((image, generation))

    def take(self) -> Refresh | None:
        done = self._jobs.take()
        return done[-1] if done else None

    def close(self, timeout: float = 2.0) -> None:
        self._jobs.close(timeout)

    def _search(self, job: tuple[np.ndarray, int]) -> Refresh:
        image, generation = job
        t = time.perf_counter()
        try:
            self._finder = self._finder or self._make_finder()
            boxes, scores = self._finder(image)
        except Exception as exc:
            log.warning("background person detection stopped: %s", exc)
            raise
        return Refresh(generation, np.asarray(boxes, np.float32).reshape(-1, 4),
                       np.asarray(scores, np.float32).reshape(-1), (time.perf_counter() - t) * 1e3)


class FindingDetector(PersonDetector):
    """A detector whose finding of boxes keeps no state (``_find``) and whose ids come from an ``IouTracker``; its
    periodic detection runs in the background (module docstring) when ``background`` is on and ``every_n`` > 1.
    Subclasses implement ``_find`` and ``_background_finder`` (a finder with its own runtime, built on the worker)."""

    def __init__(self, every_n: int = DETECTOR.every, tracker: str = "iou", background: bool = DETECTOR.background,
                 min_confidence: float = DETECTOR.min_pose_confidence,
                 search_every_s: float = DETECTOR.search_every_s) -> None:
        super().__init__(every_n, min_confidence)
        self.search_every_s = float(search_every_s)  # the least wall time between background searches
        self._searched_at = -float("inf")  # when the last search ended (or the last detection on this thread)
        if tracker not in ("iou", "none"):
            raise DetectorError(f"{self.kind} detector: tracker {tracker!r} is not 'iou' or 'none'")
        self._tracker = IouTracker() if tracker == "iou" else None
        self.background = bool(background) and every_n > 1
        self._worker: RefreshWorker | None = None
        self._generation = 0
        self.refreshes = 0  # background detections whose result was used
        self.refresh_ms: deque[float] = deque(maxlen=256)  # the latest searches' times (benches read them)

    @abstractmethod
    def _find(self, image_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Persons in a BGR frame: boxes [K,4] xywh float32 in image pixels and scores [K], best first."""

    @abstractmethod
    def _background_finder(self) -> Finder:
        """A ``_find`` with its own runtime on one CPU thread, for the background worker."""

    def _ids(self, boxes: np.ndarray) -> np.ndarray:
        return self._tracker.update(boxes) if self._tracker is not None else np.full(len(boxes), -1, np.int64)

    def _detect(self, image_bgr: np.ndarray) -> Detections:
        boxes, scores = self._find(image_bgr)
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        ids = self._ids(boxes)
        return Detections(boxes, np.asarray(scores, np.float32).reshape(-1), ids, "detector") if len(boxes) \
            else Detections.empty()

    def _observe_carried(self, dets: Detections) -> None:
        if self._tracker is not None:
            self._tracker.observe(dets.boxes_xywh, dets.track_ids)

    def _refresh_behind(self, image_bgr: np.ndarray) -> bool:
        if not self.background:
            return False
        if self._worker is None:
            self._worker = RefreshWorker(self._background_finder)
        if self._worker.failed:
            return False
        if self._worker.finished:  # take its result first (``_with_newcomers``): the interval restarts there
            return True
        if time.monotonic() - self._searched_at < self.search_every_s:  # searched less than that ago: carry on
            return True
        if self._worker.submit(image_bgr, self._generation):
            self._since = 0
            return True
        return self._since < LATE_AFTER * self.every_n  # still in flight: wait, up to a bound

    def _with_newcomers(self, carried: Detections) -> Detections:
        done = self._worker.take() if self._worker is not None else None
        if done is None or done.generation != self._generation:
            return carried
        self._since = 1  # the next search is due an interval after this one ended, not after it began
        self._searched_at = time.monotonic()
        self.refreshes += 1
        self.refresh_ms.append(done.ms)
        boxes, scores = done.boxes_xywh, done.scores
        if len(boxes) and len(carried):
            iou = iou_xywh(squared_xywh(boxes), squared_xywh(carried.boxes_xywh))
            new = iou.max(axis=1) < NEWCOMER_IOU
            boxes, scores = boxes[new], scores[new]
        if not len(boxes):
            return carried
        ids = self._ids(boxes)
        fresh = ~np.isin(ids, carried.track_ids) | (ids < 0)
        if not fresh.any():
            return carried
        return Detections(np.concatenate([carried.boxes_xywh, boxes[fresh]]).astype(np.float32),
                          np.concatenate([carried.scores, scores[fresh]]).astype(np.float32),
                          np.concatenate([carried.track_ids, ids[fresh]]).astype(np.int64), carried.origin)

    def _drop_refresh(self) -> None:
        self._generation += 1
        self._searched_at = time.monotonic()  # everyone was just found here

    def reset(self) -> None:
        super().reset()
        self._drop_refresh()
        if self._tracker is not None:
            self._tracker.reset()

    def close(self) -> None:
        """End the background thread; a detector used again after this starts a new one when a search is due."""
        if self._worker is not None:
            self._worker.close()
            self._worker = None
        super().close()
