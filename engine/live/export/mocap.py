"""Export a live recording (engine/recording.py HDF5) to the formats people pass on: CSV, TRC, C3D, JSON lines and
an overlay MP4 (the last three in ``engine.live.export.c3d``, ``export_jsonl``, ``export_video``).

- CSV: one row per frame per person: frame id, time, track id, then x/y/z (or x/y for 2D) per joint.
- TRC: the OpenSim / Pose2Sim marker format (tab-separated), one person (a track id; by default the one seen in
  most frames). Marker names follow Pose2Sim's naming (``marker_names``: Hip, RHip, RKnee, ..., LShoulder, ...);
  units are declared in the header, mm (default) or m (``units="m"``). TRC wants a constant rate: DataRate is the
  median frame rate of the recording and the Time column holds the real times (the file's own clock for
  video/image sources, else the capture clock). Frames where the person is missing have empty marker fields
  (OpenSim treats them as gaps). Axes: camera coordinates (x right, y down, z forward) are rotated 180° about x to
  OpenSim's y-up convention: (X, Y, Z) = (x, -y, -z) (a proper rotation, so the skeleton keeps its handedness).

Exporters register with ``@register_exporter`` (one function each; no switch over formats); files are written
atomically (models.fileio: a unique temp file beside the output, then os.replace), so a failed write (a full disk)
leaves the previous output as it was and no temp file behind. ``export_recording`` refuses to replace an existing
output unless ``overwrite=True``, and passes each exporter only the options it takes.
"""

from __future__ import annotations

import errno
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from engine.live.recording.format import RecordingError
from engine.live.recording.reader import Recording, load_recording
from models.errors import PoseArenaError
from models.fileio import atomic_write_text
from models.registry import Registry

FIELDS = ("joints_cam_mm", "joints_rel_mm", "joints_2d")
Exporter = Callable[..., Path]
_EXPORTERS: Registry[Exporter] = Registry("exporter")


class ExportError(PoseArenaError):
    """An export request that cannot be met; the message names the recording and what is wrong."""


def register_exporter(fmt: str):
    """Function decorator: ``fn(rec, out, **options) -> Path`` writes format ``fmt``."""
    return _EXPORTERS.register(fmt)


def export_formats() -> list[str]:
    return _EXPORTERS.known()


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


# Pose2Sim's marker names for the joints PoseArena's joint sets share with it; others keep a CamelCase form
_MARKER_NAMES = {"Pelvis": "Hip", "Torso": "Spine", "Head_top": "Head", "Head": "Head", "Nose": "Nose",
                 "Neck": "Neck", "Thorax": "Thorax", "Spine": "Spine"}
UNITS = {"mm": 1.0, "m": 0.001}


def marker_names(joint_names: list[str] | tuple[str, ...]) -> list[str]:
    """Joint names as OpenSim / Pose2Sim marker names: ``R_Knee`` -> ``RKnee``, ``Pelvis`` -> ``Hip``,
    ``Torso`` -> ``Spine``; unique (a repeated name gets a numeric suffix)."""
    out: list[str] = []
    for n in joint_names:
        m = _MARKER_NAMES.get(n)
        if m is None:
            side, _, rest = n.partition("_")
            m = side + rest.replace("_", "") if side in ("R", "L") and rest else n.replace("_", "")
        base, k = m, 2
        while m in out:
            m, k = f"{base}{k}", k + 1
        out.append(m)
    return out


def _check_units(units: str) -> float:
    if units not in UNITS:
        raise ExportError(f"units must be one of {', '.join(UNITS)}, got {units!r}")
    return UNITS[units]


def track_points(rec: Recording, data: np.ndarray, track: int | None, model: str) -> tuple[int, np.ndarray]:
    """(track id, [N,J,d] points of that track per frame, NaN where it is absent)."""
    if len(rec) == 0:
        raise ExportError(f"{rec.path}: the recording has no frames")
    tid = dominant_track(rec) if track is None else int(track)
    pts = np.full((len(rec), *data.shape[2:]), np.nan)
    for i in range(len(rec)):
        hits = [p for p in range(int(rec.num_persons[i])) if int(rec.track_ids[i, p]) == tid]
        if hits:
            pts[i] = data[i, hits[0]]
    if not np.isfinite(pts).any():
        raise ExportError(f"{rec.path}: track {tid} never appears for model {model}")
    return tid, pts


def frame_rate(rec: Recording) -> float:
    """The median frame rate of the recording's clock (30 when it cannot be told)."""
    dt = np.diff(rec.times())
    return float(1.0 / np.median(dt)) if len(dt) and np.median(dt) > 0 else 30.0


def to_opensim_axes(xyz: np.ndarray) -> np.ndarray:
    """Camera (x right, y down, z forward) -> y-up: (x, -y, -z)."""
    out = np.array(xyz, dtype=np.float64, copy=True)
    out[..., 1:] *= -1.0
    return out


def marker_track(rec: Recording, fmt: str, *, model: str | None, kind: str, field: str, track: int | None,
                 units: str) -> tuple[str, int, np.ndarray, list[str]]:
    """One person's 3D joints for a marker format (TRC, C3D): (model, track id, points [N,J,3] y up in ``units``,
    joint names). ExportError for 2D fields, unknown units or models."""
    scale = _check_units(units)
    model, data, names = _select(rec, model, kind, field)
    if data.shape[-1] != 3:
        raise ExportError(f"{fmt} needs 3D joints; {field} is 2D")
    tid, pts = track_points(rec, data, track, model)
    return model, tid, to_opensim_axes(pts) * scale, names


@register_exporter("trc")
def export_trc(rec: Recording | str | Path, out: str | Path, *, model: str | None = None, kind: str = "smoothed",
               field: str = "joints_cam_mm", track: int | None = None, units: str = "mm") -> Path:
    """One person's 3D joints as a TRC marker file (y up; mm or m, declared in the header)."""
    rec = rec if isinstance(rec, Recording) else load_recording(rec)
    model, _, pts, names = marker_track(rec, "TRC", model=model, kind=kind, field=field, track=track, units=units)
    n, j = len(rec), len(names)
    t = rec.times()
    rate = frame_rate(rec)
    out = Path(out)
    digits = 3 if units == "mm" else 6
    markers = marker_names(names)
    head = [
        f"PathFileType\t4\t(X/Y/Z)\t{out.name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{rate:.2f}\t{rate:.2f}\t{n}\t{j}\t{units}\t{rate:.2f}\t1\t{n}",
        "Frame#\tTime\t" + "\t".join(f"{name}\t\t" for name in markers).rstrip("\t"),
        "\t\t" + "\t".join(f"X{k + 1}\tY{k + 1}\tZ{k + 1}" for k in range(j)),
        "",
    ]

    def fmt(v: float) -> str:
        return "" if not np.isfinite(v) else f"{v:.{digits}f}"

    rows = [f"{i + 1}\t{t[i]:.6f}\t" + "\t".join(fmt(v) for v in pts[i].reshape(-1)) for i in range(n)]
    return _write_atomic(out, "\n".join(head + rows) + "\n")


def export_recording(path: str | Path, fmt: str, out: str | Path, *, overwrite: bool = False, **kwargs: Any) -> Path:
    """Export with a registered format (``export_formats()``); an existing ``out`` is replaced only with
    ``overwrite``."""
    if fmt not in _EXPORTERS.known():
        raise ExportError(f"unknown export format {fmt!r}; available: {', '.join(_EXPORTERS.known())}")
    if not overwrite and Path(out).exists():
        raise ExportError(f"{out}: already exists; refusing to replace it: choose another output file or allow "
                          f"overwriting (--overwrite)")
    try:
        rec = load_recording(path)
    except RecordingError as e:
        raise ExportError(str(e)) from e
    fn = _EXPORTERS[fmt]
    params = inspect.signature(fn).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    options = {}
    for k, v in kwargs.items():
        if k in params or takes_any:
            options[k] = v
        elif v is not None:
            raise ExportError(f"format {fmt!r} has no option {k!r} (it takes: "
                              f"{', '.join(p for p in params if p not in ('rec', 'out')) or 'none'})")
    return fn(rec, out, **options)


# The exporters kept in their own modules, declared by name (each registers itself when its module loads).
for _fmt_name, _module in (("c3d", "engine.live.export.c3d"), ("jsonl", "engine.live.export.jsonl"),
                           ("mp4", "engine.live.export.video"), ("bvh", "engine.live.export.bvh")):
    _EXPORTERS.declare(_fmt_name, _module)
