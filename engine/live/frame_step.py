"""One frame through the live pipeline's inference: detection (or boxes carried from the previous poses), the root
depth (``root_planner.RootDepths`` fed by RootNet's own thread, ``root_worker.RootWorker``), the predictor, One Euro
smoothing per model per track, and the ``LiveResult`` with each stage's latency and each model's ``Placement``. Runs
on the inference thread only; ``LiveEngine`` builds one in ``prepare()`` and calls it for every frame it takes from
the capture mailbox."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engine.inference.camera import CameraIntrinsics
from engine.live.detector import Detections, PersonDetector
from engine.live.results import LiveResult, ModelInfo, empty_output
from engine.live.root_planner import Placement, RootDepths, placement_of
from engine.live.root_worker import RootWorker
from engine.live.smoothing import PoseSmoother, SmoothedPose
from engine.live.sources import Frame

if TYPE_CHECKING:
    from engine.inference.protocols import FramePredictorLike
    from engine.inference.records import ModelOutput
    from engine.live.config import LiveConfig

__all__ = ["FrameStep", "IntrinsicsCache", "fps_of", "pose_confidence"]


def fps_of(times: Sequence[float] | deque[float]) -> float:
    """Results per second over a window of result times (0 with fewer than two)."""
    t = list(times)
    return (len(t) - 1) / (t[-1] - t[0]) if len(t) >= 2 and t[-1] > t[0] else 0.0


def pose_confidence(predictor: FramePredictorLike, name: str, n: int) -> np.ndarray | None:
    """[n] model ``name``'s own score per person for its last call, when its net keeps one (BlazePose's pose-present
    probability, ``net.last.pose_score``), else None: the detector then judges a carried track by its pose alone."""
    lm = (getattr(predictor, "models", None) or {}).get(name)
    score = getattr(getattr(getattr(lm, "net", None), "last", None), "pose_score", None)
    if score is None or len(score) < n:
        return None
    return np.asarray(score, np.float64)[:n]


class IntrinsicsCache:
    """The camera intrinsics per frame size: the calibration (``LiveConfig.intrinsics``: a file or a
    ``CameraIntrinsics``, set by ``load()``) scaled to the frame, else ``from_fov(w, h, config.hfov_deg)``."""

    def __init__(self, config: LiveConfig) -> None:
        self.config = config
        self.calib: CameraIntrinsics | None = None
        self._cache: dict[tuple[int, int], CameraIntrinsics] = {}

    def load(self, spec: CameraIntrinsics | str | Path | None) -> None:
        if isinstance(spec, str | Path):
            from engine.inference.camera import load_intrinsics

            self.calib = load_intrinsics(spec)
        elif isinstance(spec, CameraIntrinsics):
            self.calib = spec

    def __call__(self, w: int, h: int) -> CameraIntrinsics:
        intr = self._cache.get((w, h))
        if intr is None:
            intr = self.calib.scaled_to(w, h) if self.calib else CameraIntrinsics.from_fov(w, h, self.config.hfov_deg)
            self._cache[(w, h)] = intr
        return intr


class FrameStep:
    """``step(frame) -> LiveResult``. ``result_times`` is the engine's FPS window: each result's publication time is
    appended to it before the result's ``fps`` is computed; ``notes`` (the engine's list, read at the end of each
    frame) and ``dropped`` (the capture mailbox's cumulative drops) go into every result.

    RootNet (when the plan has one) runs only on its own thread, the ``root_worker``: each frame takes the runs that
    finished (their time goes to ``on_stage("rootnet", ms)``, not into the frame's latencies, since no frame waited
    for it), starts one on this frame when RootNet is due and the worker is idle, and poses the persons at their
    newest held depth, or at the fixed default for persons RootNet has not measured yet. Each model's placement is
    said in ``root_planner.Placement``'s words (``LiveResult.placement``)."""

    def __init__(self, *, detector: PersonDetector, predictor: FramePredictorLike, models: Sequence[ModelInfo],
                 rootnet_info: ModelInfo | None, depths: RootDepths, smoothers: dict[str, PoseSmoother],
                 intrinsics: Callable[[int, int], CameraIntrinsics], result_times: deque[float], notes: list[str],
                 dropped: Callable[[], int], root_worker: RootWorker | None = None,
                 on_stage: Callable[[str, float], None] | None = None) -> None:
        self.detector = detector
        self.predictor = predictor
        self.models = list(models)
        self.rootnet_info = rootnet_info
        self.depths = depths
        self.smoothers = smoothers
        self.intrinsics = intrinsics
        self.result_times = result_times
        self.notes = notes
        self.dropped = dropped
        self.root_worker = root_worker
        self.on_stage = on_stage or (lambda stage, ms: None)

    def close(self) -> None:
        """End the RootNet thread and the detector's background detection (if any)."""
        if self.root_worker is not None:
            self.root_worker.close()
        self.detector.close()

    def _own_metric_shapes(self, outputs: dict[str, ModelOutput], placement: dict[str, str]) -> None:
        """A model with metric 3D keeps its own shape whatever depth placed it (only its translation follows the
        placement), and a trained model placed by an untrained RootNet says so."""
        from dataclasses import replace

        from engine.inference.fit_translation import with_own_shape

        random_root = self.rootnet_info is not None and not self.rootnet_info.trained
        for m in self.models:
            out = outputs[m.name]
            if random_root and m.trained and placement[m.name] == Placement.ROOTNET:
                placement[m.name] = Placement.UNTRAINED_ROOTNET
            lm = getattr(self.predictor, "models", {}).get(m.name)
            world = getattr(getattr(lm, "net", None), "last_world_mm", None)
            n = int(out.joints_cam_mm.shape[0])
            if lm is None or not lm.spec.metric_3d or world is None or n == 0 or world.shape[0] < n:
                continue
            cam = with_own_shape(out.joints_cam_mm, world[:n], m.root_index)
            r = m.root_index
            outputs[m.name] = replace(out, joints_cam_mm=cam, joints_rel_mm=cam - cam[:, r:r + 1, :])

    def _held_depths(self, frame: Frame, boxes: np.ndarray, ids: np.ndarray,
                     intr: CameraIntrinsics) -> tuple[np.ndarray, np.ndarray | None, bool]:
        """(depth keys, depth per person or None for the fixed depth, some person still waits for RootNet)."""
        depths, worker = self.depths, self.root_worker
        keys = depths.keys(ids)
        if worker is None:
            return keys, None, False
        if depths.want(keys) and worker.submit(frame.image, boxes, keys, intr, frame.timestamp):
            depths.submitted()
        given, pending = depths.held(keys)
        return keys, given, pending

    def __call__(self, frame: Frame) -> LiveResult:
        lat: dict[str, float] = {"capture": frame.read_ms, "wait": (time.monotonic() - frame.timestamp) * 1e3}
        image = frame.image
        h, w = image.shape[:2]
        intr = self.intrinsics(w, h)

        t = time.perf_counter()
        dets: Detections = self.detector(image)
        if dets.origin != "carried":  # like RootNet: the stage's latency counts only when it ran
            lat["detect"] = (time.perf_counter() - t) * 1e3
        ids_all = np.asarray(dets.track_ids, np.int64)

        depths = self.depths
        if self.root_worker is not None:  # finished RootNet runs (raises the RootNet thread's error)
            for run in self.root_worker.take():
                depths.add_run(run.keys, run.depth_mm, run.capture_ts)
                self.on_stage("rootnet", run.ms)
        placement: dict[str, str] = {m.name: Placement.NONE for m in self.models}
        if len(dets) == 0:
            outputs = {m.name: empty_output(m) for m in self.models}
            kept = np.zeros(0, np.int64)
            crop_boxes = np.zeros((0, 4))
            root = np.zeros((0, 3))
            skipped: list[tuple[int, str]] = []
            depths.keep_only([])
        else:
            keys, given, pending = self._held_depths(frame, np.asarray(dets.boxes_xywh), ids_all, intr)
            pred = self.predictor.predict_frame(image, dets.boxes_xywh, intr, root_depth_mm=given,
                                                run_rootnet=False)
            for k, v in pred.timings_ms.items():
                if k != "rootnet":
                    lat[k] = float(v)
            kept = np.asarray(pred.kept, np.int64)
            outputs, root = dict(pred.outputs), np.asarray(pred.root_cam_mm, np.float64)
            crop_boxes, skipped = np.asarray(pred.boxes), list(pred.skipped)
            placement = {name: placement_of(getattr(out, "root_source", "") or pred.root_source, pending)
                         for name, out in outputs.items()}
            self._own_metric_shapes(outputs, placement)
            depths.keep_only(keys[kept])
        ids = ids_all[kept]

        t = time.perf_counter()
        smoothed: dict[str, SmoothedPose] = {}
        for m in self.models:
            out = outputs[m.name]
            sm = self.smoothers.get(m.name)
            smoothed[m.name] = (sm.update(ids, out.joints_2d, out.joints_rel_mm, out.joints_cam_mm, frame.timestamp)
                                if sm is not None else SmoothedPose(out.joints_2d, out.joints_rel_mm,
                                                                    out.joints_cam_mm))
        first = self.models[0].name
        self.detector.update_from_poses(ids, outputs[first].joints_2d, (h, w),
                                        pose_confidence(self.predictor, first, len(ids)))
        lat["smooth"] = (time.perf_counter() - t) * 1e3

        result_ts = time.monotonic()
        self.result_times.append(result_ts)
        lat["end_to_end"] = (result_ts - frame.timestamp) * 1e3
        labels = {m.name: m.label for m in self.models}
        return LiveResult(
            frame_id=frame.frame_id, capture_ts=frame.timestamp, media_ts=frame.media_ts, result_ts=result_ts,
            image=image,
            boxes=np.asarray(dets.boxes_xywh, np.float32)[kept], crop_boxes=crop_boxes, track_ids=ids,
            scores=np.asarray(dets.scores, np.float32)[kept], root_cam_mm=root, placement=placement,
            outputs=outputs, smoothed=smoothed, latencies_ms=lat, labels=labels,
            untrained=tuple(m.name for m in self.models if not m.trained), detector_label=self.detector.label,
            detection_origin=dets.origin, intrinsics=intr, fps=fps_of(self.result_times),
            dropped_frames=self.dropped(), skipped=skipped, notes=tuple(self.notes))
