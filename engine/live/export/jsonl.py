"""JSON lines export of a live recording: one JSON object per recorded frame, every person and every model, the
joints named (the layout is documented in docs/outputs.md).

A line::

    {"frame": 0, "frame_id": 0, "time": 0.0, "media_ts": 0.0, "capture_ts": 1234.5,
     "persons": [{"track_id": 1, "box": [x, y, w, h], "root_cam_mm": [X, Y, Z],
                  "models": {"<model>": {"raw": {"joints_2d": {"Pelvis": [x, y], ...},
                                                 "joints_cam_mm": {"Pelvis": [X, Y, Z], ...},
                                                 "joints_rel_mm": {...}},
                                         "smoothed": {...}}}}]}

Missing values (a joint a model did not give, a live source's media time) are ``null``; numbers are rounded to
what they carry (1e-3 px / mm). Written by streaming into the atomic temp file (models.fileio), so a long recording
never has to fit in memory as one string.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from engine.live.export.mocap import ExportError, register_exporter
from engine.live.recording.format import JOINT_FIELDS, KINDS
from engine.live.recording.reader import Recording, load_recording
from models.fileio import atomic_path

__all__ = ["SCHEMA", "export_jsonl", "frame_records"]

SCHEMA = "posearena.live.jsonl/1"


def _num(v: Any, digits: int = 3) -> float | None:
    v = float(v)
    return round(v, digits) if math.isfinite(v) else None


def _named(names: list[str], pts: np.ndarray) -> dict[str, list[float | None] | None]:
    out: dict[str, list[float | None] | None] = {}
    for n, p in zip(names, pts, strict=True):
        out[n] = [_num(v) for v in p] if np.isfinite(p).any() else None
    return out


def frame_records(rec: Recording):
    """Yield one dict per frame (the JSON line's content)."""
    t = rec.times()
    for i in range(len(rec)):
        persons = []
        for p in range(int(rec.num_persons[i])):
            models: dict[str, Any] = {}
            for name, m in rec.models.items():
                kinds = {}
                for kind in KINDS:
                    arrays = getattr(m, kind)
                    kinds[kind] = {fld: _named(m.joint_names, arrays[fld][i, p]) for fld, _ in JOINT_FIELDS}
                models[name] = kinds
            persons.append({"track_id": int(rec.track_ids[i, p]), "box": [_num(v) for v in rec.boxes[i, p]],
                            "root_cam_mm": [_num(v) for v in rec.root_cam_mm[i, p]], "models": models})
        yield {"frame": i, "frame_id": int(rec.frame_id[i]), "time": _num(t[i], 6),
               "media_ts": _num(rec.media_ts[i], 6), "capture_ts": _num(rec.capture_ts[i], 6), "persons": persons}


def header_record(rec: Recording) -> dict[str, Any]:
    """The first line: what the file holds (schema, models with their joint names, source, units)."""
    return {"schema": SCHEMA, "source": rec.attrs.get("source", ""), "frames": len(rec),
            "units": {"joints_2d": "image pixels", "joints_cam_mm": "camera mm (x right, y down, z forward)",
                      "joints_rel_mm": "camera mm, root-relative", "box": "x, y, w, h pixels", "time": "s"},
            "models": {n: {"label": m.label, "joint_set": m.joint_set, "joints": list(m.joint_names),
                           "trained": m.trained} for n, m in rec.models.items()}}


@register_exporter("jsonl")
def export_jsonl(rec: Recording | str | Path, out: str | Path) -> Path:
    """Every frame, person and model (raw and smoothed) as JSON lines; the first line is a header record."""
    rec = rec if isinstance(rec, Recording) else load_recording(rec)
    out = Path(out)
    try:
        with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(header_record(rec), allow_nan=False) + "\n")
            for r in frame_records(rec):
                fh.write(json.dumps(r, allow_nan=False, separators=(",", ":")) + "\n")
    except OSError as e:
        kept = "; the previous file is unchanged" if out.exists() else ""
        raise ExportError(f"{out}: cannot write the export ({e.strerror or e}){kept}") from None
    return out
