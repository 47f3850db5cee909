"""Offline comparison of a whole live recording (``engine.live.recording``): the same measures as the live window,
over every frame, plus optional fixed-size windows and the bone-length series the plots draw.

Why one track at a time: a long recording can hold many track ids; a dense [frames, tracks, 18, 3] array per model
would grow with their product, while per-track blocks stay [frames, 1, 18, 3] and their sums simply add up.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from engine.compare.agreement import PairSums
from engine.compare.metrics import TrackSums
from engine.compare.skeleton import BONE_NAMES, BONES, LIMB_PAIRS, MEASURE_JOINTS, MapFn
from engine.compare.snapshot import ModelDesc, Snapshot, Stream, build_snapshot, describe_model, json_clean, window_sums
from engine.live.recording.reader import Recording, load_recording
from models.joints import H36M18

__all__ = ["SCHEMA", "compare_recording", "recording_snapshot"]

SCHEMA = "posearena-compare/1"
MAX_SERIES_POINTS = 600  # bone-length series per model in compare.json: enough for a plot, bounded in size


def _track_keys(rec: Recording) -> tuple[np.ndarray, np.ndarray]:
    """[N, M] keys (id, or -1 - slot for untracked persons) and [N, M] occupied mask."""
    n, m = rec.track_ids.shape
    occupied = np.arange(m)[None, :] < rec.num_persons.astype(np.int64)[:, None]
    keys = np.where(rec.track_ids >= 0, rec.track_ids, -1 - np.arange(m)[None, :])
    return keys, occupied


def _mapped(rec: Recording, descs: list[ModelDesc], kind: str, field: str) -> dict[str, np.ndarray]:
    return {d.name: d.adapter(getattr(rec.models[d.name], kind)[field]) for d in descs}


def _block(rec: Recording, descs: list[ModelDesc], frames: np.ndarray, arrays: Mapping[str, Mapping[str, np.ndarray]],
           keys: np.ndarray, occupied: np.ndarray) -> tuple[dict[str, TrackSums], dict[tuple[str, str], PairSums]]:
    """Sums over the frames ``frames`` (indices), one track at a time, added up."""
    times = rec.times()[frames]
    k, occ = keys[frames], occupied[frames]
    sub = {kind: {d.name: arrays[kind][d.name][frames] for d in descs} for kind in ("cam", "sm", "px")}
    rows = np.arange(len(frames))
    track_keys = np.unique(k[occ])
    if not len(track_keys):  # no persons at all: empty sums
        empty = {d.name: Stream(np.full((len(frames), 0, 18, 3), np.nan), np.full((len(frames), 0, 18, 2), np.nan))
                 for d in descs}
        return window_sums(descs, times, np.zeros((len(frames), 0), bool), empty, np.zeros(0, np.int64))
    parts: dict[str, list[TrackSums]] = {d.name: [] for d in descs}
    pairs: dict[tuple[str, str], PairSums] = {}
    for key in track_keys:
        hit = occ & (k == key)
        slot = np.argmax(hit, axis=1)  # the slot holding this track in each frame (any, where absent)
        streams = {d.name: Stream(sub["cam"][d.name][rows, slot][:, None], sub["px"][d.name][rows, slot][:, None],
                                  sub["sm"][d.name][rows, slot][:, None]) for d in descs}
        sums, ps = window_sums(descs, times, hit.any(axis=1)[:, None], streams, np.array([key], np.int64))
        for name, v in sums.items():
            parts[name].append(v)
        for pk, v in ps.items():
            pairs[pk] = pairs[pk] + v if pk in pairs else v
    return {n: TrackSums.concat(p) for n, p in parts.items()}, pairs


def recording_snapshot(rec: Recording, descs: list[ModelDesc], frames: np.ndarray | None = None, *,
                       per_track: bool = True, arrays: Mapping[str, Mapping[str, np.ndarray]] | None = None
                       ) -> Snapshot:
    """A ``Snapshot`` over the given frames (default: all) of a loaded recording."""
    frames = np.arange(len(rec)) if frames is None else np.asarray(frames, np.int64)
    arrays = arrays or {"cam": _mapped(rec, descs, "raw", "joints_cam_mm"),
                        "sm": _mapped(rec, descs, "smoothed", "joints_cam_mm"),
                        "px": _mapped(rec, descs, "raw", "joints_2d")}
    keys, occupied = _track_keys(rec)
    sums, pairs = _block(rec, descs, frames, arrays, keys, occupied)
    lat = {d.name: np.asarray(rec.latency_ms[d.name], np.float64)[frames] for d in descs if d.name in rec.latency_ms}
    t = rec.times()[frames]
    return build_snapshot(descs, sums, pairs, lat, frames=len(frames),
                          t_start=float(t[0]) if len(t) else float("nan"),
                          t_end=float(t[-1]) if len(t) else float("nan"), per_track=per_track)


def _series(rec: Recording, descs: list[ModelDesc], cam: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Bone lengths over time for the track seen most (downsampled), per model."""
    keys, occupied = _track_keys(rec)
    if not occupied.any():
        return {"track_id": None, "times": [], "bone_length_mm": {}}
    vals, counts = np.unique(keys[occupied], return_counts=True)
    key = int(vals[np.argmax(counts)])
    hit = occupied & (keys == key)
    rows = np.flatnonzero(hit.any(axis=1))
    rows = rows[np.linspace(0, len(rows) - 1, min(len(rows), MAX_SERIES_POINTS)).round().astype(int)]
    slot = np.argmax(hit[rows], axis=1)
    a_idx, b_idx = [a for a, _ in BONES], [b for _, b in BONES]
    out: dict[str, Any] = {"track_id": key, "times": rec.times()[rows], "bone_length_mm": {}}
    for d in descs:
        x = cam[d.name][rows, slot]
        out["bone_length_mm"][d.name] = np.linalg.norm(x[:, a_idx] - x[:, b_idx], axis=-1)  # [K, 16]
    return out


def compare_recording(path_or_recording: str | Path | Recording, window: int | None = None, *,
                      mappings: Mapping[str, MapFn] | None = None, include_approx: bool = True) -> dict[str, Any]:
    """Every measure over a whole recording -> a plain JSON-able dict (schema ``SCHEMA``).

    ``window``: also compute them over consecutive windows of that many frames (``windows``: how steadiness and
    agreement change through the recording). ``mappings``: model name -> joints-to-H36M18 function for joint sets
    without a table."""
    rec = path_or_recording if isinstance(path_or_recording, Recording) else load_recording(path_or_recording)
    maps = dict(mappings or {})
    descs = [describe_model(m, to_h36m=maps.get(name), include_approx=include_approx)
             for name, m in rec.models.items()]
    arrays = {"cam": _mapped(rec, descs, "raw", "joints_cam_mm"),
              "sm": _mapped(rec, descs, "smoothed", "joints_cam_mm"),
              "px": _mapped(rec, descs, "raw", "joints_2d")}
    overall = recording_snapshot(rec, descs, arrays=arrays)
    windows = []
    if window is not None:
        if window < 3:
            raise ValueError("window must be at least 3 frames")
        for start in range(0, len(rec), int(window)):
            frames = np.arange(start, min(start + int(window), len(rec)))
            if len(frames) < 3:
                continue
            snap = recording_snapshot(rec, descs, frames, per_track=False, arrays=arrays)
            windows.append({
                "start_frame": int(start), "frames": len(frames), "t_start": snap.t_start, "t_end": snap.t_end,
                "models": {n: {"jitter_mm_s2": s.jitter_mm_s2, "jitter_smoothed_mm_s2": s.jitter_smoothed_mm_s2,
                               "bone_cv_mean": s.bone_cv_mean, "visibility": s.visibility,
                               "degenerate": s.degenerate} for n, s in snap.stats.items()},
                "root_aligned_mm": snap.matrix["root_aligned_mm"],
            })
    t = rec.times()
    result = {
        "schema": SCHEMA,
        "source": {"path": str(rec.path), "frames": len(rec), "duration_s": float(t[-1] - t[0]) if len(t) else 0.0,
                   "complete": bool(rec.attrs.get("complete", False)), "start_time": rec.attrs.get("start_time"),
                   "source": rec.attrs.get("source")},
        "models": [{"name": d.name, "label": d.label, "trained": d.trained, "joint_set": d.adapter.joint_set,
                    "mapped": d.adapter.mapped, "joints": list(d.adapter.joint_names),
                    "approx_joints": [H36M18.names[j] for j in d.adapter.approx]} for d in descs],
        "conventions": {"joint_space": "h36m18", "measure_joints": [H36M18.names[j] for j in MEASURE_JOINTS],
                        "bones": list(BONE_NAMES), "limb_pairs": [p[0] for p in LIMB_PAIRS],
                        "clock": "media" if len(rec.media_ts) and np.all(np.isfinite(rec.media_ts)) else "capture"},
        "window_frames": window,
        "overall": overall.to_dict(),
        "windows": windows,
        "series": _series(rec, descs, arrays["cam"]),
    }
    return json_clean(result)
