"""Person detectors for the live pipeline, with sparse detection and track ids.

``PersonDetector.__call__`` detects only when needed (every detector, by default): between detections each person's
box is carried from its previous pose (tight box around the 2D joints, enlarged x1.25: rtmlib's ``pose_to_bbox``
practice), keeping the track ids, as MediaPipe tracks from its landmarks. It detects when nobody is carried, when a
track is lost (no finite pose, or the pose model's confidence under ``min_confidence``), and at least every
``every_n`` frames so that newcomers are picked up (``DETECTOR.every``, chosen by ``bench.sparse_detection``).

``YoloPersonDetector`` uses ultralytics (person class only) with the library's tracker (``model.track(persist=True)``,
ByteTrack/BoT-SORT). Those trackers need the ``lap`` package; without it the detector falls back to a small greedy
IoU tracker (``IouTracker``) and says so in its label. ``make_detector`` resolves weights (a local file, a named model
in the weights directory or current folder, or a download when online) and, when no detector can be had, returns the
clearly labelled ``WholeFrameDetector`` (one box = the whole frame) instead of failing.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from engine.defaults import DETECTOR
from engine.live.tracking import (  # noqa: F401  (re-exported: the detectors' shared tracking)
    CARRY_SCALE,
    IouTracker,
    boxes_from_joints,
    iou_xywh,
    squared_xywh,
)
from models.errors import PoseArenaError
from models.registry import Registry

log = logging.getLogger(__name__)

WHOLE_FRAME_LABEL = "no person detector: whole-frame box"
DEFAULT_YOLO = ("yolo11n.pt", "yolov8n.pt")


class DetectorError(PoseArenaError):
    """A detector that cannot be built from what was given; the message names the file and the cause."""


@dataclass
class Detections:
    boxes_xywh: np.ndarray  # [N,4] float32, top-left x, y, width, height in image pixels
    scores: np.ndarray  # [N] float32 (1.0 for carried / whole-frame boxes)
    track_ids: np.ndarray  # [N] int64, -1 = untracked
    origin: str  # "detector" | "carried" | "whole-frame"

    @classmethod
    def empty(cls, origin: str = "detector") -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64), origin)

    def __len__(self) -> int:
        return len(self.boxes_xywh)


_DETECTORS: Registry[type[PersonDetector]] = Registry("detector", set_kind=True)
_DETECTORS.declare("blazepose", "engine.live.detector_blazepose")  # loads its TFLite runtime on first use
_DETECTORS.declare("nanodet", "engine.live.detector_nanodet")  # loads onnxruntime on first use
# "auto" without YOLO weights: the bundled detectors in this order (NanoDet finds distant persons, BlazePose's only
# close ones), then one whole-frame box
AUTO_FALLBACKS = ("nanodet", "blazepose")


def accepted_options(cls: type, opts: dict[str, Any]) -> dict[str, Any]:
    """The subset of the common detector options (imgsz, conf, every_n, ...) that ``cls.__init__`` accepts."""
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(opts)
    return {k: v for k, v in opts.items() if k in params}


def register_detector(name: str):
    """Class decorator: adds a ``PersonDetector`` subclass (with ``from_spec``) to the registry."""
    return _DETECTORS.register(name)


def detector_kinds() -> list[str]:
    return _DETECTORS.known()


class PersonDetector(ABC):
    """Detection only when needed + pose-carried boxes between detections (module docstring). Subclasses implement
    ``_detect``; ``detections``/``carries`` count what ``__call__`` did (benches read them)."""

    kind: ClassVar[str] = "?"
    label: str = "?"
    note: str = ""  # why a fallback was chosen, shown next to the label

    def __init__(self, every_n: int = DETECTOR.every, min_confidence: float = DETECTOR.min_pose_confidence) -> None:
        if every_n < 1:
            raise ValueError(f"every_n must be >= 1, got {every_n}")
        self.every_n = every_n
        self.min_confidence = float(min_confidence)
        self._carried: Detections | None = None
        self._since = 0
        self.detections = 0
        self.carries = 0

    @classmethod
    def from_spec(cls, spec: str, **opts: Any) -> PersonDetector:
        """Build from the text after ``kind:``; ``opts`` are the common options, each class takes those it knows."""
        return cls(**accepted_options(cls, opts))

    @abstractmethod
    def _detect(self, image_bgr: np.ndarray) -> Detections: ...

    def _observe_carried(self, dets: Detections) -> None:
        """Hook for trackers that can learn from carried boxes."""
        return

    def _refresh_behind(self, image_bgr: np.ndarray) -> bool:
        """Hook: the periodic detection is due; True when it is (being) done off this thread (``detector_refresh``),
        False to detect here and now."""
        return False

    def _with_newcomers(self, carried: Detections) -> Detections:
        """Hook: the carried persons plus those a finished background detection found (none here)."""
        return carried

    def _drop_refresh(self) -> None:
        """Hook: a detection on this thread makes a background one in flight stale."""
        return

    def __call__(self, image_bgr: np.ndarray) -> Detections:
        carried = self._carried
        self._carried = None
        if carried is not None and len(carried) and (self._since < self.every_n
                                                     or self._refresh_behind(image_bgr)):
            self._since += 1
            self.carries += 1
            carried = self._with_newcomers(carried)
            self._observe_carried(carried)
            return carried
        self._since = 1
        self.detections += 1
        self._drop_refresh()
        return self._detect(image_bgr)

    def close(self) -> None:
        """End of a run: forget the carried boxes and tracks (a detector used again starts afresh) and end any
        thread of its own (the background search's)."""
        self.reset()

    def update_from_poses(self, track_ids: Sequence[int] | np.ndarray, joints_2d: np.ndarray,
                          image_hw: tuple[int, int], confidence: np.ndarray | None = None) -> None:
        """Boxes for the next frame from this frame's 2D poses ([P,J,2], same order as ``track_ids``).

        ``confidence`` [P]: the pose model's own score per person (BlazePose's pose-present probability), when it
        has one. A person without a finite pose or under ``min_confidence`` is a lost track: the next frame is
        detected, all persons anew, rather than carrying the others and losing that one until the next detection."""
        if self.every_n <= 1:
            return
        boxes = boxes_from_joints(joints_2d, image_hw)
        ok = np.all(np.isfinite(boxes), axis=1)
        if confidence is not None:
            ok &= np.asarray(confidence, np.float64).reshape(-1) >= self.min_confidence
        if not ok.all():
            self._carried = None
            return
        ids = np.asarray(track_ids, np.int64)
        self._carried = Detections(boxes, np.ones(len(boxes), np.float32), ids, "carried")

    def reset(self) -> None:
        self._carried = None
        self._since = 0


@register_detector("whole-frame")
class WholeFrameDetector(PersonDetector):
    """No detector available: one box covering the whole frame (track id 0), clearly labelled."""

    label = WHOLE_FRAME_LABEL

    def __init__(self, note: str = "", every_n: int = 1) -> None:
        super().__init__(1)  # the whole frame costs nothing to "detect": never carried
        self.note = note

    @classmethod
    def from_spec(cls, spec: str, **opts: Any) -> PersonDetector:
        return cls(note=opts.get("note", ""))

    def _detect(self, image_bgr: np.ndarray) -> Detections:
        h, w = image_bgr.shape[:2]
        return Detections(np.array([[0, 0, w, h]], np.float32), np.ones(1, np.float32), np.zeros(1, np.int64),
                          "whole-frame")


def _person_class(names: dict[int, str], weights: str) -> int:
    """The 'person' class index; an 80-class model with placeholder names ("0".."79") is taken as COCO order."""
    person = [k for k, v in names.items() if str(v).lower() == "person"]
    if person:
        return int(person[0])
    if len(names) == 80 and all(str(v) == str(k) for k, v in names.items()):
        return 0
    shown = ", ".join(f"{k}: {v}" for k, v in list(names.items())[:10])
    raise DetectorError(f"YOLO weights {weights!r} have no 'person' class (classes: {shown}...)")


def lap_available() -> bool:
    return importlib.util.find_spec("lap") is not None


@contextmanager
def torch_threads_kept() -> Iterator[None]:
    """Undo a change of torch's CPU thread count made inside the block.

    Why: ultralytics' ``select_device`` (run when a YOLO model is loaded and when its predictor is set up) calls
    ``torch.set_num_threads(cpu_count - 1)``: on a 2-core machine every pose model and RootNet after the first
    detection ran on one thread instead of two.
    """
    import torch

    n = torch.get_num_threads()
    try:
        yield
    finally:
        if torch.get_num_threads() != n:
            torch.set_num_threads(n)


@register_detector("yolo")
class YoloPersonDetector(PersonDetector):
    """ultralytics YOLO restricted to the person class, with tracking ids."""

    def __init__(self, weights: str | Path, imgsz: int = DETECTOR.imgsz, conf: float = DETECTOR.conf,
                 every_n: int = DETECTOR.every, tracker: str = DETECTOR.tracker, device: str | None = None,
                 half: bool = False, max_det: int = 20) -> None:
        super().__init__(every_n)
        try:
            from ultralytics import YOLO
        except ImportError as e:  # pragma: no cover
            raise DetectorError(f"ultralytics is not installed ({_short_reason(e)})") from e
        self.weights = str(weights)
        try:
            with torch_threads_kept():
                self.model = YOLO(self.weights)
        except Exception as e:
            raise DetectorError(f"YOLO weights {self.weights!r} could not be loaded: {_short_reason(e)}") from e
        self.person_class = _person_class(dict(getattr(self.model, "names", None) or {}), self.weights)
        self.imgsz, self.conf, self.device, self.half, self.max_det = int(imgsz), float(conf), device, half, max_det
        self.tracker_name = tracker
        self._own_tracker: IouTracker | None = None
        note = ""
        if tracker in ("bytetrack", "botsort") and not lap_available():
            note = f"{tracker} needs the 'lap' package: using IoU tracking"
            log.warning("%s", note)
            self._own_tracker = IouTracker()
        elif tracker in ("iou", "none"):
            self._own_tracker = IouTracker() if tracker == "iou" else None
        elif tracker not in ("bytetrack", "botsort"):
            raise DetectorError(f"unknown tracker {tracker!r}; use bytetrack, botsort, iou or none")
        self.note = note
        uses = "IoU" if self._own_tracker is not None else tracker if tracker != "none" else "no"
        self.label = f"YOLO {Path(self.weights).stem} @{self.imgsz} ({uses} tracking" + (
            f", detect every {every_n} frames)" if every_n > 1 else ")")

    @property
    def _library_tracking(self) -> bool:
        return self._own_tracker is None and self.tracker_name in ("bytetrack", "botsort")

    def _detect(self, image_bgr: np.ndarray) -> Detections:
        kw: dict[str, Any] = dict(classes=[self.person_class], imgsz=self.imgsz, conf=self.conf, verbose=False,
                                  max_det=self.max_det)
        if self.half:  # only when asked: ultralytics warns that 'half' is deprecated on every call otherwise
            kw["half"] = True
        if self.device is not None:
            kw["device"] = self.device
        with torch_threads_kept():
            if self._library_tracking:
                res = self.model.track(image_bgr, persist=True, tracker=f"{self.tracker_name}.yaml", **kw)
            else:
                res = self.model.predict(image_bgr, **kw)
        boxes = res[0].boxes
        if boxes is None or len(boxes) == 0:
            if self._own_tracker is not None:
                self._own_tracker.update(np.zeros((0, 4), np.float32))
            return Detections.empty()
        cxywh = boxes.xywh.cpu().numpy().astype(np.float32)
        xywh = np.concatenate([cxywh[:, :2] - cxywh[:, 2:] / 2, cxywh[:, 2:]], axis=1)
        scores = boxes.conf.cpu().numpy().astype(np.float32)
        if self._own_tracker is not None:
            ids = self._own_tracker.update(xywh)
        elif boxes.id is not None:
            ids = boxes.id.cpu().numpy().astype(np.int64)
        else:
            ids = np.full(len(xywh), -1, np.int64)
        return Detections(xywh, scores, ids, "detector")

    def _observe_carried(self, dets: Detections) -> None:
        if self._own_tracker is not None:
            self._own_tracker.observe(dets.boxes_xywh, dets.track_ids)

    def reset(self) -> None:
        super().reset()
        if self._own_tracker is not None:
            self._own_tracker.reset()
        predictor = getattr(self.model, "predictor", None)
        for t in getattr(predictor, "trackers", None) or []:
            t.reset()


def _short_reason(e: BaseException) -> str:
    """ultralytics' errors carry emoji, URLs and advice over several lines: one plain line for a message panel."""
    text = " ".join(str(e).split())
    if "download failure" in text.lower() or "offline" in text.lower():
        return "the download failed (no network?)"
    text = "".join(ch for ch in text if ch.isprintable() and ord(ch) < 0x2000).strip()
    return (text[:160] + "...") if len(text) > 160 else (text or type(e).__name__)


def _offline() -> bool:
    return os.environ.get("YOLO_OFFLINE", "").lower() in ("1", "true", "yes")


def _search_dirs() -> list[Path]:
    dirs: list[Path] = []
    try:
        from models.weights.store import resolve_weights_dir

        dirs.append(resolve_weights_dir())
    except Exception:  # pragma: no cover  (weights module unavailable)
        pass
    dirs.append(Path.cwd())
    return dirs


def find_detector_weights(name: str) -> Path | None:
    """A named YOLO file ("yolo11n.pt") in the weights directory (or its ``detectors/``) or the current folder."""
    for d in _search_dirs():
        for cand in (d / name, d / "detectors" / name):
            if cand.is_file():
                return cand
    return None


def make_detector(spec: str | os.PathLike[str] | None = DETECTOR.kind, *, imgsz: int = DETECTOR.imgsz,
                  conf: float = DETECTOR.conf, every_n: int = DETECTOR.every, tracker: str = DETECTOR.tracker,
                  device: str | None = None, half: bool = False) -> PersonDetector:
    """The detector ``spec`` names: "auto"/None (default YOLO if obtainable), a .pt path, a YOLO model name,
    "none" (whole-frame box) or "kind:rest" for any registered kind. Never raises for missing weights: falls back
    to ``WholeFrameDetector`` with the reason in ``note``. A detector kind that does not exist does raise."""
    text = "auto" if spec is None else str(spec).strip()
    yolo_kw = dict(imgsz=imgsz, conf=conf, every_n=every_n, tracker=tracker, device=device, half=half)
    if text.lower() in ("none", "whole-frame", "off"):
        return WholeFrameDetector(note="detector disabled")
    kind, _, rest = text.partition(":")
    if kind in _DETECTORS.known() and not Path(text).exists():
        return _DETECTORS[kind].from_spec(rest, **yolo_kw)
    candidates: list[str] = list(DEFAULT_YOLO) if text.lower() == "auto" else [text]
    reasons: list[str] = []
    for cand in candidates:
        path = Path(cand).expanduser()
        local = path if path.is_file() else find_detector_weights(cand) if path.name == cand else None
        if local is None and (path.parent != Path(".") or path.suffix.lower() not in (".pt", ".yaml", ".onnx")):
            reasons.append(f"{cand}: no such file")
            continue
        if local is None and _offline():
            reasons.append(f"{cand}: not found locally ({', '.join(map(str, _search_dirs()))}) and offline")
            continue
        try:
            return YoloPersonDetector(local or cand, **yolo_kw)
        except DetectorError as e:
            reasons.append(_short_reason(e))
    if text.lower() == "auto":  # no YOLO weights: the bundled offline detectors, multi-person NanoDet first
        for kind in AUTO_FALLBACKS:
            try:
                det = _DETECTORS[kind].from_spec("", **yolo_kw)
            except (ImportError, DetectorError) as e:
                reasons.append(f"{kind}: {_short_reason(e)}")
                continue
            det.note = "; ".join(reasons)
            log.info("no YOLO weights (%s); using %s", det.note, det.label)
            return det
    note = "; ".join(reasons)
    log.warning("no person detector (%s); using one whole-frame box", note)
    return WholeFrameDetector(note=note)
