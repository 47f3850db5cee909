"""C3D export of a live recording through ezc3d (a maintained C3D library; the file it writes is read back by it
in the tests to the same points): one person (a track id, by default the one seen in most frames) of one model.

Points are in the same y-up frame as the TRC export ((X, Y, Z) = (x, -y, -z) of the camera), in mm (or m,
``units``), POINT:UNITS declared; frames where the person is missing are NaN with residual -1 (C3D's "invalid
point"). POINT:RATE is the recording's median frame rate; marker labels are ``mocap_export.marker_names``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.live.export.mocap import ExportError, frame_rate, marker_names, marker_track, register_exporter
from engine.live.recording.reader import Recording, load_recording
from models.fileio import atomic_path

__all__ = ["export_c3d"]


def _check_written(path: Path, frames: int, out: Path) -> None:
    """OSError unless the file holds the whole data section its header announces: ezc3d's writer does not report a
    full disk (and reading a cut file back crashes it), so the header's sizes are checked against the file's."""
    import struct

    data = path.read_bytes()[:512] if path.exists() else b""
    size = path.stat().st_size if path.exists() else 0
    if len(data) < 24:
        raise OSError(f"{out}: the C3D file was not written whole ({size} bytes): disk full?")
    points, analog, first, last = struct.unpack_from("<4H", data, 2)
    scale, = struct.unpack_from("<f", data, 12)
    start, = struct.unpack_from("<H", data, 16)
    per = 4 if scale < 0 else 2
    need = (start - 1) * 512 + max(0, last - first + 1) * (points * 4 + analog) * per
    if last - first + 1 != frames or size < need:
        raise OSError(f"{out}: the C3D file was not written whole ({size} of {need} bytes): disk full?")


@register_exporter("c3d")
def export_c3d(rec: Recording | str | Path, out: str | Path, *, model: str | None = None, kind: str = "smoothed",
               field: str = "joints_cam_mm", track: int | None = None, units: str = "mm") -> Path:
    try:
        import ezc3d
    except ImportError:  # pragma: no cover - a dependency; said plainly when absent
        raise ExportError("C3D export needs the ezc3d package (pip install ezc3d)") from None
    rec = rec if isinstance(rec, Recording) else load_recording(rec)
    model, tid, pts, names = marker_track(rec, "C3D", model=model, kind=kind, field=field, track=track, units=units)
    n, j = pts.shape[:2]
    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = [frame_rate(rec)]
    c["parameters"]["POINT"]["LABELS"]["value"] = marker_names(names)
    c["parameters"]["POINT"]["DESCRIPTIONS"]["value"] = [f"{model} {nm} (track {tid})" for nm in names]
    c.add_parameter("POINT", "UNITS", [units])
    c.add_parameter("POINT", "X_SCREEN", ["+X"])
    c.add_parameter("POINT", "Y_SCREEN", ["+Y"])
    points = np.ones((4, j, n))
    points[:3] = np.transpose(pts, (2, 1, 0))
    c["data"]["points"] = points
    missing = ~np.isfinite(pts).all(axis=-1).T  # [J,N]
    residuals = np.where(missing, -1.0, 0.0)[None]
    c["data"]["meta_points"] = {"residuals": residuals, "camera_masks": np.zeros((7, j, n), dtype=bool)}
    out = Path(out)
    try:
        with atomic_path(out) as tmp:
            target = tmp.with_name(tmp.name + ".c3d")  # ezc3d wants the extension
            try:
                c.write(str(target))
                _check_written(target, n, out)
                target.replace(tmp)
            finally:
                target.unlink(missing_ok=True)
    except (OSError, RuntimeError) as e:
        kept = "; the previous file is unchanged" if out.exists() else ""
        raise ExportError(f"{out}: cannot write the export ({e}){kept}") from None
    return out
