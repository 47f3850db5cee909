"""Causal smoothing of live poses: the One Euro filter (Casiez, Roussel, Vogel, CHI 2012), vectorised over joints.

The cutoff adapts to speed: ``cutoff = min_cutoff + beta * |speed|``, so a still person is smoothed hard (low jitter)
and a fast one lightly (low lag). Timestamps are the frames' capture times, so dropped frames are handled correctly.

Chosen defaults (``DEFAULT_POSE``): min_cutoff 1.0 Hz, beta 0.7, d_cutoff 1.0 Hz, with speeds measured in scaled
units: metres per second for 3D (``scale=1000`` on mm) and hundreds of pixels per second for 2D (``scale=100``).
In raw units that is beta = 0.0007 per mm/s and 0.007 per px/s, the latter being Casiez et al.'s own pointer
setting. A person still -> 1 Hz cutoff (~160 ms time constant on drift, strong jitter removal); walking at 1 m/s ->
1.7 Hz; a hand at 3 m/s -> 3.1 Hz (~50 ms). Sports2D's (cutoff 4.0, beta 1.5, d_cutoff 1.0) is lighter smoothing;
pass it as ``OneEuroParams(4.0, 1.5, 1.0)`` when lag matters more than jitter.

Root depth from RootNet is far noisier than the pose (about 100 mm in z on Human3.6M), so ``DEFAULT_ROOT_DEPTH`` is
heavier: min_cutoff 0.5 Hz, beta 0.3 (per m/s).

State is kept per track id and dropped as soon as the track is missing from a frame (reset on track loss), so a
re-appearing id starts fresh instead of being pulled towards a stale position. Untracked persons (id < 0) pass
through unsmoothed: without identity there is nothing to filter against.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OneEuroParams:
    min_cutoff: float = 1.0  # Hz
    beta: float = 0.7  # per (scaled unit / s)
    d_cutoff: float = 1.0  # Hz, for the speed estimate

    def __post_init__(self) -> None:
        if self.min_cutoff <= 0 or self.d_cutoff <= 0 or self.beta < 0:
            raise ValueError(f"One Euro parameters must be positive (beta >= 0): {self}")


DEFAULT_POSE = OneEuroParams(1.0, 0.7, 1.0)
DEFAULT_ROOT_DEPTH = OneEuroParams(0.5, 0.3, 1.0)
SPORTS2D = OneEuroParams(4.0, 1.5, 1.0)
SCALE_MM = 1000.0  # 3D speeds in m/s
SCALE_PX = 100.0  # 2D speeds in 100 px/s


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """One array-valued signal (any shape; each element filtered independently)."""

    def __init__(self, params: OneEuroParams = DEFAULT_POSE, scale: float = 1.0) -> None:
        self.params = params
        self.scale = float(scale)
        self.reset()

    def reset(self) -> None:
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64) / self.scale
        if self._x is None or self._x.shape != x.shape or not np.all(np.isfinite(x)) or self._t is None:
            return self._restart(x, t)
        dt = t - self._t
        if dt <= 0:  # same or older timestamp: nothing new to integrate
            return self._x * self.scale
        p = self.params
        dx = (x - self._x) / dt
        a_d = _alpha(p.d_cutoff, dt)
        dx_hat = a_d * dx + (1.0 - a_d) * self._dx
        a = _alpha(p.min_cutoff + p.beta * np.abs(dx_hat), dt)
        x_hat = a * x + (1.0 - a) * self._x
        self._x, self._dx, self._t = x_hat, dx_hat, t
        return x_hat * self.scale

    @property
    def value(self) -> np.ndarray | None:
        """The latest filtered value in the caller's units (None before the first sample)."""
        return None if self._x is None else self._x * self.scale

    def _restart(self, x: np.ndarray, t: float) -> np.ndarray:
        if np.all(np.isfinite(x)):
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t
        else:
            self.reset()
        return x * self.scale


class TrackFilters:
    """``OneEuroFilter`` per track id for one signal; ids missing from an update are forgotten."""

    def __init__(self, params: OneEuroParams = DEFAULT_POSE, scale: float = 1.0) -> None:
        self.params = params
        self.scale = scale
        self._filters: dict[int, OneEuroFilter] = {}

    def update(self, track_ids: Sequence[int] | np.ndarray, values: np.ndarray, t: float) -> np.ndarray:
        """``values`` [P, ...] in the order of ``track_ids`` -> smoothed [P, ...] (float64)."""
        values = np.asarray(values, dtype=np.float64)
        ids = [int(i) for i in track_ids]
        if len(ids) != len(values):
            raise ValueError(f"{len(ids)} track ids for {len(values)} persons")
        out = values.copy()
        seen: set[int] = set()
        for k, tid in enumerate(ids):
            if tid < 0 or tid in seen:  # untracked, or a duplicate id in one frame: cannot be filtered
                continue
            seen.add(tid)
            f = self._filters.get(tid)
            if f is None:
                f = self._filters[tid] = OneEuroFilter(self.params, self.scale)
            out[k] = f(values[k], t)
        for tid in list(self._filters):
            if tid not in seen:
                del self._filters[tid]
        return out

    def reset(self) -> None:
        self._filters.clear()

    def keep_only(self, track_ids: Sequence[int] | np.ndarray) -> None:
        """Forget every track not in ``track_ids`` (for frames where the signal was not measured)."""
        keep = {int(i) for i in track_ids}
        for tid in list(self._filters):
            if tid not in keep:
                del self._filters[tid]

    def last(self, track_id: int) -> np.ndarray | None:
        """The latest filtered value of a track (None when unknown)."""
        f = self._filters.get(int(track_id))
        return None if f is None else f.value

    @property
    def track_ids(self) -> list[int]:
        return sorted(self._filters)


@dataclass
class SmoothedPose:
    joints_2d: np.ndarray  # [P,J,2] px
    joints_rel_mm: np.ndarray  # [P,J,3]
    joints_cam_mm: np.ndarray  # [P,J,3] = smoothed root position + smoothed root-relative pose


class PoseSmoother:
    """Smooths one model's poses per track: 2D pixels, root-relative 3D and the root position separately (so the
    absolute pose is root + pose, and the root can be filtered without blurring the limbs)."""

    def __init__(self, root_index: int, params: OneEuroParams = DEFAULT_POSE) -> None:
        self.root_index = root_index
        self._f2d = TrackFilters(params, SCALE_PX)
        self._frel = TrackFilters(params, SCALE_MM)
        self._froot = TrackFilters(params, SCALE_MM)

    def update(self, track_ids: Sequence[int] | np.ndarray, joints_2d: np.ndarray, joints_rel_mm: np.ndarray,
               joints_cam_mm: np.ndarray, t: float) -> SmoothedPose:
        s2d = self._f2d.update(track_ids, joints_2d, t)
        srel = self._frel.update(track_ids, joints_rel_mm, t)
        root = np.asarray(joints_cam_mm, dtype=np.float64)[:, self.root_index, :] if len(joints_cam_mm) else \
            np.zeros((0, 3))
        sroot = self._froot.update(track_ids, root, t)
        scam = srel + sroot[:, None, :]
        return SmoothedPose(s2d.astype(np.float32), srel.astype(np.float32), scam.astype(np.float32))

    def reset(self) -> None:
        for f in (self._f2d, self._frel, self._froot):
            f.reset()
