"""A model's test-time conventions as registered classes: the crop box, the step to camera mm, the protocol mode.

Why: each paper's own test crops and places the pose its own way (docs/protocol_modes.md). 3DMPPE crops
``process_bbox`` of the annotation box and back-projects with the camera; Integral's hm36 test crops the 2000 mm
square around the GT pelvis; Integral's challenge test crops detector boxes x1.1 and rescales the pose to a fixed
total bone length. A spec names its conventions (``ModelSpec.crop_policy``, ``pose_to_camera``; models/ imports
nothing from engine/), the registries here hold the classes, and a protocol mode picks either the spec's own
(``official``) or 3DMPPE's for every model (``common``). Adding one = one class and one ``register``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from engine.inference import geometry as geo
from models.registry import Registry

if TYPE_CHECKING:
    from models.spec import ModelSpec

__all__ = [
    "CROP_POLICIES", "INTEGRAL_BONE_LENGTH_MM", "INTEGRAL_PARENTS", "POSE_TO_CAMERA", "PROTOCOL_MODES",
    "BoxSource", "Conventions", "CropPolicy", "PoseToCamera", "ProtocolMode", "conventions_for",
    "total_bone_length",
]

CROP_POLICIES: Registry[type[CropPolicy]] = Registry("crop policy", set_kind=True)
POSE_TO_CAMERA: Registry[type[PoseToCamera]] = Registry("pose-to-camera step", set_kind=True)
PROTOCOL_MODES: Registry[type[ProtocolMode]] = Registry("protocol mode", set_kind=True)

INTEGRAL_BONE_LENGTH_MM = 4502.881  # evalNetChallenge's target total bone length (train+val mean)
# Integral's parent of each h36m18 joint (its skeleton: Thorax hangs from the pelvis, Neck and Shoulders from Thorax)
INTEGRAL_PARENTS: tuple[int, ...] = (0, 0, 1, 2, 0, 4, 5, 0, 17, 17, 8, 17, 11, 12, 17, 14, 15, 0)


@dataclass
class BoxSource:
    """What a crop policy may build its boxes from, N persons or samples.

    ``bbox_xywh``: the unprocessed person boxes (annotation or detector); ``img_wh``: image size, (2,) or [N,2];
    ``f``, ``c``: the camera, (2,) or [N,2]; ``root_cam``: [N,3] root (pelvis) in camera mm where one is known
    (GT pelvis, a RootNet file's root, RootNet run live), else None; ``root_label`` says which, for the record;
    ``processed``: [N,4] boxes 3DMPPE's ``process_bbox`` already made (a RootNet result file), used as they are.
    """

    bbox_xywh: np.ndarray
    img_wh: np.ndarray
    f: np.ndarray
    c: np.ndarray
    root_cam: np.ndarray | None = None
    root_label: str = ""
    processed: np.ndarray | None = None

    def __len__(self) -> int:
        return int(np.asarray(self.bbox_xywh).reshape(-1, 4).shape[0])

    def per_item(self, a: np.ndarray | Sequence[float]) -> np.ndarray:
        """A (2,) value repeated per item, or an [N,2] value as is."""
        v = np.asarray(a, dtype=np.float64)
        return np.broadcast_to(v, (len(self), 2)) if v.ndim == 1 else v.reshape(len(self), 2)


class CropPolicy:
    """How the crop box of one model is made: ``boxes`` -> ([N,4] x, y, w, h boxes, [N] valid, a label)."""

    kind: ClassVar[str] = ""
    needs_root: ClassVar[bool] = False  # the box is built around a root: a frame computes the root first

    def boxes(self, src: BoxSource, aspect: float) -> tuple[np.ndarray, np.ndarray, str]:
        raise NotImplementedError


@CROP_POLICIES.register("3dmppe")
class ThreeDMPPECrop(CropPolicy):
    """3DMPPE ``process_bbox`` of the person box: clip, aspect to ``aspect`` (w/h), enlarge x1.25; boxes already
    processed (``src.processed``) only grow to another aspect about their centre."""

    def boxes(self, src: BoxSource, aspect: float) -> tuple[np.ndarray, np.ndarray, str]:
        if src.processed is not None:
            return refit_aspect(src.processed, aspect), np.ones(len(src), dtype=bool), "processed box, used as is"
        b = np.asarray(src.bbox_xywh, dtype=np.float64).reshape(-1, 4)
        wh = src.per_item(src.img_wh)
        out = np.zeros_like(b)
        ok = np.zeros(len(b), dtype=bool)
        for i in range(len(b)):
            pb = geo.process_bbox(b[i], int(wh[i, 0]), int(wh[i, 1]), aspect)
            if pb is not None:
                out[i], ok[i] = pb, True
        return out, ok, "process_bbox of the person box (aspect fixed, x1.25)"


def refit_aspect(boxes: np.ndarray, aspect: float) -> np.ndarray:
    """Grow already-processed boxes to another aspect (w/h) about their centre, no further enlargement."""
    b = np.asarray(boxes, dtype=np.float64).copy()
    if aspect == 1.0:
        return b
    cx, cy = b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2
    w, h = b[:, 2].copy(), b[:, 3].copy()
    wide = w > aspect * h
    h[wide] = w[wide] / aspect
    w[~wide] = h[~wide] * aspect
    return np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)


@CROP_POLICIES.register("integral-gt")
class IntegralRootSquare(CropPolicy):
    """Integral's hm36 test (hm36.py ``gt_db``, ``rect_3d`` 2000 mm): the square of ``rect_mm`` around the root at
    the root's depth, projected: centre = projected root, w = rect_w fx / Z, h = rect_h fy / Z; no aspect fix, no
    enlargement. Without a usable root (live view without RootNet) it falls back to 3DMPPE's box, and says so."""

    needs_root = True
    rect_mm: ClassVar[tuple[float, float]] = (2000.0, 2000.0)

    def boxes(self, src: BoxSource, aspect: float) -> tuple[np.ndarray, np.ndarray, str]:
        root = None if src.root_cam is None else np.asarray(src.root_cam, dtype=np.float64).reshape(-1, 3)
        if root is None or not np.all(np.isfinite(root)) or not np.all(root[:, 2] > 0):
            out, ok, _ = ThreeDMPPECrop().boxes(src, aspect)
            return out, ok, "no root known: process_bbox of the person box (aspect fixed, x1.25)"
        f, c = src.per_item(src.f), src.per_item(src.c)
        centre = geo.cam2pixel(root, f, c)[:, :2]
        w = self.rect_mm[0] * f[:, 0] / root[:, 2]
        h = self.rect_mm[1] * f[:, 1] / root[:, 2]
        out = np.stack([centre[:, 0] - w / 2.0, centre[:, 1] - h / 2.0, w, h], axis=1)
        label = f"{self.rect_mm[0]:g} x {self.rect_mm[1]:g} mm square around the {src.root_label or 'root'}"
        return out, np.isfinite(out).all(axis=1), label


@CROP_POLICIES.register("integral-challenge")
class IntegralDetectorBox(CropPolicy):
    """Integral's challenge test (hm36_eccv_challenge.py ``dt_db``): the detector box about its centre, the short
    side grown to the aspect (w/h), then x1.1; no clipping."""

    enlarge: ClassVar[float] = 1.1

    def boxes(self, src: BoxSource, aspect: float) -> tuple[np.ndarray, np.ndarray, str]:
        b = np.asarray(src.bbox_xywh, dtype=np.float64).reshape(-1, 4)
        cx, cy = b[:, 0] + b[:, 2] * 0.5, b[:, 1] + b[:, 3] * 0.5
        w, h = b[:, 2].copy(), b[:, 3].copy()
        wide = w > aspect * h
        tall = w < aspect * h
        h[wide] = w[wide] / aspect
        w[tall] = h[tall] * aspect
        w, h = w * self.enlarge, h * self.enlarge
        out = np.stack([cx - w / 2.0, cy - h / 2.0, w, h], axis=1)
        ok = np.isfinite(out).all(axis=1) & (w > 0) & (h > 0)
        return out, ok, f"person box, aspect fixed, x{self.enlarge:g}"


class PoseToCamera:
    """Decoded cells -> (image pixels [N,J,2], camera mm [N,J,3]) given the crop boxes, camera and roots [N,3]."""

    kind: ClassVar[str] = ""

    def to_camera(self, cells: np.ndarray, spec: ModelSpec, boxes: np.ndarray, f: np.ndarray, c: np.ndarray,
                  root_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


@POSE_TO_CAMERA.register("backproject")
class BackProject(PoseToCamera):
    """3DMPPE: x, y to image pixels by the box, z = root Z + relative depth, then ``pixel2cam`` with the camera."""

    def to_camera(self, cells, spec, boxes, f, c, root_cam):
        return geo.decode_to_camera(cells, spec, boxes, f, c, np.asarray(root_cam, dtype=np.float64)[:, 2])


def total_bone_length(pose: np.ndarray, parents: Sequence[int] = INTEGRAL_PARENTS) -> np.ndarray:
    """Sum over joints of |joint - its parent| ([..., J, 3] -> [...]); the root is its own parent (length 0)."""
    p = np.asarray(pose, dtype=np.float64)
    return np.linalg.norm(p - p[..., list(parents), :], axis=-1).sum(axis=-1)


@POSE_TO_CAMERA.register("bone-length-rescale")
class BoneLengthRescale(PoseToCamera):
    """Integral's challenge evaluation (net_modules.py ``evalNetChallenge``): the pelvis-relative pose in patch units
    (x, y patch pixels, z = relative depth in patch-width units) scaled so its total bone length is 4502.881 mm; no
    camera. Placed at the given root so the pose is absolute like the others."""

    target_mm: ClassVar[float] = INTEGRAL_BONE_LENGTH_MM

    def to_camera(self, cells, spec, boxes, f, c, root_cam):
        xy, _ = geo.decode_to_camera(cells, spec, boxes, f, c, np.asarray(root_cam, dtype=np.float64)[:, 2])
        cam = np.asarray(cells, dtype=np.float64)
        (out_h, out_w), (in_h, in_w) = spec.output_hw, spec.input_hw
        patch = np.stack([cam[..., 0] / out_w * in_w, cam[..., 1] / out_h * in_h,
                          (cam[..., 2] / spec.depth_bins - 0.5) * in_w], axis=-1)
        rel = patch - patch[..., :1, :]
        length = total_bone_length(rel)
        scale = np.divide(self.target_mm, length, out=np.zeros_like(length), where=length > 0)
        root = np.asarray(root_cam, dtype=np.float64).reshape(rel.shape[:-2] + (1, 3))
        return xy, rel * scale[..., None, None] + root


@dataclass(frozen=True)
class Conventions:
    """The crop policy and the pose-to-camera step one model runs with under one protocol mode."""

    crop: CropPolicy
    to_camera: PoseToCamera

    @property
    def names(self) -> dict[str, str]:
        return {"crop": self.crop.kind, "pose_to_camera": self.to_camera.kind}


class ProtocolMode:
    """Which conventions each model runs with in a benchmark (or the live view)."""

    kind: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def names(self, spec: ModelSpec) -> tuple[str, str]:
        raise NotImplementedError


@PROTOCOL_MODES.register("official")
class OfficialMode(ProtocolMode):
    description = "each model as its own official test runs it"

    def names(self, spec: ModelSpec) -> tuple[str, str]:
        return spec.crop_policy, spec.pose_to_camera


@PROTOCOL_MODES.register("common")
class CommonMode(ProtocolMode):
    description = "every model through the 3DMPPE pipeline (like for like)"

    def names(self, spec: ModelSpec) -> tuple[str, str]:
        return "3dmppe", "backproject"


def conventions_for(spec: ModelSpec, mode: str = "official") -> Conventions:
    """The registered conventions ``spec`` runs with under protocol ``mode``; ValueError naming the known ones."""
    try:
        crop, step = PROTOCOL_MODES.lookup(mode)().names(spec)
        return Conventions(CROP_POLICIES.lookup(crop)(), POSE_TO_CAMERA.lookup(step)())
    except KeyError as exc:
        raise ValueError(f"{spec.name}: {exc.args[0] if exc.args else exc}") from None
