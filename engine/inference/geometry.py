"""The 3DMPPE / Integral geometry conventions: box processing, crop affine, heatmap -> camera.

Numerically pinned by ``tests/fixtures/conformance/geometry.json`` (tests/test_geometry.py reproduces every case). The
quirks are deliberate: they are what the released checkpoints were trained with (the official code of
mks0601/3DMPPE_POSENET_RELEASE, 3DMPPE_ROOTNET_RELEASE and JimmySuen/integral-human-pose). Array functions broadcast
over leading axes, so one call decodes all persons of a frame or all samples of a benchmark batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from engine.inference.decodings import get_decoding
from models.normalisation import NORMALISATIONS, normalise  # re-exported: a model convention, kept importable here

if TYPE_CHECKING:
    from models.spec import ModelSpec

__all__ = [
    "BBOX_ENLARGE",
    "NORMALISATIONS",
    "cam2pixel",
    "cells_to_image",
    "cells_to_image_affine",
    "crop_affine",
    "crop_patch",
    "decode_to_camera",
    "depth_to_mm",
    "flip_back",
    "joint_errors",
    "mpjpe",
    "normalise",
    "pixel2cam",
    "process_bbox",
    "rigid_align",
    "rigid_transform",
    "rootnet_k_value",
    "similarity_align",
    "similarity_transform",
    "world2cam",
]

BBOX_ENLARGE = 1.25  # process_bbox grows the aspect-corrected box by this factor around its centre


# ----------------------------------------------------------------------------------------------------------------
# Box and crop


def process_bbox(bbox_xywh: Sequence[float], img_w: int, img_h: int, aspect: float = 1.0) -> np.ndarray | None:
    """3DMPPE ``process_bbox``: clip, fix the aspect (w/h) and enlarge x1.25; None when the box is degenerate.

    Quirk kept on purpose: the width is measured from the clipped start and shrinks by one pixel (x2 = x1 + w - 1),
    so a box starting left of the image keeps its full width from x = 0.
    """
    x, y, w, h = (float(v) for v in bbox_xywh)
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        return None
    x1 = max(0.0, x)
    y1 = max(0.0, y)
    x2 = min(img_w - 1.0, x1 + max(0.0, w - 1.0))
    y2 = min(img_h - 1.0, y1 + max(0.0, h - 1.0))
    if not (w * h > 0 and x2 >= x1 and y2 >= y1):
        return None
    w = x2 - x1
    h = y2 - y1
    cx = x1 + w / 2.0
    cy = y1 + h / 2.0
    if w > aspect * h:
        h = w / aspect
    elif w < aspect * h:
        w = h * aspect
    if w <= 0 or h <= 0:  # e.g. w and h both negative pass the official w*h > 0 test; nothing left to crop
        return None
    w *= BBOX_ENLARGE
    h *= BBOX_ENLARGE
    return np.array([cx - w / 2.0, cy - h / 2.0, w, h], dtype=np.float64)


def crop_affine(bbox: Sequence[float], input_hw: tuple[int, int], inverse: bool = False) -> np.ndarray:
    """2x3 affine image -> patch (or patch -> image with ``inverse``), built like ``gen_trans_from_patch_cv``.

    Three float32 point pairs (centre, centre + half height down, centre + half width right) through
    ``cv2.getAffineTransform``, so the result matches the official one to the last bit; no rotation at test time.
    """
    bx, by, bw, bh = (float(v) for v in bbox)
    out_h, out_w = input_hw
    centre = np.array([bx + 0.5 * bw, by + 0.5 * bh], dtype=np.float32)
    down = np.array([0.0, bh * 0.5], dtype=np.float32)
    right = np.array([bw * 0.5, 0.0], dtype=np.float32)
    src = np.stack([centre, centre + down, centre + right]).astype(np.float32)
    d_centre = np.array([out_w * 0.5, out_h * 0.5], dtype=np.float32)
    d_down = np.array([0.0, out_h * 0.5], dtype=np.float32)
    d_right = np.array([out_w * 0.5, 0.0], dtype=np.float32)
    dst = np.stack([d_centre, d_centre + d_down, d_centre + d_right]).astype(np.float32)
    if inverse:
        return cv2.getAffineTransform(dst, src)
    return cv2.getAffineTransform(src, dst)


_CV_COLOUR_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32))


def crop_patch(img_bgr: np.ndarray, bbox: Sequence[float], input_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Warp the processed box to the network input: (RGB float32 HxWx3 in 0..255, image->patch 2x3 affine).

    Bilinear, constant-0 border (boxes partly outside the image get black margins), warped in the image's own
    dtype (uint8 frames are rounded like the official code) and only then cast to float32.
    """
    if img_bgr.ndim != 3 or img_bgr.shape[2] != 3:
        raise ValueError(f"crop_patch: expected an HxWx3 BGR image, got shape {tuple(img_bgr.shape)}")
    trans = crop_affine(bbox, input_hw)
    out_h, out_w = input_hw
    patch = cv2.warpAffine(img_bgr, trans, (int(out_w), int(out_h)), flags=cv2.INTER_LINEAR)
    if patch.dtype in _CV_COLOUR_DTYPES:  # the same channel swap; numpy's reversed-stride cast cost 10x (0.35 ms)
        return cv2.cvtColor(patch, cv2.COLOR_BGR2RGB).astype(np.float32), trans
    return patch[:, :, ::-1].astype(np.float32), trans


# ----------------------------------------------------------------------------------------------------------------
# Heatmap -> image -> camera


def _per_item(v: np.ndarray, ndim: int) -> np.ndarray:
    """Append axes so a per-item value ([N] or scalar) broadcasts against [N, J] arrays of ``ndim`` dims."""
    while v.ndim < ndim:
        v = v[..., None]
    return v


def cells_to_image(coords: np.ndarray, bbox: np.ndarray | Sequence[float], output_hw: tuple[int, int]) -> np.ndarray:
    """evaluate()'s bbox-linear route: [..., J, >=2] heatmap cells -> [..., J, 2] image pixels.

    x_img = x / W_out * bbox_w + bbox_x (same for y). Equals the demo's inverse-affine route to ~1e-5 px and is the
    same for Integral (its patch pixels are x / W_out * patch_w).
    """
    c = np.asarray(coords, dtype=np.float64)
    b = np.asarray(bbox, dtype=np.float64)
    out_h, out_w = output_hw
    nd = c.ndim - 1
    x = c[..., 0] / out_w * _per_item(b[..., 2], nd) + _per_item(b[..., 0], nd)
    y = c[..., 1] / out_h * _per_item(b[..., 3], nd) + _per_item(b[..., 1], nd)
    return np.stack([x, y], axis=-1)


def cells_to_image_affine(coords: np.ndarray, bbox: Sequence[float], input_hw: tuple[int, int],
                          output_hw: tuple[int, int]) -> np.ndarray:
    """The demo's route: cells -> patch pixels -> inverse of the 3x3-completed crop affine ([J, >=2] -> [J, 2])."""
    c = np.asarray(coords, dtype=np.float64)
    in_h, in_w = input_hw
    out_h, out_w = output_hw
    xy1 = np.stack([c[:, 0] / out_w * in_w, c[:, 1] / out_h * in_h, np.ones(len(c))], axis=1)
    t = np.vstack([crop_affine(bbox, input_hw), [0.0, 0.0, 1.0]])
    return (np.linalg.inv(t) @ xy1.T).T[:, :2]


def depth_to_mm(z_bins: np.ndarray, depth_bins: int, depth_range_mm: float, root_z: float | np.ndarray) -> np.ndarray:
    """Depth bins -> absolute depth: (z / D - 0.5) * range + root Z (3DMPPE: (z/D*2-1)*1000 for a 2000 mm range).

    ``root_z`` is a scalar or one value per leading item of ``z_bins`` ([N] for [N, J]).
    """
    z = np.asarray(z_bins, dtype=np.float64)
    r = _per_item(np.asarray(root_z, dtype=np.float64), z.ndim)
    return (z / depth_bins - 0.5) * depth_range_mm + r


def _fc(f: np.ndarray | Sequence[float], ndim: int) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(f, dtype=np.float64)
    return _per_item(a[..., 0], ndim), _per_item(a[..., 1], ndim)


def pixel2cam(xyz: np.ndarray, f: np.ndarray | Sequence[float], c: np.ndarray | Sequence[float]) -> np.ndarray:
    """(x px, y px, Z mm) -> camera mm: X = (x - cx) / fx * Z. f, c: (2,) or one pair per leading item."""
    p = np.asarray(xyz, dtype=np.float64)
    fx, fy = _fc(f, p.ndim - 1)
    cx, cy = _fc(c, p.ndim - 1)
    z = p[..., 2]
    return np.stack([(p[..., 0] - cx) / fx * z, (p[..., 1] - cy) / fy * z, z], axis=-1)


def cam2pixel(xyz: np.ndarray, f: np.ndarray | Sequence[float], c: np.ndarray | Sequence[float]) -> np.ndarray:
    """Camera mm -> (x px, y px, Z mm), with the official +1e-8 guard on Z."""
    p = np.asarray(xyz, dtype=np.float64)
    fx, fy = _fc(f, p.ndim - 1)
    cx, cy = _fc(c, p.ndim - 1)
    z = p[..., 2]
    return np.stack([p[..., 0] / (z + 1e-8) * fx + cx, p[..., 1] / (z + 1e-8) * fy + cy, z], axis=-1)


def world2cam(x: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """World mm -> camera mm as the 3DMPPE loaders apply the released camera json: R @ X + t."""
    p = np.asarray(x, dtype=np.float64)
    return p @ np.asarray(R, dtype=np.float64).T + np.asarray(t, dtype=np.float64).reshape(3)


def rootnet_k_value(bbox: np.ndarray | Sequence[float], f: np.ndarray | Sequence[float],
                    bbox_real: Sequence[float] = (2000.0, 2000.0)) -> np.ndarray:
    """RootNet's k = sqrt(real_w * real_h * fx * fy / (bbox_w * bbox_h)), processed box; float32 [...] per box."""
    b = np.asarray(bbox, dtype=np.float64)
    fa = np.asarray(f, dtype=np.float64)
    area = b[..., 2] * b[..., 3]
    k = np.sqrt(float(bbox_real[0]) * float(bbox_real[1]) * fa[..., 0] * fa[..., 1] / area)
    return np.asarray(k, dtype=np.float32)


def flip_back(coords_flipped: np.ndarray, flip_pairs: Sequence[tuple[int, int]], output_w: int, decoding: str,
              input_w: int | None = None) -> np.ndarray:
    """Undo a width-mirrored input on [..., J, 3] cells: mirror x, then swap each left/right pair (all 3 coords).

    3DMPPE mirrors in heatmap cells (x <- W_out - 1 - x); Integral mirrors in patch pixels (x_px <- patch_w - 1 -
    x_px), which is 3 px different at a 4x stride, so it needs ``input_w``. The decoding's registered class
    (``engine.inference.decodings``) does the mirroring.
    """
    mirror = get_decoding(decoding)  # ValueError for an unknown decoding
    out = np.array(coords_flipped, dtype=np.float64, copy=True)
    out[..., 0] = mirror.mirror_x(out[..., 0], output_w, input_w)
    for a, b in flip_pairs:
        tmp = out[..., a, :].copy()
        out[..., a, :] = out[..., b, :]
        out[..., b, :] = tmp
    return out


def decode_to_camera(coords_cells: np.ndarray, spec: ModelSpec, bbox: np.ndarray | Sequence[float],
                     f: np.ndarray | Sequence[float], c: np.ndarray | Sequence[float],
                     root_z: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cells ([P,]J,3) -> (image pixels [P,]J,2, absolute camera mm [P,]J,3) for one model's conventions.

    x, y by the bbox-linear route; z = root Z + (z / D - 0.5) * depth_range_mm; then pixel2cam. ``bbox`` is the box
    the crop was made from (aspect = input_w / input_h for this model); ``root_z`` one value per person.
    """
    coords = np.asarray(coords_cells, dtype=np.float64)
    xy = cells_to_image(coords, bbox, spec.output_hw)
    z = depth_to_mm(coords[..., 2], spec.depth_bins, spec.depth_range_mm, root_z)
    cam = pixel2cam(np.concatenate([xy, z[..., None]], axis=-1), f, c)
    return xy, cam


# ----------------------------------------------------------------------------------------------------------------
# Alignment and errors (Human3.6M protocols)


def _svd_parts(A: np.ndarray, B: np.ndarray):
    a = np.asarray(A, dtype=np.float64)
    b = np.asarray(B, dtype=np.float64)
    if a.shape != b.shape or a.shape[-1] != 3:
        raise ValueError(f"alignment needs two [...,J,3] arrays of one shape, got {a.shape} and {b.shape}")
    ca = a.mean(axis=-2, keepdims=True)
    cb = b.mean(axis=-2, keepdims=True)
    h = np.swapaxes(a - ca, -1, -2) @ (b - cb)
    u, s, vt = np.linalg.svd(h)
    return a, ca, cb, u, s, vt


def rigid_transform(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """3DMPPE ``rigid_transform_3D``: (R [...,3,3], t [...,3]) with R @ A + t ~ B; rotation and translation only."""
    _, ca, cb, u, _, vt = _svd_parts(A, B)
    r = np.swapaxes(vt, -1, -2) @ np.swapaxes(u, -1, -2)
    neg = np.linalg.det(r) < 0
    if np.any(neg):  # reflection: negate the last row of V^T, as the official code does
        vt = vt.copy()
        if vt.ndim == 2:
            vt[2, :] = -vt[2, :]
        else:
            vt[neg, 2, :] = -vt[neg, 2, :]
        r = np.swapaxes(vt, -1, -2) @ np.swapaxes(u, -1, -2)
    t = cb[..., 0, :] - (r @ ca[..., 0, :, None])[..., 0]
    return r, t


def rigid_align(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Align prediction A onto ground truth B ([...,J,3]) by rotation + translation, **no scale** (3DMPPE PA-MPJPE)."""
    r, t = rigid_transform(A, B)
    a = np.asarray(A, dtype=np.float64)
    return a @ np.swapaxes(r, -1, -2) + t[..., None, :]


def similarity_transform(A: np.ndarray, B: np.ndarray) -> tuple[float | np.ndarray, np.ndarray, np.ndarray]:
    """Procrustes with scale (Umeyama): (s, R, t) with s * R @ A + t ~ B; the 'with scale' PA-MPJPE variant."""
    a, ca, cb, u, sv, vt = _svd_parts(A, B)
    r = np.swapaxes(vt, -1, -2) @ np.swapaxes(u, -1, -2)
    sign = np.where(np.linalg.det(r) < 0, -1.0, 1.0)
    d = np.ones(sv.shape)
    d[..., 2] = sign
    vt = vt * d[..., :, None]
    r = np.swapaxes(vt, -1, -2) @ np.swapaxes(u, -1, -2)
    var_a = ((a - ca) ** 2).sum(axis=(-1, -2))
    scale = (sv * d).sum(axis=-1) / var_a
    t = cb[..., 0, :] - np.asarray(scale)[..., None] * (r @ ca[..., 0, :, None])[..., 0]
    return scale, r, t


def similarity_align(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Align A onto B by scale + rotation + translation (the common 'PA-MPJPE with scale'; label it so)."""
    s, r, t = similarity_transform(A, B)
    a = np.asarray(A, dtype=np.float64)
    return np.asarray(s)[..., None, None] * (a @ np.swapaxes(r, -1, -2)) + t[..., None, :]


def joint_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-joint Euclidean distance [..., J] (mm when the inputs are mm)."""
    return np.linalg.norm(np.asarray(pred, dtype=np.float64) - np.asarray(gt, dtype=np.float64), axis=-1)


def mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean per-joint position error over every sample and joint (the protocols' 'tot')."""
    return float(joint_errors(pred, gt).mean())
