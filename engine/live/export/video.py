"""MP4 overlay export of a recording (``--format mp4``): the source video with each model's 2D skeletons, one
output frame per recorded frame (``engine.live.export.overlay_video``)."""

from __future__ import annotations

from pathlib import Path

from engine.live.export.mocap import ExportError, register_exporter
from engine.live.export.overlay_video import recorded_source, render_recording
from engine.live.recording.reader import Recording, load_recording

__all__ = ["export_mp4"]


@register_exporter("mp4")
def export_mp4(rec: Recording | str | Path, out: str | Path, *, source: str | None = None, kind: str = "smoothed",
               model: str | None = None, require_source: bool = False) -> Path:
    """``source``: the video or image folder that was recorded (default: the one stored in the recording);
    without one the skeletons are drawn on a blank frame (``require_source`` makes that an error)."""
    rec = rec if isinstance(rec, Recording) else load_recording(rec)
    if kind not in ("raw", "smoothed"):
        raise ExportError(f"kind must be 'raw' or 'smoothed', got {kind!r}")
    if model is not None and model not in rec.models:
        raise ExportError(f"{rec.path}: model {model!r} is not in the recording (recorded: {', '.join(rec.models)})")
    src = source or recorded_source(rec)
    if source and not Path(source).expanduser().exists():
        raise ExportError(f"{source}: the source video does not exist")
    if src is None and require_source:
        raise ExportError(f"{rec.path}: the recording does not name a source video that exists here "
                          f"(source {rec.attrs.get('source', '?')!r}); give it with --source")
    try:
        return render_recording(rec, out, source=src, kind=kind, models=[model] if model else None)
    except (OSError, ValueError) as e:
        kept = "; the previous file is unchanged" if Path(out).exists() else ""
        raise ExportError(f"{out}: cannot write the video ({e}){kept}") from None
