"""HDF5 recording of a live session: per frame timestamps, boxes, track ids, every model's joints (raw and smoothed)
and latencies, plus what is needed to trust the numbers later (models, checkpoint sha256s, trained flags, intrinsics,
source, software versions, start time).

Layout (N frames, M = ``max_persons`` slots; persons beyond M are dropped and counted in ``persons_truncated``):
    /frames/{frame_id [N] i8, capture_ts [N] f8, media_ts [N] f8 (NaN for live sources), result_ts [N] f8,
             num_persons [N] i2, boxes [N,M,4] f4 (xywh, NaN padded), track_ids [N,M] i8 (-1 padded),
             root_cam_mm [N,M,3] f4, intrinsics [N,4] f4 (fx, fy, cx, cy)}
    /latency_ms/<stage> [N] f4 (NaN where the stage did not run; "end_to_end" = capture -> result)
    /models/<name>/{raw,smoothed}/{joints_2d [N,M,J,2], joints_rel_mm [N,M,J,3], joints_cam_mm [N,M,J,3]} f4
Timestamps are ``time.monotonic()`` seconds; ``start_time`` (ISO 8601) and ``start_monotonic`` relate them to wall
time.

Crash safety: frames are buffered for at most ``flush_interval_s`` (1 s) and then written and ``flush()``ed, so a
killed process loses at most the last second; the file is written in place (not temp + rename, which would lose
everything on a kill), and the root attribute ``complete`` becomes true only on a clean ``close()``.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np

FORMAT = "posearena-live-recording"
VERSION = 1
JOINT_FIELDS = (("joints_2d", 2), ("joints_rel_mm", 3), ("joints_cam_mm", 3))
KINDS = ("raw", "smoothed")
CHUNK = 64


class RecordingError(Exception):
    """A recording that cannot be written or read; the message names the file."""


def software_versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("posearena", "numpy", "h5py", "torch", "opencv-python", "ultralytics"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


@dataclass
class _Row:
    frame_id: int
    capture_ts: float
    media_ts: float
    result_ts: float
    n: int
    boxes: np.ndarray
    track_ids: np.ndarray
    root: np.ndarray
    intrinsics: np.ndarray
    latency: dict[str, float]
    joints: dict[tuple[str, str, str], np.ndarray] = field(default_factory=dict)


def _float(v: Any) -> float:
    return float("nan") if v is None else float(v)


def _pad(a: Any, m: int, tail: tuple[int, ...], fill: float, dtype: Any) -> np.ndarray:
    out = np.full((m, *tail), fill, dtype)
    if a is None:
        return out
    a = np.asarray(a)
    k = min(len(a), m)
    if k:
        out[:k] = a[:k].reshape(k, *tail)
    return out


class LiveRecorder:
    """Appends ``LiveResult``s (duck-typed: see ``write``) to an HDF5 file."""

    def __init__(self, path: str | Path, models: Sequence[Any], *, max_persons: int = 8,
                 attrs: Mapping[str, Any] | None = None, flush_interval_s: float = 1.0) -> None:
        self.path = Path(path)
        self.models = list(models)
        self.max_persons = int(max_persons)
        self.flush_interval_s = float(flush_interval_s)
        self.frames_written = 0
        self.persons_truncated = 0
        self._rows: list[_Row] = []
        self._last_flush = time.monotonic()
        self._lat_stages: list[str] = []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._f = h5py.File(self.path, "w")
        except OSError as e:
            raise RecordingError(f"{self.path}: cannot create the recording ({e})") from e
        self._create(attrs or {})

    # -- layout ----------------------------------------------------------------------------------------------------
    def _ds(self, name: str, tail: tuple[int, ...], dtype: Any, fill: Any) -> None:
        self._f.create_dataset(name, shape=(0, *tail), maxshape=(None, *tail), dtype=dtype,
                               chunks=(CHUNK, *tail), fillvalue=fill)

    def _create(self, attrs: Mapping[str, Any]) -> None:
        f, m = self._f, self.max_persons
        now = datetime.now(UTC)
        base = {
            "format": FORMAT, "version": VERSION, "start_time": now.isoformat(), "start_monotonic": time.monotonic(),
            "max_persons": m, "complete": False, "frames": 0, "persons_truncated": 0,
            "clock": "time.monotonic() seconds", "models": json.dumps([mi.name for mi in self.models]),
            "software": json.dumps(software_versions()),
            "smoothed_note": ("'smoothed' = causal One Euro filter per track (engine/smoothing.py); "
                              "'raw' = as predicted"),
        }
        for k, v in {**base, **attrs}.items():
            f.attrs[k] = v if isinstance(v, str | int | float | bool | np.number) else json.dumps(v)
        self._ds("frames/frame_id", (), np.int64, -1)
        self._ds("frames/capture_ts", (), np.float64, np.nan)
        self._ds("frames/media_ts", (), np.float64, np.nan)
        self._ds("frames/result_ts", (), np.float64, np.nan)
        self._ds("frames/num_persons", (), np.int16, 0)
        self._ds("frames/boxes", (m, 4), np.float32, np.nan)
        self._ds("frames/track_ids", (m,), np.int64, -1)
        self._ds("frames/root_cam_mm", (m, 3), np.float32, np.nan)
        self._ds("frames/intrinsics", (4,), np.float32, np.nan)
        f.create_group("latency_ms")
        for mi in self.models:
            g = f.create_group(f"models/{mi.name}")
            g.attrs["joint_set"] = mi.joint_set
            g.attrs["joint_names"] = json.dumps(list(mi.joint_names))
            g.attrs["root_index"] = int(mi.root_index)
            g.attrs["trained"] = bool(mi.trained)
            g.attrs["label"] = mi.label
            g.attrs["sha256"] = mi.sha256 or ""
            g.attrs["checkpoint"] = str(mi.checkpoint or "")
            for kind in KINDS:
                for fld, d in JOINT_FIELDS:
                    self._ds(f"models/{mi.name}/{kind}/{fld}", (m, mi.num_joints, d), np.float32, np.nan)
        f.flush()

    # -- writing ---------------------------------------------------------------------------------------------------
    def write(self, result: Any) -> None:
        """Buffer one result (fields: frame_id, capture_ts, result_ts, boxes, track_ids, root_cam_mm, intrinsics,
        latencies_ms, outputs {name: .joints_*}, smoothed {name: .joints_*}); writes+flushes once a second."""
        m = self.max_persons
        n = len(result.boxes)
        if n > m:
            self.persons_truncated += n - m
        k = self.models
        intr = result.intrinsics
        row = _Row(
            int(result.frame_id), float(result.capture_ts), _float(getattr(result, "media_ts", None)),
            float(result.result_ts), min(n, m),
            _pad(result.boxes, m, (4,), np.nan, np.float32), _pad(result.track_ids, m, (), -1, np.int64),
            _pad(result.root_cam_mm, m, (3,), np.nan, np.float32),
            np.array([intr.fx, intr.fy, intr.cx, intr.cy] if intr is not None else [np.nan] * 4, np.float32),
            {s: float(v) for s, v in result.latencies_ms.items()},
        )
        for mi in k:
            for kind, src in (("raw", result.outputs), ("smoothed", result.smoothed)):
                out = src.get(mi.name) if src else None
                for fld, d in JOINT_FIELDS:
                    row.joints[(mi.name, kind, fld)] = _pad(getattr(out, fld, None), m, (mi.num_joints, d), np.nan,
                                                            np.float32)
        self._rows.append(row)
        self.maybe_flush()

    def maybe_flush(self) -> None:
        """Write buffered frames if the flush interval has passed (the engine also calls this when idle)."""
        if self._rows and time.monotonic() - self._last_flush >= self.flush_interval_s:
            self.flush()

    def flush(self) -> None:
        rows, self._rows = self._rows, []
        self._last_flush = time.monotonic()
        if rows:
            self._append(rows)
        self._f.attrs["frames"] = self.frames_written
        self._f.attrs["persons_truncated"] = self.persons_truncated
        self._f.flush()

    def _append_ds(self, name: str, data: np.ndarray) -> None:
        ds = self._f[name]
        start = ds.shape[0]
        ds.resize(start + len(data), axis=0)
        ds[start:] = data

    def _append(self, rows: list[_Row]) -> None:
        n0 = self.frames_written
        self._append_ds("frames/frame_id", np.array([r.frame_id for r in rows], np.int64))
        self._append_ds("frames/capture_ts", np.array([r.capture_ts for r in rows], np.float64))
        self._append_ds("frames/media_ts", np.array([r.media_ts for r in rows], np.float64))
        self._append_ds("frames/result_ts", np.array([r.result_ts for r in rows], np.float64))
        self._append_ds("frames/num_persons", np.array([r.n for r in rows], np.int16))
        self._append_ds("frames/boxes", np.stack([r.boxes for r in rows]))
        self._append_ds("frames/track_ids", np.stack([r.track_ids for r in rows]))
        self._append_ds("frames/root_cam_mm", np.stack([r.root for r in rows]))
        self._append_ds("frames/intrinsics", np.stack([r.intrinsics for r in rows]))
        stages = list(dict.fromkeys(self._lat_stages + [s for r in rows for s in r.latency]))
        for s in stages:
            name = f"latency_ms/{s}"
            if name not in self._f:
                self._ds(name, (), np.float32, np.nan)
                self._f[name].resize(n0, axis=0)  # earlier frames: NaN (stage did not exist yet)
                self._lat_stages.append(s)
            self._append_ds(name, np.array([r.latency.get(s, np.nan) for r in rows], np.float32))
        for key in rows[0].joints:
            name, kind, fld = key
            self._append_ds(f"models/{name}/{kind}/{fld}", np.stack([r.joints[key] for r in rows]))
        self.frames_written += len(rows)

    def close(self) -> None:
        if not self._f.id.valid:
            return
        self.flush()
        self._f.attrs["complete"] = True
        self._f.close()

    def __enter__(self) -> LiveRecorder:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# -- reading ---------------------------------------------------------------------------------------------------------
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
