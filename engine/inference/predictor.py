"""Per-frame 3D pose inference for several models side by side, in camera millimetres.

Why one class: every model of a frame must see the same persons, the same root depth and the same camera, and crops
are the expensive shared step, so they are made **once** per (input size, normalisation) and reused by every model
of that group (RootNet shares the 3DMPPE crop). Each model then runs one batched forward over all persons (flip test
included: original and mirrored crops go through in the same batch).

Every network call goes through ``engine.inference.fast_paths`` so one switch (``profile``) picks how the nets run:
precision,
channels_last, torch.compile, CUDA graphs or onnxruntime. Without a profile, ``precision`` and ``channels_last`` build
the equivalent torch profile (the behaviour before profiles existed).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from engine.inference import geometry as geo
from engine.inference.camera import CameraIntrinsics
from engine.inference.device import check_precision, pick_device, synchronize
from engine.inference.fast_paths import FastPath, FastPathConfig, get_profile, prepare
from models.joints import get_joint_set
from models.soft_argmax import soft_argmax_3d

if TYPE_CHECKING:
    from models.loader import LoadedModel
    from models.spec import ModelSpec

__all__ = ["FramePrediction", "ModelOutput", "Predictor", "resolve_profile"]

POSE_DECODINGS = ("3dmppe", "integral")
GroupKey = tuple[tuple[int, int], str]  # (input_hw, normalisation)


@dataclass
class ModelOutput:
    name: str
    joint_set: str
    trained: bool
    coords_cells: np.ndarray  # [P,J,3] heatmap cells / depth bins, after flip averaging
    joints_2d: np.ndarray  # [P,J,2] image pixels
    joints_rel_mm: np.ndarray  # [P,J,3] camera axes, root-relative (root joint of its joint set = 0)
    joints_cam_mm: np.ndarray  # [P,J,3] absolute camera mm (root depth from RootNet or given)
    latency_ms: float


@dataclass
class FramePrediction:
    boxes: np.ndarray  # [P,4] processed (square, x1.25) boxes of the kept persons
    kept: np.ndarray  # [P] indices into the input boxes
    skipped: list[tuple[int, str]]  # (input index, reason) for degenerate boxes etc.
    root_cam_mm: np.ndarray  # [P,3]
    root_source: str  # "rootnet" | "given" | "default"
    outputs: dict[str, ModelOutput] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)  # "crop", "rootnet", each model name, "post"


def group_key(spec: ModelSpec) -> GroupKey:
    return (tuple(int(v) for v in spec.input_hw), spec.normalisation)


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


def _box_problem(b: np.ndarray) -> str | None:
    if not np.all(np.isfinite(b)):
        return f"non-finite box {b.tolist()}"
    if b[2] <= 0 or b[3] <= 0:
        return f"non-positive box size w={b[2]:g} h={b[3]:g}"
    return None


class Predictor:
    """Runs pose models (and optionally RootNet) on the persons of one frame; see docs/architecture.md."""

    def __init__(self, models: Sequence[LoadedModel], rootnet: LoadedModel | None = None, *,
                 device: str = "auto", precision: str = "fp32", channels_last: bool = False,
                 flip_test: bool = False, default_root_mm: float = 4000.0,
                 profile: str | FastPathConfig | None = None) -> None:
        self.device = pick_device(device)
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
        for lm in models:
            spec = lm.spec
            if spec.decoding not in POSE_DECODINGS:
                raise ValueError(f"{spec.name}: decoding {spec.decoding!r} is not a pose model "
                                 f"(expected {' or '.join(POSE_DECODINGS)}; pass RootNet as rootnet=)")
            if spec.name in self.models:
                raise ValueError(f"{spec.name}: given twice; each model runs once per frame")
            self._prepare(lm)
            self.models[spec.name] = lm
        if rootnet is not None:
            if rootnet.spec.decoding != "rootnet":
                raise ValueError(f"{rootnet.spec.name}: decoding {rootnet.spec.decoding!r} is not a RootNet")
            self._prepare(rootnet)
        self.rootnet = rootnet
        self.groups: dict[GroupKey, list[str]] = {}
        for name, lm in self.models.items():
            self.groups.setdefault(group_key(lm.spec), []).append(name)
        self._lock = threading.Lock()

    def _prepare(self, lm: LoadedModel) -> None:
        """Hand the net to ``fast_paths.prepare`` under this predictor's profile.

        A model that is itself an ONNX file (``spec.backend == "onnx"``) already runs through onnxruntime, which
        neither autocast, channels_last nor torch.compile can speed up: it always takes the plain fp32 path.
        """
        cfg = self.profile if lm.spec.backend == "torch" else FastPathConfig()
        fp = prepare(lm, lm.spec, self.device, cfg)
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
        with torch.inference_mode():
            hm = self.fast_paths[name](x)
            expected = (x.shape[0], js.num_joints * spec.depth_bins, *spec.output_hw)
            if not isinstance(hm, torch.Tensor) or tuple(hm.shape) != expected:
                got = tuple(hm.shape) if isinstance(hm, torch.Tensor) else type(hm).__name__
                raise RuntimeError(f"{name}: network returned {got}, expected heatmaps {expected}")
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
        with torch.inference_mode():
            out = self.fast_paths[self.rootnet.spec.name](self._input(crops), torch.from_numpy(k).to(self.device))
            return out.float().cpu().numpy().astype(np.float64).reshape(n, 3)

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
        f, c = cam.f, cam.c
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
            reason = _box_problem(b)
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
        timings: dict[str, float] = {}

        # crops: once per (input size, normalisation)
        use_root = self.rootnet is not None and run_rootnet
        keys = list(self.groups)
        if use_root and group_key(self.rootnet.spec) not in keys:
            keys.append(group_key(self.rootnet.spec))
        t = time.perf_counter()
        crops: dict[GroupKey, tuple[torch.Tensor, np.ndarray]] = {}
        for key in keys:
            (in_h, in_w), norm = key
            aspect = in_w / in_h
            gboxes = boxes if aspect == 1.0 else np.array(
                [geo.process_bbox(boxes_in[i], img_w, img_h, aspect) for i in kept], dtype=np.float64).reshape(p, 4)
            patches = [geo.crop_patch(frame, b, (in_h, in_w))[0] for b in gboxes]
            arr = np.stack(patches) if patches else np.zeros((0, in_h, in_w, 3), dtype=np.float32)
            crops[key] = (self._input(geo.normalise(arr, norm)), gboxes)
        synchronize(self.device)
        timings["crop"] = (time.perf_counter() - t) * 1e3

        # root: RootNet, else the given depth, else the default, at the box centre
        t = time.perf_counter()
        if use_root:
            spec = self.rootnet.spec
            x, gboxes = crops[group_key(spec)]
            k = geo.rootnet_k_value(gboxes, f, tuple(spec.arch.get("bbox_real_mm", (2000.0, 2000.0))))
            out = self.infer_root(x, k)
            xy = geo.cells_to_image(out[:, None, :2], gboxes, spec.output_hw)[:, 0]
            root_img = np.concatenate([xy, out[:, 2:3]], axis=1)
            root_source = "rootnet"
        else:
            centre = boxes[:, :2] + boxes[:, 2:] / 2.0
            z = depths[kept] if depths is not None else np.full(p, self.default_root_mm)
            root_img = np.concatenate([centre, z[:, None]], axis=1)
            root_source = "given" if depths is not None else "default"
        root_cam = geo.pixel2cam(root_img.reshape(p, 3), f, c)
        timings["rootnet"] = (time.perf_counter() - t) * 1e3 if use_root else 0.0

        # pose models: one batched forward each, then decoding
        post = 0.0
        outputs: dict[str, ModelOutput] = {}
        for name, lm in self.models.items():
            spec = lm.spec
            x, gboxes = crops[group_key(spec)]
            t = time.perf_counter()
            cells = self.infer_cells(name, x)
            synchronize(self.device)
            latency = (time.perf_counter() - t) * 1e3
            timings[name] = latency
            t = time.perf_counter()
            joints_2d, joints_cam = geo.decode_to_camera(cells, spec, gboxes, f, c, root_cam[:, 2])
            r = get_joint_set(spec.joint_set).root
            outputs[name] = ModelOutput(name=name, joint_set=spec.joint_set, trained=bool(lm.trained),
                                        coords_cells=cells, joints_2d=joints_2d,
                                        joints_rel_mm=joints_cam - joints_cam[:, r:r + 1, :],
                                        joints_cam_mm=joints_cam, latency_ms=latency)
            post += (time.perf_counter() - t) * 1e3
        timings["post"] = post
        return FramePrediction(boxes=boxes, kept=np.array(kept, dtype=np.int64), skipped=skipped,
                               root_cam_mm=root_cam, root_source=root_source, outputs=outputs, timings_ms=timings)

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
