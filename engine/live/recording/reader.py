"""Reading a live recording back (also one cut short by a crash: everything up to the last flush); the file layout
is described in ``engine.live.recording.format``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from engine.live.recording.format import FORMAT, JOINT_FIELDS, RecordingError

__all__ = ["RecordedModel", "Recording", "load_recording"]


@dataclass
class RecordedModel:
    name: str
    joint_set: str
    joint_names: list[str]
    root_index: int
    trained: bool
    label: str
    sha256: str
    raw: dict[str, np.ndarray]  # joints_2d / joints_rel_mm / joints_cam_mm: [N,M,J,d]
    smoothed: dict[str, np.ndarray]


@dataclass
class Recording:
    path: Path
    attrs: dict[str, Any]
    frame_id: np.ndarray
    capture_ts: np.ndarray
    media_ts: np.ndarray
    result_ts: np.ndarray
    num_persons: np.ndarray
    boxes: np.ndarray
    track_ids: np.ndarray
    root_cam_mm: np.ndarray
    intrinsics: np.ndarray
    latency_ms: dict[str, np.ndarray]
    models: dict[str, RecordedModel]

    def __len__(self) -> int:
        return len(self.frame_id)

    def times(self) -> np.ndarray:
        """Seconds from the first frame: the media clock for files (so processing speed does not distort it),
        else the capture clock."""
        t = self.media_ts if len(self.media_ts) and np.all(np.isfinite(self.media_ts)) else self.capture_ts
        return t - t[0] if len(t) else t


def _attr(v: Any) -> Any:
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, str) and v[:1] in "[{":
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v.item() if isinstance(v, np.generic) else v


def load_recording(path: str | Path) -> Recording:
    """Read a recording (also one cut short by a crash: everything up to the last flush)."""
    p = Path(path)
    if not p.is_file():
        raise RecordingError(f"{p}: no such recording")
    try:
        with h5py.File(p, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise RecordingError(f"{p}: not a PoseArena live recording (format attribute "
                                     f"{f.attrs.get('format')!r})")
            n = f["frames/frame_id"].shape[0]

            def arr(name: str) -> np.ndarray:
                return f[name][:n]

            models = {}
            for name in _attr(f.attrs["models"]):
                g = f[f"models/{name}"]
                models[name] = RecordedModel(
                    name, _attr(g.attrs["joint_set"]), _attr(g.attrs["joint_names"]), int(g.attrs["root_index"]),
                    bool(g.attrs["trained"]), _attr(g.attrs["label"]), _attr(g.attrs["sha256"]),
                    {fld: g[f"raw/{fld}"][:n] for fld, _ in JOINT_FIELDS},
                    {fld: g[f"smoothed/{fld}"][:n] for fld, _ in JOINT_FIELDS})
            return Recording(p, {k: _attr(v) for k, v in f.attrs.items()}, arr("frames/frame_id"),
                             arr("frames/capture_ts"), arr("frames/media_ts"), arr("frames/result_ts"),
                             arr("frames/num_persons"),
                             arr("frames/boxes"), arr("frames/track_ids"), arr("frames/root_cam_mm"),
                             arr("frames/intrinsics"), {k: v[:n] for k, v in f["latency_ms"].items()}, models)
    except (OSError, KeyError) as e:
        raise RecordingError(f"{p}: unreadable recording ({e})") from e
