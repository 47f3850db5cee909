"""How closely two models agree on the same person in the same frame, without ground truth.

Why these variants: absolute camera-mm distance mixes root depth (shared RootNet, or not) with pose; subtracting
each model's own root isolates the pose (the MPJPE convention); a rigid Procrustes fit (rotation + translation,
**no scale**, ``engine.inference.geometry.rigid_align``) also forgives a global tilt, leaving only articulation
differences. 2D pixels show whether disagreement is in depth or in the image. Sums are additive across tracks
and windows (``PairSums``), so the live window and the offline pass share the code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.compare.metrics import norm
from engine.compare.skeleton import MEASURE_JOINTS, ROOT
from engine.inference.geometry import rigid_align
from models.joints import H36M18

__all__ = ["AGREEMENT_METRICS", "PairAgreement", "PairSums", "agreement_matrix", "common_joints", "pair_sums"]

AGREEMENT_METRICS = ("root_aligned_mm", "rigid_aligned_mm", "absolute_mm", "px_2d")


def common_joints(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    """H36M18 measure joints both models provide, in H36M18 order."""
    sb = set(b)
    return tuple(j for j in MEASURE_JOINTS if j in set(a) and j in sb)


@dataclass
class PairSums:
    """Additive per-joint sums of distances over the samples (frame x track) where both models had a pose."""

    joints: tuple[int, ...]
    n: int
    abs_sum: np.ndarray  # [K] mm
    root_sum: np.ndarray  # [K] mm
    rigid_sum: np.ndarray  # [K] mm
    rigid_n: int  # samples behind rigid_sum (the live window may align a subset, see pair_sums)
    px_sum: np.ndarray  # [K] px
    px_n: np.ndarray  # [K]

    def __add__(self, other: PairSums) -> PairSums:
        if other.joints != self.joints:
            raise ValueError("PairSums over different joints cannot be added")
        return PairSums(self.joints, self.n + other.n, self.abs_sum + other.abs_sum, self.root_sum + other.root_sum,
                        self.rigid_sum + other.rigid_sum, self.rigid_n + other.rigid_n, self.px_sum + other.px_sum,
                        self.px_n + other.px_n)

    @classmethod
    def empty(cls, joints: tuple[int, ...]) -> PairSums:
        k = len(joints)
        return cls(joints, 0, np.zeros(k), np.zeros(k), np.zeros(k), 0, np.zeros(k), np.zeros(k, np.int64))


def pair_sums(cam_a: np.ndarray, cam_b: np.ndarray, px_a: np.ndarray, px_b: np.ndarray, valid_a: np.ndarray,
              valid_b: np.ndarray, joints: tuple[int, ...], *, rigid_samples: int | None = None) -> PairSums:
    """Distances between two models' poses [..., 18, 3] (and 2D [..., 18, 2]) where both are valid ([...] bool).

    The root is the Pelvis when both have it, else the centroid of the common joints. ``rigid_samples``: align at
    most that many evenly spaced samples (one small SVD each; the live window bounds its cost this way)."""
    k = list(joints)
    both = (valid_a & valid_b).reshape(-1)
    if not k or not both.any():
        return PairSums.empty(joints)
    # a contiguous joint range (the usual case: all 17 measure joints) is a view, not a gather
    sel: slice | list[int] = slice(k[0], k[-1] + 1) if k == list(range(k[0], k[-1] + 1)) else k

    every = bool(both.all())  # the usual live case: no boolean gather needed

    def take(x: np.ndarray) -> np.ndarray:
        flat = x.reshape(-1, *x.shape[-2:])
        return flat[:, sel] if every else flat[both][:, sel]

    a, b, pa, pb = take(cam_a), take(cam_b), take(px_a), take(px_b)
    r = k.index(ROOT) if ROOT in joints else None

    def rel(x: np.ndarray) -> np.ndarray:  # root-relative
        return x - x[:, r:r + 1] if r is not None else x - x.mean(axis=1, keepdims=True)

    diff = a - b
    d_abs = norm(diff)
    d_root = norm(rel(diff))  # (a - a_root) - (b - b_root), in one pass
    if rigid_samples is not None and len(a) > rigid_samples:
        pick = np.linspace(0, len(a) - 1, rigid_samples).round().astype(np.int64)
        a, b = a[pick], b[pick]
    ra, rb = rel(a), rel(b)
    d_rigid = norm(rigid_align(ra, rb) - rb)
    d_px = norm(pa - pb)
    pok = np.isfinite(d_px)
    return PairSums(joints, len(d_abs), d_abs.sum(0), d_root.sum(0), d_rigid.sum(0), len(ra),
                    np.where(pok, d_px, 0).sum(0), pok.sum(0))


@dataclass
class PairAgreement:
    """Mean distances between models ``a`` and ``b`` on their common joints (``joints``)."""

    a: str
    b: str
    samples: int  # frame x track samples where both had a pose
    joints: list[str]  # H36M18 names of the joints compared
    approx_joints: list[str]  # of those, joints only approximately the same body point (mapped sets)
    mapped: bool  # at least one model's own joint set is not H36M18
    absolute_mm: float  # camera mm, no alignment
    root_aligned_mm: float  # each model's root subtracted
    rigid_aligned_mm: float  # after rotation + translation (no scale)
    px_2d: float  # image pixels
    per_joint_mm: dict[str, float]  # root-aligned
    per_joint_rigid_mm: dict[str, float]
    per_joint_px: dict[str, float]

    @classmethod
    def from_sums(cls, a: str, b: str, s: PairSums, *, mapped: bool, approx: Sequence[int] = ()) -> PairAgreement:
        names = [H36M18.names[j] for j in s.joints]
        with np.errstate(invalid="ignore", divide="ignore"):
            n = s.n if s.n else np.nan
            pj_root, pj_abs = s.root_sum / n, s.abs_sum / n
            pj_rigid = s.rigid_sum / (s.rigid_n if s.rigid_n else np.nan)
            pj_px = np.where(s.px_n > 0, s.px_sum / np.maximum(s.px_n, 1), np.nan)
            px = s.px_sum.sum() / s.px_n.sum() if s.px_n.sum() else np.nan

        def mean(v: np.ndarray) -> float:
            return float(v.mean()) if len(v) and s.n else float("nan")

        return cls(a, b, int(s.n), names, [H36M18.names[j] for j in s.joints if j in set(approx)], mapped,
                   mean(pj_abs), mean(pj_root), mean(pj_rigid), float(px),
                   dict(zip(names, map(float, pj_root), strict=True)),
                   dict(zip(names, map(float, pj_rigid), strict=True)),
                   dict(zip(names, map(float, pj_px), strict=True)))


def agreement_matrix(models: Sequence[str], pairs: Sequence[PairAgreement]) -> dict[str, list[list[float | None]]]:
    """{metric: M x M} for each of ``AGREEMENT_METRICS``: symmetric by construction, 0 on the diagonal, None where a
    pair had no common samples."""
    idx = {m: i for i, m in enumerate(models)}
    out: dict[str, list[list[float | None]]] = {}
    for metric in AGREEMENT_METRICS:
        mat: list[list[float | None]] = [[0.0 if i == j else None for j in range(len(models))]
                                         for i in range(len(models))]
        for p in pairs:
            v = getattr(p, metric)
            v = float(v) if np.isfinite(v) else None
            i, j = idx[p.a], idx[p.b]
            mat[i][j] = mat[j][i] = v
        out[metric] = mat
    return out
