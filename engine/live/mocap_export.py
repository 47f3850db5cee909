"""Export a live recording (engine/recording.py HDF5) to motion-capture text formats.

- CSV: one row per frame per person: frame id, time, track id, then x/y/z (or x/y for 2D) per joint.
- TRC: the OpenSim / biomechanics marker format (tab-separated, mm), one person (a track id; by default the one seen
  in most frames). TRC wants a constant rate: DataRate is the median frame rate of the recording and the Time column
  holds the real times (the file's own clock for video/image sources, else the capture clock). Frames where the
  person is missing have empty marker fields (OpenSim treats them as gaps). Axes: camera coordinates (x right,
  y down, z forward) are rotated 180° about x to OpenSim's y-up convention:
  (X, Y, Z) = (x, -y, -z) (a proper rotation, so the skeleton keeps its handedness).

Exporters register with ``@register_exporter``; files are written atomically (a unique temp file beside the output,
then os.replace), so a failed write (a full disk) leaves the previous output as it was and no temp file behind.
``export_recording`` refuses to replace an existing output unless ``overwrite=True``.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from engine.live.recording_format import RecordingError
from engine.live.recording_reader import Recording, load_recording
from models.fileio import atomic_write_text
from models.registry import Registry

FIELDS = ("joints_cam_mm", "joints_rel_mm", "joints_2d")
Exporter = Callable[..., Path]
_EXPORTERS: Registry[Exporter] = Registry("exporter")


class ExportError(Exception):
    """An export request that cannot be met; the message names the recording and what is wrong."""


def register_exporter(fmt: str):
    """Function decorator: ``fn(rec, out, **options) -> Path`` writes format ``fmt``."""
    return _EXPORTERS.register(fmt)


def export_formats() -> list[str]:
    return list(_EXPORTERS)


_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)})


def _write_atomic(out: Path, text: str) -> Path:
    """Write ``out`` atomically (models.fileio: a unique temp file in its folder, removed on failure); ExportError
    names the file."""
    try:
        atomic_write_text(out, text)
    except OSError as e:
        why = f"{e.strerror or e}" + (": disk full / file too large" if e.errno in _FULL_ERRNOS else "")
        kept = "; the previous file is unchanged" if out.exists() else ""
        raise ExportError(f"{out}: cannot write the export ({why}){kept}") from None
    return out


def _select(rec: Recording, model: str | None, kind: str, field: str) -> tuple[str, np.ndarray, list[str]]:
    if model is None:
        if len(rec.models) != 1:
            raise ExportError(f"{rec.path}: choose a model with --model (recorded: {', '.join(rec.models)})")
        model = next(iter(rec.models))
    if model not in rec.models:
        raise ExportError(f"{rec.path}: model {model!r} is not in the recording (recorded: {', '.join(rec.models)})")
    if kind not in ("raw", "smoothed"):
        raise ExportError(f"kind must be 'raw' or 'smoothed', got {kind!r}")
    if field not in FIELDS:
        raise ExportError(f"field must be one of {', '.join(FIELDS)}, got {field!r}")
    m = rec.models[model]
    return model, getattr(m, kind)[field], list(m.joint_names)


def _fmt(v: float) -> str:
    return "" if not np.isfinite(v) else f"{v:.3f}"


@register_exporter("csv")
def export_csv(rec: Recording | str | Path, out: str | Path, *, model: str | None = None, kind: str = "smoothed",
               field: str = "joints_cam_mm", track: int | None = None) -> Path:
    """All persons (or one ``track``), one row each per frame."""
    rec = rec if isinstance(rec, Recording) else load_recording(rec)
    model, data, names = _select(rec, model, kind, field)
    axes = "xy" if data.shape[-1] == 2 else "xyz"
    t = rec.times()
    header = ["frame_id", "time_s", "track_id", "person"] + [f"{n}_{a}" for n in names for a in axes]
    lines = [",".join(header)]
    for i in range(len(rec)):
        for p in range(int(rec.num_persons[i])):
            tid = int(rec.track_ids[i, p])
            if track is not None and tid != track:
                continue
            vals = data[i, p].reshape(-1)
            lines.append(",".join([str(int(rec.frame_id[i])), f"{t[i]:.6f}", str(tid), str(p)]
                                  + [_fmt(v) for v in vals]))
    return _write_atomic(Path(out), "\n".join(lines) + "\n")


def dominant_track(rec: Recording) -> int:
    """The track id present in the most frames (ties: the lowest id)."""
    ids = [int(rec.track_ids[i, p]) for i in range(len(rec)) for p in range(int(rec.num_persons[i]))]
    ids = [i for i in ids if i >= 0]
    if not ids:
        raise ExportError(f"{rec.path}: no tracked person in the recording")
    vals, counts = np.unique(ids, return_counts=True)
    return int(vals[np.argmax(counts)])


def to_opensim_axes(xyz: np.ndarray) -> np.ndarray:
    """Camera (x right, y down, z forward) -> y-up: (x, -y, -z)."""
    out = np.array(xyz, dtype=np.float64, copy=True)
    out[..., 1:] *= -1.0
    return out


@register_exporter("trc")
def export_trc(rec: Recording | str | Path, out: str | Path, *, model: str | None = None, kind: str = "smoothed",
               field: str = "joints_cam_mm", track: int | None = None) -> Path:
    """One person's 3D joints as a TRC marker file (mm, y up)."""
    rec = rec if isinstance(rec, Recording) else load_recording(rec)
    model, data, names = _select(rec, model, kind, field)
    if data.shape[-1] != 3:
        raise ExportError(f"TRC needs 3D joints; {field} is 2D")
    if len(rec) == 0:
        raise ExportError(f"{rec.path}: the recording has no frames")
    tid = dominant_track(rec) if track is None else int(track)
    n, j = len(rec), len(names)
    pts = np.full((n, j, 3), np.nan)
    for i in range(n):
        hits = [p for p in range(int(rec.num_persons[i])) if int(rec.track_ids[i, p]) == tid]
        if hits:
            pts[i] = data[i, hits[0]]
    if not np.isfinite(pts).any():
        raise ExportError(f"{rec.path}: track {tid} never appears for model {model}")
    pts = to_opensim_axes(pts)
    t = rec.times()
    dt = np.diff(t)
    rate = float(1.0 / np.median(dt)) if len(dt) and np.median(dt) > 0 else 30.0
    out = Path(out)
    head = [
        f"PathFileType\t4\t(X/Y/Z)\t{out.name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{rate:.2f}\t{rate:.2f}\t{n}\t{j}\tmm\t{rate:.2f}\t1\t{n}",
        "Frame#\tTime\t" + "\t".join(f"{name}\t\t" for name in names).rstrip("\t"),
        "\t\t" + "\t".join(f"X{k + 1}\tY{k + 1}\tZ{k + 1}" for k in range(j)),
        "",
    ]
    rows = [f"{i + 1}\t{t[i]:.6f}\t" + "\t".join(_fmt(v) for v in pts[i].reshape(-1)) for i in range(n)]
    return _write_atomic(out, "\n".join(head + rows) + "\n")


def export_recording(path: str | Path, fmt: str, out: str | Path, *, overwrite: bool = False, **kwargs: Any) -> Path:
    """Export with a registered format ("csv", "trc"); an existing ``out`` is replaced only with ``overwrite``."""
    if fmt not in _EXPORTERS:
        raise ExportError(f"unknown export format {fmt!r}; available: {', '.join(_EXPORTERS)}")
    if not overwrite and Path(out).exists():
        raise ExportError(f"{out}: already exists; refusing to replace it: choose another output file or allow "
                          f"overwriting (--overwrite)")
    try:
        rec = load_recording(path)
    except RecordingError as e:
        raise ExportError(str(e)) from e
    return _EXPORTERS[fmt](rec, out, **kwargs)
