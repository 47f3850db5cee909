"""The records the live engine hands out: ``ModelInfo`` (a model as views and recordings see it), ``LiveResult``
(one processed frame), and the latency statistics (``StageStats`` per stage, ``RollingStats`` collecting them,
``EngineStats`` for the whole run)."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from engine.defaults import LIVE
from engine.inference.camera import CameraIntrinsics
from engine.live.smoothing import SmoothedPose

if TYPE_CHECKING:
    from engine.inference.protocols import LoadedModelLike
    from engine.inference.records import ModelOutput

__all__ = ["EngineStats", "LiveResult", "ModelInfo", "RollingStats", "StageStats", "empty_output"]


@dataclass(frozen=True)
class ModelInfo:
    """What views and recordings need to know about a model, independent of torch."""

    name: str
    label: str
    trained: bool
    joint_set: str
    joint_names: tuple[str, ...]
    root_index: int
    sha256: str | None = None
    checkpoint: str | None = None

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @classmethod
    def from_loaded(cls, lm: LoadedModelLike) -> ModelInfo:
        from models.joints import JOINT_SETS

        js = JOINT_SETS.get(lm.spec.joint_set)
        names, root = (tuple(js.names), js.root) if js is not None else (("root",), 0)  # RootNet: one point
        return cls(lm.spec.name, lm.label, bool(lm.trained), lm.spec.joint_set, names, root, lm.sha256,
                   str(lm.checkpoint) if lm.checkpoint else None)


@dataclass
class LiveResult:
    frame_id: int
    capture_ts: float  # time.monotonic() at capture
    media_ts: float | None  # position in a file (s) when the source has one, else None
    result_ts: float  # time.monotonic() when published
    image: np.ndarray  # the frame (BGR) for display; do not modify
    boxes: np.ndarray  # [P,4] detector/carried boxes (xywh) of the persons with poses
    crop_boxes: np.ndarray  # [P,4] the processed (square, x1.25) boxes the models saw
    track_ids: np.ndarray  # [P] int64 (-1 = untracked)
    scores: np.ndarray  # [P]
    root_cam_mm: np.ndarray  # [P,3] root position used for the absolute poses (filtered depth)
    placement: dict[str, str]  # model name -> where its depth comes from: a root_planner.Placement word
    outputs: dict[str, ModelOutput]  # model name -> the raw output
    smoothed: dict[str, SmoothedPose]  # model name -> smoothed joints (same person order)
    latencies_ms: dict[str, float]  # stage -> ms for this frame, including "end_to_end"
    labels: dict[str, str]  # model name -> display label ("... (untrained weights)")
    untrained: tuple[str, ...]  # names of models running random weights
    detector_label: str
    detection_origin: str  # "detector" | "carried" | "whole-frame"
    intrinsics: CameraIntrinsics
    fps: float
    dropped_frames: int  # cumulative, at the capture mailbox
    skipped: list[tuple[int, str]] = field(default_factory=list)  # boxes the predictor refused
    notes: tuple[str, ...] = ()  # fallbacks in force (whole-frame box, no RootNet, ...)

    @property
    def end_to_end_ms(self) -> float:
        return (self.result_ts - self.capture_ts) * 1000.0

    @property
    def num_persons(self) -> int:
        return len(self.boxes)

    @property
    def root_source(self) -> str:
        """The frame's placement in one word: the first model's (``placement``; "" without persons)."""
        return next(iter(self.placement.values()), "")


@dataclass(frozen=True)
class StageStats:
    count: int
    mean: float
    p50: float
    p95: float
    max: float
    last: float


class RollingStats:
    """Per-stage latency over the last ``window`` samples (thread-safe)."""

    def __init__(self, window: int = LIVE.stats_window) -> None:
        self.window = window
        self._data: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def add(self, stage: str, ms: float) -> None:
        with self._lock:
            self._data.setdefault(stage, deque(maxlen=self.window)).append(float(ms))

    def snapshot(self) -> dict[str, StageStats]:
        with self._lock:
            items = {k: np.array(v) for k, v in self._data.items() if v}
        return {k: StageStats(len(a), float(a.mean()), float(np.percentile(a, 50)), float(np.percentile(a, 95)),
                              float(a.max()), float(a[-1])) for k, a in items.items()}

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


@dataclass
class EngineStats:
    frames_processed: int
    frames_captured: int
    frames_dropped: int  # overwritten in the mailbox before inference took them
    frames_corrupt: int  # skipped by the source
    reconnects: int
    fps: float
    stages: dict[str, StageStats]  # includes "end_to_end"
    running: bool
    finished: bool
    error: str | None
    detector_label: str
    labels: dict[str, str]

    def summary(self) -> str:
        """Multi-line human-readable report (CLI and logs)."""
        lines = [f"{self.frames_processed} frames processed, {self.fps:.2f} FPS; captured {self.frames_captured}, "
                 f"dropped {self.frames_dropped}, corrupt {self.frames_corrupt}, reconnects {self.reconnects}",
                 f"detector: {self.detector_label}",
                 "models: " + ", ".join(self.labels.values()),
                 f"{'stage':<24}{'mean ms':>10}{'p50':>9}{'p95':>9}{'max':>9}{'n':>6}"]
        for k, s in self.stages.items():
            lines.append(f"{k:<24}{s.mean:>10.1f}{s.p50:>9.1f}{s.p95:>9.1f}{s.max:>9.1f}{s.count:>6}")
        if self.error:
            lines.append(f"error: {self.error}")
        return "\n".join(lines)


def empty_output(info: ModelInfo) -> ModelOutput:
    """A model's output for a frame without persons (every array has 0 rows)."""
    from engine.inference.predictor import ModelOutput

    j = info.num_joints
    z = np.zeros
    return ModelOutput(name=info.name, joint_set=info.joint_set, trained=info.trained,
                       coords_cells=z((0, j, 3)), joints_2d=z((0, j, 2)), joints_rel_mm=z((0, j, 3)),
                       joints_cam_mm=z((0, j, 3)), latency_ms=0.0)
