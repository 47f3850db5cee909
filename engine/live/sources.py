"""Frame sources for the live pipeline: webcam, video file, image folder, stream URL and the built-in demo.

Every source yields ``Frame`` objects carrying a frame id and the monotonic capture time, so latency can be measured
end to end (capture -> result). Kinds register themselves with ``@register_source``; ``open_source(spec)`` asks each
registered kind whether it accepts the spec string ("demo", "0", "clip.mp4", "frames/", "rtsp://...", or an explicit
"kind:rest" such as "video:clip.mp4"), so adding a kind never means editing a switch.

The parts: ``source_base`` (records, errors, registry, ``FrameSource`` and its failure policy), ``cv_sources``
(OpenCV-backed webcam, stream, video file, demo; ``list_cameras``), ``image_source`` (image folders). This module
builds a source from a spec string and re-exports the parts, so ``engine.live.sources`` is the one import path.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from engine.live.cv_sources import (
    DEMO_VIDEO,
    STREAM_SCHEMES,
    CameraInfo,
    CaptureFactory,
    DemoSource,
    StreamSource,
    VideoFileSource,
    WebcamSource,
    list_cameras,
)
from engine.live.image_source import IMAGE_EXTENSIONS, ImageFolderSource
from engine.live.source_base import (
    EndOfSource,
    EventCallback,
    Frame,
    FrameSource,
    SourceError,
    SourceEvent,
    SourceInfo,
    SourceOptions,
    SourceStats,
    register_source,
    source_kinds,
    source_registry,
)

__all__ = [
    "DEMO_VIDEO", "IMAGE_EXTENSIONS", "STREAM_SCHEMES", "CameraInfo", "CaptureFactory", "DemoSource", "EndOfSource",
    "EventCallback", "Frame", "FrameSource", "ImageFolderSource", "SourceError", "SourceEvent", "SourceInfo",
    "SourceOptions", "SourceStats", "StreamSource", "VideoFileSource", "WebcamSource", "list_cameras", "make_source",
    "open_source", "register_source", "source_kinds",
]

_SOURCES = source_registry()


def _split_kind(spec: str) -> tuple[type[FrameSource] | None, str]:
    m = re.match(r"^([a-z][a-z0-9_-]*):(?!//)(.*)$", spec)
    if m and m.group(1) in _SOURCES:
        return _SOURCES[m.group(1)], m.group(2)
    return None, spec


def make_source(spec: str | os.PathLike[str], options: SourceOptions | None = None, **kwargs: Any) -> FrameSource:
    """Build (but not open) the source a spec string names. ``kwargs`` fill ``SourceOptions`` fields."""
    opts = options or SourceOptions(**kwargs)
    text = str(spec).strip()
    if not text:
        raise SourceError("empty source spec; use demo, a camera index, a video file, an image folder or a URL")
    cls, rest = _split_kind(text)
    if cls is not None:
        return cls.from_spec(rest, opts)
    for cls in sorted(_SOURCES.values(), key=lambda c: c.priority):
        if cls.accepts(text):
            return cls.from_spec(text, opts)
    if not Path(text).expanduser().exists():
        raise SourceError(f"source {text!r}: no such file or folder, and not a camera index, URL or 'demo'")
    raise SourceError(f"source {text!r}: no registered source kind accepts it (kinds: {', '.join(_SOURCES)})")


def open_source(spec: str | os.PathLike[str], options: SourceOptions | None = None, **kwargs: Any) -> FrameSource:
    """Build and open a source; raises SourceError with a clear message when it cannot be opened."""
    return make_source(spec, options, **kwargs).open()
