"""3D pose inference for several models side by side, in camera millimetres: one frame (live) or one batch (benchmark).

Why one class: every model of a frame must see the same persons, the same root depth and the same camera, and crops
are the expensive shared step, so they are made **once** per (input size, normalisation) and reused by every model
of that group (RootNet shares the 3DMPPE crop). Each model then runs one batched call over all persons (flip test
included: original and mirrored crops go through in the same batch); ``micro_batch`` can cap the crops per forward
(the backend then runs even chunks), by default it does not.

Why two entry points and one path: ``predict_frame`` crops a camera frame, the Human3.6M runner gets its crops from a
data loader; both then call ``predict_batch``, so RootNet's k value, the root decoding and cells -> image pixels ->
camera mm are written once and the benchmark scores exactly what the live view shows.

Every network call goes through ``engine.inference.fast_paths`` so one switch (``profile``) picks how the nets run:
precision, channels_last, torch.compile, CUDA graphs or onnxruntime. Without a profile, ``precision`` and
``channels_last`` build the equivalent torch profile (the behaviour before profiles existed).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from engine.defaults import INFERENCE, ROOT
from engine.inference import geometry as geo
from engine.inference.camera import CameraIntrinsics
from engine.inference.conventions import CROP_POLICIES, BoxSource, Conventions, conventions_for
from engine.inference.cpu_memory import RELEASE_EVERY, keep_freed_memory, release_free_memory
from engine.inference.cpu_threads import FreeCoreThreads
from engine.inference.device import check_precision, pick_device, synchronize
from engine.inference.fast_paths import (
    FastPath,
    FastPathConfig,
    get_profile,
    prepare,
    resolve_micro_batch,
)
from engine.inference.fit_translation import fit_root_depths
from engine.inference.forward_cap import capped, forward_cap
from engine.inference.net_io import torch_built
from engine.inference.records import (
    BatchPrediction,
    Chunked,
    CropBatch,
    FramePrediction,
    GroupKey,
    ModelOutput,
    box_problem,
    checked_output,
    group_key,
    rootnet_to_camera,
    whole,
)
from models.joints import get_joint_set
from models.soft_argmax import soft_argmax_3d

if TYPE_CHECKING:
    from models.loader import LoadedModel

__all__ = [
    "BatchPrediction", "Chunked", "CropBatch", "FramePrediction", "GroupKey", "ModelOutput", "Predictor",
    "group_key", "resolve_profile", "rootnet_to_camera", "whole",
]

def resolve_profile(profile: str | FastPathConfig | None, precision: str = "fp32",
                    channels_last: bool = False) -> FastPathConfig:
    """The fast-path config a Predictor runs: ``profile`` (a ``fast_paths.PROFILES`` name or a config) when given,
    else the torch profile made of ``precision`` and ``channels_last``.

    With a profile, a non-default ``precision`` / ``channels_last`` that contradicts it is an error rather than being
    silently ignored (e.g. ``profile="onnxruntime", precision="bf16"``): say it once, in one place.
    """
    check_precision(precision)
    if profile is None:
        return FastPathConfig(precision=precision, channels_last=bool(channels_last))
    cfg = get_profile(profile) if isinstance(profile, str) else profile
    if not isinstance(cfg, FastPathConfig):
        raise TypeError(f"profile must be a profile name or a FastPathConfig, got {type(profile).__name__}")
    if precision != "fp32" and precision != cfg.precision:
        raise ValueError(f"precision {precision!r} contradicts profile {cfg.label!r} (precision {cfg.precision}); "
                         f"pick a profile with that precision or leave precision at fp32")
    if channels_last and not cfg.channels_last:
        raise ValueError(f"channels_last contradicts profile {cfg.label!r}, which runs the contiguous layout; pick a "
                         f"channels_last profile or leave channels_last off")
    return cfg


ROOT_LABELS = {"rootnet": "RootNet root", "given": "given root (RootNet's depth at the box centre in the live view)"}


class Predictor:
    """Runs pose models (and optionally RootNet) on the persons of one frame (``predict_frame``) or on a batch of
    ready crops (``predict_batch``, the benchmark); see docs/architecture.md."""

    def __init__(self, models: Sequence[LoadedModel], rootnet: LoadedModel | None = None, *,
                 device: str = INFERENCE.device, precision: str = INFERENCE.precision, channels_last: bool = False,
                 flip_test: bool = INFERENCE.flip_test, default_root_mm: float = ROOT.default_root_mm,
                 profile: str | FastPathConfig | None = None, micro_batch: int | None = None,
                 protocol_mode: str = INFERENCE.protocol_mode) -> None:
        self.device = pick_device(device)
        self.protocol_mode = protocol_mode  # official: each model's own crop and placement; common: 3DMPPE's
        if self.device.type == "cpu":
            keep_freed_memory()  # batched forwards reuse freed blocks instead of faulting in pages (cpu_memory)
        # the most crops one forward takes (None: the device's default, INFERENCE.cpu_micro_batch; 0: all)
        self.micro_batch = resolve_micro_batch(micro_batch, self.device)
        self._chosen_micro_batch = micro_batch is not None
        self.profile: FastPathConfig = resolve_profile(profile, precision, channels_last)
        self.profile.validate(self.device)  # e.g. CUDA graphs on a CPU: refuse before loading anything
        self.precision = self.profile.precision
        self.channels_last = self.profile.channels_last
        self.fast_paths: dict[str, FastPath] = {}  # model name (RootNet included) -> how it actually runs
        self.flip_test = bool(flip_test)
        if not np.isfinite(default_root_mm) or default_root_mm <= 0:
            raise ValueError(f"default_root_mm must be a positive distance in mm, got {default_root_mm}")
        self.default_root_mm = float(default_root_mm)
        self.models: dict[str, LoadedModel] = {}
        self.conventions: dict[str, Conventions] = {}
        for lm in models:
            spec = lm.spec
            if spec.is_root_model:
                raise ValueError(f"{spec.name}: a root-depth model, not a pose model (pass RootNet as rootnet=)")
            if spec.name in self.models:
                raise ValueError(f"{spec.name}: given twice; each model runs once per frame")
            self.conventions[spec.name] = conventions_for(spec, protocol_mode)
            self._prepare(lm)
            self.models[spec.name] = lm
        if rootnet is not None:
            if not rootnet.spec.takes_k_value:
                raise ValueError(f"{rootnet.spec.name}: takes no k_value, so it is not a RootNet")
            self._prepare(rootnet)
        self.rootnet = rootnet
        self.groups: dict[GroupKey, list[str]] = {}
        self.group_of: dict[str, GroupKey] = {}
        for name, lm in self.models.items():
            self.group_of[name] = group_key(lm.spec, protocol_mode)
            self.groups.setdefault(self.group_of[name], []).append(name)
        self._lock = threading.Lock()
        self._batches = 0  # predict_batch calls, for the periodic release of kept memory (cpu_memory)
        self.cpu_threads: FreeCoreThreads | None = None  # the live loop's torch threads (follow_free_cores)

    def follow_free_cores(self) -> None:
        """CPU: each forward from now on uses at most the cores other programs leave (live only; cpu_threads)."""
        if self.device.type == "cpu":
            self.cpu_threads = FreeCoreThreads()

    def _prepare(self, lm: LoadedModel) -> None:
        """Hand the net to ``fast_paths.prepare`` under this predictor's profile.

        A model that is itself an ONNX file (not ``torch_built``) already runs through onnxruntime, which neither
        autocast, channels_last nor torch.compile can speed up: it always takes the plain fp32 path.
        """
        cfg = self.profile if torch_built(lm.spec) else FastPathConfig()
        # CPU: the crops one forward may take within the memory budget, unless a micro-batch was chosen explicitly
        mb = self.micro_batch if self._chosen_micro_batch else capped(self.micro_batch, forward_cap(lm, self.device))
        fp = prepare(lm, lm.spec, self.device, cfg, micro_batch=mb)
        if fp.net is not None:
            lm.net = fp.net  # torch backend: the same module, now on the device (and in the profile's layout)
        self.fast_paths[lm.spec.name] = fp

    def _input(self, crops: torch.Tensor) -> torch.Tensor:
        return crops.to(self.device, dtype=torch.float32)  # layout and precision are the fast path's business

    @property
    def profile_label(self) -> str:
        """Short name of the profile in force, e.g. "fp32", "channels_last+bf16", "onnxruntime"."""
        return self.profile.label

    # ------------------------------------------------------------------------------------------------------------
    # Network calls

    def infer_cells(self, name: str, crops: torch.Tensor) -> np.ndarray:
        """Normalised crops [N,3,H,W] -> [N,J,3] cells/bins of model ``name`` (flip test applied if enabled)."""
        try:
            lm = self.models[name]
        except KeyError:
            raise KeyError(f"model {name!r} is not loaded in this predictor; loaded: {', '.join(self.models)}") \
                from None
        spec = lm.spec
        js = get_joint_set(spec.joint_set)
        n = int(crops.shape[0])
        if n == 0:
            return np.zeros((0, js.num_joints, 3))
        x = self._input(crops)
        if self.flip_test:
            x = torch.cat([x, torch.flip(x, dims=[3])], dim=0)
        if self.cpu_threads is not None:
            self.cpu_threads.apply()
        with torch.inference_mode():
            direct = getattr(lm.net, "forward_cells", None)  # a non-torch net that computes coordinates (BlazePose)
            if direct is not None and not torch_built(spec):
                coords = checked_output(name, direct(x), (x.shape[0], js.num_joints, 3), "cells")
            else:
                hm = checked_output(name, self.fast_paths[name](x),
                              (x.shape[0], js.num_joints * spec.depth_bins, *spec.output_hw), "heatmaps")
                coords = soft_argmax_3d(hm.float(), js.num_joints, spec.depth_bins)
            out = coords.cpu().numpy().astype(np.float64)
        if self.flip_test:
            back = geo.flip_back(out[n:], js.flip_pairs, spec.output_hw[1], spec.decoding, spec.input_hw[1])
            out = (out[:n] + back) / 2.0
        return out

    def infer_root(self, crops: torch.Tensor, k_value: np.ndarray) -> np.ndarray:
        """Normalised 256x256 crops [N,3,H,W] and k values [N] -> [N,3] = (x, y map cells, depth mm)."""
        if self.rootnet is None:
            raise RuntimeError("infer_root: this predictor has no RootNet")
        n = int(crops.shape[0])
        k = np.asarray(k_value, dtype=np.float32).reshape(-1, 1)
        if k.shape[0] != n:
            raise ValueError(f"infer_root: {k.shape[0]} k values for {n} crops")
        if n == 0:
            return np.zeros((0, 3))
        if self.cpu_threads is not None:
            self.cpu_threads.apply()
        with torch.inference_mode():
            out = self.fast_paths[self.rootnet.spec.name](self._input(crops), torch.from_numpy(k).to(self.device))
            return out.float().cpu().numpy().astype(np.float64).reshape(n, 3)

    # ------------------------------------------------------------------------------------------------------------
    # Batch: the one decoding path of the live engine (through predict_frame) and the benchmark

    def crop_groups(self, with_root: bool = True) -> list[GroupKey]:
        """The (input size, normalisation) groups a batch needs crops for; RootNet's only ``with_root``."""
        keys = list(self.groups)
        if with_root and self.rootnet is not None and group_key(self.rootnet.spec) not in keys:
            keys.append(group_key(self.rootnet.spec))
        return keys

    def root_k_value(self, boxes: np.ndarray, f: np.ndarray | Sequence[float]) -> np.ndarray:
        """RootNet's k per processed box: its arch's ``bbox_real_mm`` (else ``ROOT.bbox_real_mm``) and the focal."""
        if self.rootnet is None:
            raise RuntimeError("root_k_value: this predictor has no RootNet")
        real = tuple(self.rootnet.spec.arch.get("bbox_real_mm", ROOT.bbox_real_mm))
        return geo.rootnet_k_value(boxes, f, real)

    def predict_root(self, batch: CropBatch, chunked: Chunked = whole) -> tuple[np.ndarray, np.ndarray]:
        """RootNet on its group's crops -> (raw output [N,3] = x, y map cells, depth mm; root [N,3] camera mm)."""
        if self.rootnet is None:
            raise RuntimeError("predict_root: this predictor has no RootNet")
        spec = self.rootnet.spec
        key = group_key(spec)  # RootNet always crops the 3DMPPE box (its own test)
        x, boxes = batch.crops[key], batch.boxes[key]
        k = self.root_k_value(boxes, batch.f)
        out = chunked(spec.name, int(x.shape[0]), lambda a, b: self.infer_root(x[a:b], k[a:b]))
        return out, rootnet_to_camera(out, boxes, batch.f, batch.c, spec.output_hw)

    def predict_batch(self, batch: CropBatch, root_cam_mm: np.ndarray | None = None, *,
                      chunked: Chunked = whole, fit_roots: bool = False,
                      root_source: str = "given") -> BatchPrediction:
        """Every pose model on a batch of crops, decoded to image pixels and camera mm.

        ``root_cam_mm`` [N,3]: the roots to decode depth with (only Z is used); None runs RootNet (then required).
        ``chunked(name, n, infer)`` runs ``infer(a, b)`` over rows 0..n (default: all at once; the benchmark backs
        off to smaller chunks on out-of-memory). ``fit_roots``: the roots are only a default guess, so a model with
        metric 3D (``spec.metric_3d``) places itself (engine.inference.fit_translation) where its fit succeeds.
        Not locked: ``predict_frame`` is the thread-safe entry.
        """
        timings: dict[str, float] = {}
        root_out = None
        t = time.perf_counter()
        if root_cam_mm is None:
            root_out, root_cam = self.predict_root(batch, chunked)
            timings["rootnet"] = (time.perf_counter() - t) * 1e3
        else:
            root_cam = np.asarray(root_cam_mm, dtype=np.float64).reshape(-1, 3)
            timings["rootnet"] = 0.0
        post = 0.0
        outputs: dict[str, ModelOutput] = {}
        for name, lm in self.models.items():
            spec = lm.spec
            key = self.group_of[name]
            to_camera = self.conventions[name].to_camera
            x, boxes = batch.crops[key], batch.boxes[key]
            t = time.perf_counter()
            cells = chunked(name, int(x.shape[0]), lambda a, b, x=x, name=name: self.infer_cells(name, x[a:b]))
            synchronize(self.device)
            latency = (time.perf_counter() - t) * 1e3
            timings[name] = latency
            t = time.perf_counter()
            joints_2d, joints_cam = to_camera.to_camera(cells, spec, boxes, batch.f, batch.c, root_cam)
            placed = "rootnet" if root_cam_mm is None else root_source
            if fit_roots and spec.metric_3d:
                fitted = self._fit_roots(lm, joints_2d, batch)
                if fitted is not None:
                    placed_root = root_cam.copy()
                    placed_root[:, 2] = np.where(np.isfinite(fitted), fitted, root_cam[:, 2])
                    joints_2d, joints_cam = to_camera.to_camera(cells, spec, boxes, batch.f, batch.c, placed_root)
                    placed = "fit"
            r = get_joint_set(spec.joint_set).root
            outputs[name] = ModelOutput(name=name, joint_set=spec.joint_set, trained=bool(lm.trained),
                                        coords_cells=cells, joints_2d=joints_2d,
                                        joints_rel_mm=joints_cam - joints_cam[:, r:r + 1, :],
                                        joints_cam_mm=joints_cam, latency_ms=latency, root_source=placed,
                                        crop=batch.crop_labels.get(key, ""))
            post += (time.perf_counter() - t) * 1e3
        timings["post"] = post
        self._batches += 1
        if self._batches % RELEASE_EVERY == 0:
            release_free_memory()  # kept memory: hand the heap's free gaps back now and then (cpu_memory)
        return BatchPrediction(root_cam_mm=root_cam, root_output=root_out, outputs=outputs, timings_ms=timings)

    @staticmethod
    def _fit_roots(lm: LoadedModel, joints_2d: np.ndarray, batch: CropBatch) -> np.ndarray | None:
        """Root depths [N] from the model's own metric 3D of its last call (NaN where the fit fails), or None."""
        world = getattr(lm.net, "last_world_mm", None)
        n = joints_2d.shape[0]
        if world is None or n == 0 or world.shape[0] < n:
            return None
        weights = getattr(lm.net, "last_weights", None)
        z, ok = fit_root_depths(world[:n], joints_2d, None if weights is None else weights[:n], batch.f, batch.c)
        return z if ok.any() else None

    # ------------------------------------------------------------------------------------------------------------
    # Frame

    def predict_frame(self, frame_bgr: np.ndarray, boxes_xywh: Any, intrinsics: CameraIntrinsics | None,
                      root_depth_mm: float | Sequence[float] | np.ndarray | None = None,
                      run_rootnet: bool = True) -> FramePrediction:
        """All models on all persons of one frame.

        ``boxes_xywh``: [B,4] detector boxes (unprocessed). ``intrinsics``: None = ``from_fov`` of the frame size.
        ``root_depth_mm``: one value or one per input box; used when RootNet is absent or ``run_rootnet`` is False
        (else ``default_root_mm``); the root x, y is then the box centre. Thread-safe (one frame at a time).
        """
        with self._lock:
            return self._predict(frame_bgr, boxes_xywh, intrinsics, root_depth_mm, run_rootnet)

    def _predict(self, frame_bgr, boxes_xywh, intrinsics, root_depth_mm, run_rootnet) -> FramePrediction:
        frame = np.asarray(frame_bgr)
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"predict_frame: expected an HxWx3 BGR frame, got shape {tuple(frame.shape)}")
        img_h, img_w = frame.shape[:2]
        cam = intrinsics if intrinsics is not None else CameraIntrinsics.from_fov(img_w, img_h)
        boxes_in = np.asarray(boxes_xywh if boxes_xywh is not None else [], dtype=np.float64)
        if boxes_in.size == 0:
            boxes_in = np.zeros((0, 4))
        if boxes_in.ndim != 2 or boxes_in.shape[1] != 4:
            raise ValueError(f"predict_frame: boxes must be [B,4] (x, y, w, h), got shape {boxes_in.shape}")
        depths = self._given_depths(root_depth_mm, len(boxes_in))

        kept: list[int] = []
        skipped: list[tuple[int, str]] = []
        square: list[np.ndarray] = []
        for i, b in enumerate(boxes_in):
            reason = box_problem(b)
            pb = None if reason else geo.process_bbox(b, img_w, img_h)
            if reason is None and pb is None:
                reason = "box lies outside the image or is empty after clipping to it"
            if reason:
                skipped.append((i, reason))
            else:
                kept.append(i)
                square.append(pb)
        p = len(kept)
        boxes = np.array(square, dtype=np.float64).reshape(p, 4)

        # crops: once per (input size, normalisation, crop policy); a box built around the root waits for the root
        use_root = self.rootnet is not None and run_rootnet
        source = "rootnet" if use_root else ("given" if depths is not None else "default")
        t = time.perf_counter()
        batch = CropBatch(crops={}, boxes={}, f=np.asarray(cam.f, dtype=np.float64),
                          c=np.asarray(cam.c, dtype=np.float64))
        src = BoxSource(boxes_in[kept].reshape(p, 4), np.array([img_w, img_h], dtype=np.float64), batch.f, batch.c)
        keys = self.crop_groups(with_root=use_root)
        later = [k for k in keys if CROP_POLICIES.lookup(k.crop).needs_root]
        for key in keys:
            if key not in later:
                self._crop_group(frame, key, src, boxes, batch)
        synchronize(self.device)
        timings = {"crop": (time.perf_counter() - t) * 1e3}

        # root: RootNet, else the given depth, else the default, at the box centre
        root_cam = None
        if not use_root:
            centre = boxes[:, :2] + boxes[:, 2:] / 2.0
            z = depths[kept] if depths is not None else np.full(p, self.default_root_mm)
            root_cam = geo.pixel2cam(np.concatenate([centre, z[:, None]], axis=1).reshape(p, 3), batch.f, batch.c)
        rootnet_ms = None
        if later:
            if use_root:  # the root first, so the boxes built around it can be cut
                t = time.perf_counter()
                _, root_cam = self.predict_root(batch)
                rootnet_ms = (time.perf_counter() - t) * 1e3
            if source in ROOT_LABELS:  # a default depth is no root: those boxes come from the person box
                src.root_cam, src.root_label = root_cam, ROOT_LABELS[source]
            t = time.perf_counter()
            for key in later:
                self._crop_group(frame, key, src, boxes, batch)
            timings["crop"] += (time.perf_counter() - t) * 1e3
        out = self.predict_batch(batch, root_cam, fit_roots=source == "default", root_source=source)
        timings.update(out.timings_ms)
        if rootnet_ms is not None:
            timings["rootnet"] = rootnet_ms
        return FramePrediction(boxes=boxes, kept=np.array(kept, dtype=np.int64), skipped=skipped,
                               root_cam_mm=out.root_cam_mm, root_source=source, outputs=out.outputs,
                               timings_ms=timings)

    def predict_roots(self, frame_bgr: np.ndarray, boxes_xywh: Any, intrinsics: CameraIntrinsics) -> np.ndarray:
        """RootNet alone on the persons of one frame: [B,4] detector boxes -> root depth [B] mm (NaN for a box that
        cannot be cropped), cropped as ``predict_frame`` crops RootNet's group. The live engine runs it on its own
        thread beside ``predict_frame`` (so it takes no lock: RootNet's net is used by nothing else)."""
        if self.rootnet is None:
            raise RuntimeError("predict_roots: this predictor has no RootNet")
        boxes_in = np.asarray(boxes_xywh, np.float64).reshape(-1, 4)
        depth = np.full(len(boxes_in), np.nan)
        key = group_key(self.rootnet.spec)
        (in_h, in_w), norm = key.input_hw, key.normalisation
        img_h, img_w = frame_bgr.shape[:2]
        kept, boxes = [], []
        for i, b in enumerate(boxes_in):
            pb = None if box_problem(b) else geo.process_bbox(b, img_w, img_h, in_w / in_h)
            if pb is not None:
                kept.append(i)
                boxes.append(pb)
        if not kept:
            return depth
        gboxes = np.array(boxes, np.float64).reshape(len(kept), 4)
        arr = np.stack([geo.crop_patch(frame_bgr, b, (in_h, in_w))[0] for b in gboxes])
        batch = CropBatch(crops={key: self._input(geo.normalise(arr, norm))}, boxes={key: gboxes},
                          f=np.asarray(intrinsics.f, np.float64), c=np.asarray(intrinsics.c, np.float64))
        _, root_cam = self.predict_root(batch)
        depth[kept] = np.asarray(root_cam, np.float64)[:, 2]
        return depth

    def _crop_group(self, frame: np.ndarray, key: GroupKey, src: BoxSource, square: np.ndarray,
                    batch: CropBatch) -> None:
        """Cut one group's crops with its crop policy (a box the policy cannot make keeps the 3DMPPE square)."""
        in_h, in_w = key.input_hw
        gboxes, ok, label = CROP_POLICIES.lookup(key.crop)().boxes(src, in_w / in_h)
        gboxes = np.where(ok[:, None], gboxes, square).reshape(-1, 4)
        patches = [geo.crop_patch(frame, b, (in_h, in_w))[0] for b in gboxes]
        arr = np.stack(patches) if patches else np.zeros((0, in_h, in_w, 3), dtype=np.float32)
        batch.crops[key], batch.boxes[key] = self._input(geo.normalise(arr, key.normalisation)), gboxes
        batch.crop_labels[key] = label

    @staticmethod
    def _given_depths(v: float | Sequence[float] | np.ndarray | None, n: int) -> np.ndarray | None:
        if v is None:
            return None
        a = np.asarray(v, dtype=np.float64)
        if a.ndim == 0:
            a = np.full(n, float(a))
        if a.shape != (n,):
            raise ValueError(f"root_depth_mm: expected one value or {n} (one per input box), got shape {a.shape}")
        if not np.all(np.isfinite(a) & (a > 0)):
            raise ValueError(f"root_depth_mm must be positive and finite (mm), got {a.tolist()}")
        return a
