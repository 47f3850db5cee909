"""Live comparison: a bounded rolling window fed once per frame, summarised on demand.

Why a ring buffer and not a deque of per-frame dicts: ``update`` runs on the live thread every frame, so it must
be a handful of array assignments (one slot per frame, one column per track, joints already mapped to H36M18);
``snapshot`` (GUI: about twice a second) then sees contiguous [T, S, 18, 3] arrays and computes every measure for
all tracks at once. The window is the last ``window_frames`` frames, further cut to the last ``window_s`` seconds.
Tracks not seen for a whole window give their column back.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from engine.compare.skeleton import MapFn
from engine.compare.snapshot import (
    ComparedModel,
    ModelDesc,
    Snapshot,
    Stream,
    build_snapshot,
    describe_model,
    window_sums,
)
from models.joints import H36M18

if TYPE_CHECKING:
    from engine.inference.records import ModelOutput

__all__ = ["CompareAccumulator", "FrameResult", "ModelFrame"]

_J = H36M18.num_joints


@dataclass
class ModelFrame:
    """One model's output for one frame: P persons in the model's own joint set."""

    track_ids: np.ndarray | Sequence[int]  # [P] (-1 = untracked: followed by its position in the frame)
    joints_cam_mm: np.ndarray  # [P, J, 3]
    joints_2d: np.ndarray  # [P, J, 2]
    smoothed_cam_mm: np.ndarray | None = None  # [P, J, 3]
    latency_ms: float | None = None


class FrameResult(Protocol):
    """What ``update_from_result`` reads of a live frame's result (``engine.live.results.LiveResult``, which this
    room may not import); its ``smoothed`` poses are read when it has them."""

    @property
    def capture_ts(self) -> float: ...

    @property
    def track_ids(self) -> np.ndarray: ...

    @property
    def outputs(self) -> Mapping[str, ModelOutput]: ...

    @property
    def latencies_ms(self) -> Mapping[str, float]: ...


def _keys(ids: np.ndarray | Sequence[int]) -> list[int]:
    """Track keys: the id, or -1 - position for untracked persons (so two untracked persons stay apart)."""
    return [int(t) if int(t) >= 0 else -1 - i for i, t in enumerate(np.asarray(ids, np.int64).reshape(-1))]


class CompareAccumulator:
    """Rolling-window comparison of several models (see the module docstring)."""

    def __init__(self, models: Sequence[ModelDesc | ComparedModel], *, window_frames: int = 120,
                 window_s: float | None = 4.0, mappings: Mapping[str, MapFn] | None = None, include_approx: bool = True,
                 per_track: bool = True, rigid_samples: int | None = 32) -> None:
        """``models``: ``ModelDesc`` / ``ModelInfo``-like objects; ``mappings``: name -> function mapping that
        model's joints to H36M18 (for joint sets without a table, e.g. BlazePose 33); ``rigid_samples``: the
        rigid-aligned agreement of a pair is estimated on at most that many evenly spaced samples of the window
        (one SVD each: the costliest part of a snapshot; None = all)."""
        if window_frames < 3:
            raise ValueError("window_frames must be at least 3 (jitter needs three frames)")
        maps = dict(mappings or {})
        self.descs: list[ModelDesc] = [describe_model(m, to_h36m=maps.get(getattr(m, "name", "")),
                                                      include_approx=include_approx) for m in models]
        names = [d.name for d in self.descs]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate model names: {names}")
        self.window_frames = int(window_frames)
        self.window_s = window_s
        self.per_track = per_track
        self.rigid_samples = rigid_samples
        self._frames = 0
        self._t = np.full(self.window_frames, np.nan)
        self._cols: dict[int, int] = {}  # track key -> column
        self._last: np.ndarray = np.zeros(0, np.int64)  # [S] frame counter when the column was last written
        self._present = np.zeros((self.window_frames, 0), bool)
        self._cam: dict[str, np.ndarray] = {}
        self._sm: dict[str, np.ndarray] = {}
        self._px: dict[str, np.ndarray] = {}
        self._lat = {d.name: np.full(self.window_frames, np.nan) for d in self.descs}
        self._grow(4)

    @property
    def frames(self) -> int:
        """Frames fed so far (the window holds at most ``window_frames`` of them)."""
        return self._frames

    def reset(self) -> None:
        """Forget everything (a new source, or the model set changed)."""
        self.__init__(self.descs, window_frames=self.window_frames, window_s=self.window_s,  # type: ignore[misc]
                      per_track=self.per_track, rigid_samples=self.rigid_samples)

    # -- storage ---------------------------------------------------------------------------------------------------
    def _grow(self, s_new: int) -> None:
        w, s_old = self.window_frames, self._present.shape[1]

        def grow(a: np.ndarray | None, tail: tuple[int, ...], fill: float | bool) -> np.ndarray:
            out = np.full((w, s_new, *tail), fill, dtype=bool if isinstance(fill, bool) else np.float64)
            if a is not None:
                out[:, :s_old] = a
            return out

        self._present = grow(self._present, (), False)
        for d in self.descs:
            self._cam[d.name] = grow(self._cam.get(d.name), (_J, 3), np.nan)
            self._sm[d.name] = grow(self._sm.get(d.name), (_J, 3), np.nan)
            self._px[d.name] = grow(self._px.get(d.name), (_J, 2), np.nan)
        self._last = np.concatenate([self._last, np.full(s_new - s_old, -(10 ** 9), np.int64)])

    def _column(self, key: int) -> int:
        col = self._cols.get(key)
        if col is not None:
            return col
        used = set(self._cols.values())
        free = [c for c in range(len(self._last)) if c not in used]
        if not free:
            free = [len(self._last)]
            self._grow(2 * len(self._last))
        col = free[0]
        self._present[:, col] = False  # a reused column: forget its previous track
        for d in self.descs:
            self._cam[d.name][:, col] = np.nan
            self._sm[d.name][:, col] = np.nan
            self._px[d.name][:, col] = np.nan
        self._cols[key] = col
        return col

    # -- feeding ---------------------------------------------------------------------------------------------------
    def update(self, t: float, frame: Mapping[str, ModelFrame | None]) -> None:
        """Add one frame at time ``t`` (seconds, monotonic) with each model's output (missing/None: no poses)."""
        slot = self._frames % self.window_frames
        self._frames += 1
        stale = [k for k, c in self._cols.items() if self._last[c] <= self._frames - 1 - self.window_frames]
        for k in stale:
            del self._cols[k]
        self._t[slot] = float(t)
        self._present[slot] = False
        for d in self.descs:
            self._cam[d.name][slot] = np.nan
            self._sm[d.name][slot] = np.nan
            self._px[d.name][slot] = np.nan
            mf = frame.get(d.name)
            self._lat[d.name][slot] = np.nan if mf is None or mf.latency_ms is None else float(mf.latency_ms)
            if mf is None or len(mf.track_ids) == 0:
                continue
            cols = np.array([self._column(k) for k in _keys(mf.track_ids)], np.int64)
            ad = d.adapter
            self._cam[d.name][slot, cols] = ad(mf.joints_cam_mm)
            self._px[d.name][slot, cols] = ad(mf.joints_2d)
            if mf.smoothed_cam_mm is not None:
                self._sm[d.name][slot, cols] = ad(mf.smoothed_cam_mm)
            self._present[slot, cols] = True
            self._last[cols] = self._frames - 1

    def update_from_result(self, result: FrameResult, t: float | None = None) -> None:
        """Feed an ``engine.live.engine.LiveResult`` (duck-typed: capture_ts, track_ids, outputs, smoothed,
        latencies_ms; model latency = ``latencies_ms[model name]``) at time ``t`` (default: its capture time)."""
        frame: dict[str, ModelFrame | None] = {}
        smoothed = getattr(result, "smoothed", None) or {}
        for d in self.descs:
            out = result.outputs.get(d.name) if result.outputs else None
            if out is None:
                frame[d.name] = None
                continue
            sm = smoothed.get(d.name)
            frame[d.name] = ModelFrame(result.track_ids, out.joints_cam_mm, out.joints_2d,
                                       None if sm is None else sm.joints_cam_mm,
                                       result.latencies_ms.get(d.name))
        self.update(float(result.capture_ts if t is None else t), frame)

    def frozen(self) -> CompareAccumulator:
        """A copy of the current window (its arrays copied: microseconds) whose ``snapshot()`` can run outside the
        lock that guards ``update``, so a snapshot never holds up the thread feeding frames."""
        c = copy.copy(self)
        c._t, c._last, c._present = self._t.copy(), self._last.copy(), self._present.copy()
        c._cols = dict(self._cols)
        for name in ("_cam", "_sm", "_px", "_lat"):
            setattr(c, name, {k: v.copy() for k, v in getattr(self, name).items()})
        return c

    # -- reading ---------------------------------------------------------------------------------------------------
    def _order(self) -> np.ndarray:
        w, n = self.window_frames, self._frames
        idx = np.arange(n) if n < w else (np.arange(w) + n) % w
        if self.window_s is not None and len(idx):
            t = self._t[idx]
            idx = idx[t >= t[-1] - float(self.window_s)]
        return idx

    def snapshot(self) -> Snapshot:
        """The measures over the current window (plain dataclasses; ``.to_dict()`` for JSON)."""
        idx = self._order()
        keys = sorted(self._cols)
        cols = np.array([self._cols[k] for k in keys], np.int64)
        times = self._t[idx]
        present = self._present[np.ix_(idx, cols)]
        ix = np.ix_(idx, cols)
        streams = {d.name: Stream(self._cam[d.name][ix], self._px[d.name][ix], self._sm[d.name][ix])
                   for d in self.descs}
        sums, pairs = window_sums(self.descs, times, present, streams, np.array(keys, np.int64),
                                  rigid_samples=self.rigid_samples)
        lat = {d.name: self._lat[d.name][idx] for d in self.descs}
        t0, t1 = (float(times[0]), float(times[-1])) if len(times) else (float("nan"), float("nan"))
        return build_snapshot(self.descs, sums, pairs, lat, frames=len(idx), t_start=t0, t_end=t1,
                              per_track=self.per_track)
