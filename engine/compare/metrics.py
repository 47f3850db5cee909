"""Per-model, per-track measures without ground truth: jitter, bone-length stability, limb symmetry, root-depth
stability, visibility, latency, and the degenerate-skeleton check.

Why split into ``track_sums`` and ``summarise``: the live window computes all tracks of a model at once
([T, S, 18, 3] arrays, S = tracks), the offline pass one track at a time; both produce additive per-track sums
(``TrackSums``), and ``summarise`` turns any subset of tracks (one track, or all pooled) into a ``ModelStats``.
Inputs are in H36M18 order (``engine.compare.skeleton``) in camera mm, NaN where a model gave no pose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.compare.skeleton import BONE_NAMES, BONES, LIMB_PAIRS, MEASURE_JOINTS, ROOT
from models.joints import H36M18

__all__ = ["MAX_MEAN_BONE_MM", "MIN_EXTENT_MM", "MIN_MEAN_BONE_MM", "ModelStats", "TrackSums", "acceleration",
           "norm", "summarise", "summarise_many", "track_sums", "valid_poses"]

MIN_MEAN_BONE_MM = 80.0  # an adult's mean H36M bone is ~250 mm, a small child's ~120; random weights give 0-60
MIN_EXTENT_MM = 300.0  # bounding-box diagonal of the whole pose (an adult's is ~1800 mm, crouched ~900)
MAX_MEAN_BONE_MM = 1000.0  # no human limb chain is this long: the decoding blew up


def acceleration(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Second finite difference over the actual timestamps: x [T, ...], t [T] s -> [T-2, ...] (units/s²).

    a = 2 (v1 - v0) / (dt0 + dt1) with v0, v1 the two one-sided velocities; at a fixed dt this is
    (x[t+1] - 2 x[t] + x[t-1]) / dt². Non-increasing times give NaN (excluded)."""
    if len(t) < 3:
        return np.empty((0, *x.shape[1:]))
    tt = np.asarray(t, dtype=np.float64)
    dt0, dt1 = tt[1:-1] - tt[:-2], tt[2:] - tt[1:-1]
    ok = (dt0 > 0) & (dt1 > 0)
    dt0, dt1 = np.where(ok, dt0, np.nan), np.where(ok, dt1, np.nan)
    shape = (-1,) + (1,) * (x.ndim - 1)
    v0 = (x[1:-1] - x[:-2]) / dt0.reshape(shape)
    v1 = (x[2:] - x[1:-1]) / dt1.reshape(shape)
    return 2.0 * (v1 - v0) / (dt0 + dt1).reshape(shape)


def norm(d: np.ndarray) -> np.ndarray:
    """Euclidean norm over the last (2- or 3-long) axis: component-wise, several times faster than a reduction
    along a tiny axis (it matters at two snapshots a second)."""
    out = d[..., 0] ** 2
    for i in range(1, d.shape[-1]):
        out += d[..., i] ** 2
    return np.sqrt(out)


def valid_poses(cam: np.ndarray, present: np.ndarray, joints: tuple[int, ...]) -> np.ndarray:
    """[T, S] bool: the track is there and the model gave a finite pose on every joint it provides (a sum is
    finite only when every term is)."""
    j = list(joints)
    sel: slice | list[int] = slice(j[0], j[-1] + 1) if j and j == list(range(j[0], j[-1] + 1)) else j
    with np.errstate(invalid="ignore", over="ignore"):
        return present & np.isfinite(cam[..., sel, :].sum(axis=(-1, -2)))


@dataclass
class TrackSums:
    """Additive per-track partial results (leading axis S = tracks); see ``summarise``."""

    track_ids: np.ndarray  # [S]
    n_present: np.ndarray  # [S] frames in which the track exists
    n_valid: np.ndarray  # [S] of those, frames with a finite pose from this model
    acc_sum: np.ndarray  # [S, 18] sum of |a| (mm/s²), raw stream
    acc_n: np.ndarray  # [S, 18]
    acc_sm_sum: np.ndarray  # [S, 18] smoothed stream
    acc_sm_n: np.ndarray  # [S, 18]
    bone_mean: np.ndarray  # [S, 16] mm (NaN: no sample)
    bone_std: np.ndarray  # [S, 16]
    bone_n: np.ndarray  # [S, 16]
    root_z_std: np.ndarray  # [S]
    root_acc_sum: np.ndarray  # [S] sum of |d²z/dt²|
    root_acc_n: np.ndarray  # [S]
    extent_mean: np.ndarray  # [S] mean bounding-box diagonal (mm)

    @classmethod
    def concat(cls, parts: list[TrackSums]) -> TrackSums:
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__))


def _nanstats(v: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, std, count) over ``axis`` ignoring NaN, without numpy's empty-slice warnings."""
    ok = np.isfinite(v)
    n = ok.sum(axis=axis)
    z = np.where(ok, v, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = z.sum(axis=axis) / n
        var = (np.where(ok, v - np.expand_dims(mean, axis), 0.0) ** 2).sum(axis=axis) / n
    mean = np.where(n >= 1, mean, np.nan)
    return mean, np.where(n >= 2, np.sqrt(var), np.nan), n


def track_sums(times: np.ndarray, present: np.ndarray, cam: np.ndarray, smoothed: np.ndarray | None,
               joints: tuple[int, ...], track_ids: np.ndarray) -> TrackSums:
    """Partial results for S tracks of one model over T frames.

    times [T] s; present [T, S]; cam / smoothed [T, S, 18, 3] mm in H36M18 order; ``joints``: the H36M18 indices
    this model provides. Frames where the pose is not finite are dropped from every measure."""
    use = [j for j in MEASURE_JOINTS if j in joints]
    valid = valid_poses(cam, present, tuple(use))
    x = np.where(valid[..., None, None], cam, np.nan)
    mask = np.zeros(H36M18.num_joints, bool)
    mask[use] = True
    x[..., ~mask, :] = np.nan

    def acc_sums(stream: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = norm(acceleration(stream, times))  # [T-2, S, 18]
        ok = np.isfinite(a)
        return np.where(ok, a, 0.0).sum(axis=0), ok.sum(axis=0)

    acc_sum, acc_n = acc_sums(x)
    if smoothed is not None:
        xs = np.where(valid[..., None, None], smoothed, np.nan)
        xs[..., ~mask, :] = np.nan
        acc_sm_sum, acc_sm_n = acc_sums(xs)
    else:
        acc_sm_sum, acc_sm_n = np.zeros_like(acc_sum), np.zeros_like(acc_n)
    a_idx, b_idx = [a for a, _ in BONES], [b for _, b in BONES]
    lengths = norm(x[..., a_idx, :] - x[..., b_idx, :])  # [T, S, 16]
    bone_mean, bone_std, bone_n = _nanstats(lengths)
    rz = x[..., ROOT, 2]  # [T, S]
    _, root_z_std, _ = _nanstats(rz)
    ra = np.abs(acceleration(rz, times))
    rok = np.isfinite(ra)
    xe = x[..., use, :]  # finite wherever the pose is valid
    span = np.where(valid[..., None], xe.max(axis=-2) - xe.min(axis=-2), np.nan) if use else \
        np.full((*valid.shape, 3), np.nan)
    extent = norm(span)
    ext_mean, _, _ = _nanstats(extent)
    return TrackSums(np.asarray(track_ids, np.int64), present.sum(axis=0), valid.sum(axis=0), acc_sum, acc_n,
                     acc_sm_sum, acc_sm_n, bone_mean, bone_std, bone_n, root_z_std, np.where(rok, ra, 0).sum(0),
                     rok.sum(axis=0), ext_mean)


@dataclass
class ModelStats:
    """One model's measures over a window, for one track (``track_id``) or all tracks pooled (``None``).

    NaN where there was not enough data (the JSON writer turns it into null)."""

    name: str
    track_id: int | None
    joint_set: str
    mapped: bool
    joints: list[str]  # H36M18 joint names the measures used
    frames: int  # frames with the track(s) present
    valid_frames: int  # of those, frames with a finite pose
    visibility: float  # valid_frames / frames
    jitter_mm_s2: float  # mean joint acceleration magnitude, raw stream
    jitter_smoothed_mm_s2: float
    jitter_per_joint: dict[str, float]  # raw, mm/s²
    bone_length_mm: dict[str, float]
    bone_cv: dict[str, float]  # std / mean of each bone's length over time
    bone_cv_mean: float
    mean_bone_mm: float
    asymmetry: dict[str, float]  # |L - R| / mean, per limb pair
    asymmetry_mean: float
    root_z_std_mm: float
    root_z_jitter_mm_s2: float
    extent_mm: float
    latency_mean_ms: float = float("nan")
    latency_p95_ms: float = float("nan")
    degenerate: bool = False
    degenerate_reason: str = ""
    trained: bool | None = None
    label: str = ""
    extra: dict[str, float] = field(default_factory=dict)


def degenerate_reason(mean_bone_mm: float, extent_mm: float) -> str:
    """Why a skeleton is not a human one ('' when it is, or when there is no data to judge)."""
    if np.isfinite(mean_bone_mm) and mean_bone_mm < MIN_MEAN_BONE_MM:
        return f"skeleton collapsed: mean bone length {mean_bone_mm:.1f} mm (< {MIN_MEAN_BONE_MM:.0f} mm)"
    if np.isfinite(extent_mm) and extent_mm < MIN_EXTENT_MM:
        return f"skeleton collapsed: pose extent {extent_mm:.1f} mm (< {MIN_EXTENT_MM:.0f} mm)"
    if np.isfinite(mean_bone_mm) and mean_bone_mm > MAX_MEAN_BONE_MM:
        return f"skeleton implausibly large: mean bone length {mean_bone_mm:.0f} mm (> {MAX_MEAN_BONE_MM:.0f} mm)"
    return ""


def _p95(v: np.ndarray) -> float:
    """np.percentile(v, 95) (linear interpolation) without its per-call overhead."""
    if not v.size:
        return float("nan")
    v = np.sort(v)
    pos = 0.95 * (len(v) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return float(v[lo] + (v[hi] - v[lo]) * (pos - lo))


def summarise_many(sums: TrackSums, groups: Sequence[tuple[int | None, np.ndarray | None]], *, name: str,
                   joint_set: str, mapped: bool, joints: tuple[int, ...], latency_ms: np.ndarray | None = None,
                   trained: bool | None = None, label: str = "") -> list[ModelStats]:
    """One ``ModelStats`` per group of tracks: ``groups`` = [(track_id label or None, indices into S or None = all)].

    Pooling: jitter and visibility pool their samples; per-track quantities (bone CV, mean lengths, asymmetry,
    root-z std, extent) are averaged over the group's tracks weighted by their sample counts, because mixing two
    people's bone lengths into one CV would measure the people, not the model. All groups are computed at once
    (a [groups, tracks] 0/1 matrix times the per-track sums): the live snapshot calls this twice a second."""
    n_s = len(sums.track_ids)
    g = np.zeros((len(groups), n_s))
    for i, (_, idx) in enumerate(groups):
        g[i, slice(None) if idx is None else idx] = 1.0
    use = [j for j in MEASURE_JOINTS if j in joints]
    with np.errstate(invalid="ignore", divide="ignore"):
        def total(v: np.ndarray) -> np.ndarray:
            return g @ v.reshape(n_s, int(np.prod(v.shape[1:]))).astype(np.float64)

        def wmean(v: np.ndarray, w: np.ndarray) -> np.ndarray:
            ok = np.isfinite(v) & (w > 0)
            num, den = total(np.where(ok, v * w, 0.0)), total(np.where(ok, w, 0.0))
            return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)

        def ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)

        def nanmean(v: np.ndarray) -> np.ndarray:  # over the last axis
            ok = np.isfinite(v)
            return np.where(ok.any(-1), np.where(ok, v, 0.0).sum(-1) / np.maximum(ok.sum(-1), 1), np.nan)

        frames, valid = total(sums.n_present)[:, 0], total(sums.n_valid)[:, 0]
        acc_sum, acc_n = total(sums.acc_sum), total(sums.acc_n)
        jpj = ratio(acc_sum, acc_n)
        jit = ratio(acc_sum[:, use].sum(1), acc_n[:, use].sum(1))
        jit_sm = ratio(total(sums.acc_sm_sum)[:, use].sum(1), total(sums.acc_sm_n)[:, use].sum(1))
        bone_w = np.where(sums.bone_n >= 2, sums.bone_n, 0).astype(np.float64)
        cv = wmean(sums.bone_std / sums.bone_mean, bone_w)  # a CV needs two samples; a length needs one
        len_w = sums.bone_n.astype(np.float64)
        blen = wmean(sums.bone_mean, len_w)
        li, ri = [p[1] for p in LIMB_PAIRS], [p[2] for p in LIMB_PAIRS]
        ml, mr = sums.bone_mean[:, li], sums.bone_mean[:, ri]
        asym = wmean(np.abs(ml - mr) / ((ml + mr) / 2), np.minimum(len_w[:, li], len_w[:, ri]))
        nv = sums.n_valid.astype(np.float64)
        rz, ext = wmean(sums.root_z_std, nv)[:, 0], wmean(sums.extent_mean, nv)[:, 0]
        rjit = ratio(total(sums.root_acc_sum)[:, 0], total(sums.root_acc_n)[:, 0])
        vis = ratio(valid, frames)
        mean_bone, cv_mean, asym_mean = nanmean(blen), nanmean(cv), nanmean(asym)
    lat = np.asarray(latency_ms if latency_ms is not None else [], np.float64)
    lat = lat[np.isfinite(lat)]
    lat_mean = float(lat.mean()) if lat.size else float("nan")
    lat_p95 = _p95(lat)
    names, jnames = H36M18.names, [H36M18.names[j] for j in use]
    out = []
    for i, (tid, _) in enumerate(groups):
        reason = degenerate_reason(float(mean_bone[i]), float(ext[i]))
        out.append(ModelStats(
            name=name, track_id=tid, joint_set=joint_set, mapped=mapped, joints=list(jnames), frames=int(frames[i]),
            valid_frames=int(valid[i]), visibility=float(vis[i]), jitter_mm_s2=float(jit[i]),
            jitter_smoothed_mm_s2=float(jit_sm[i]), jitter_per_joint={names[j]: float(jpj[i, j]) for j in use},
            bone_length_mm=dict(zip(BONE_NAMES, blen[i].tolist(), strict=True)),
            bone_cv=dict(zip(BONE_NAMES, cv[i].tolist(), strict=True)), bone_cv_mean=float(cv_mean[i]),
            mean_bone_mm=float(mean_bone[i]),
            asymmetry=dict(zip((p[0] for p in LIMB_PAIRS), asym[i].tolist(), strict=True)),
            asymmetry_mean=float(asym_mean[i]), root_z_std_mm=float(rz[i]), root_z_jitter_mm_s2=float(rjit[i]),
            extent_mm=float(ext[i]), latency_mean_ms=lat_mean, latency_p95_ms=lat_p95, degenerate=bool(reason),
            degenerate_reason=reason, trained=trained, label=label or name))
    return out


def summarise(sums: TrackSums, *, tracks: np.ndarray | None = None, track_id: int | None = None,
              **kw: Any) -> ModelStats:
    """``ModelStats`` over the tracks ``tracks`` (indices into S; None = all, pooled), labelled ``track_id``;
    keywords as ``summarise_many``."""
    return summarise_many(sums, [(track_id, tracks)], **kw)[0]
