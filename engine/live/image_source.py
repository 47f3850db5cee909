"""A folder of images (or one image file) as a frame source."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from engine.live.source_base import (
    IMAGE_EXTENSIONS,
    EndOfSource,
    FrameSource,
    SourceError,
    SourceInfo,
    SourceOptions,
    register_source,
)
from engine.live.source_base import cv2_quiet as _cv2

__all__ = ["IMAGE_EXTENSIONS", "ImageFolderSource"]

def _natural_key(p: Path) -> list[Any]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)]


@register_source("images")
class ImageFolderSource(FrameSource):
    """A folder of images (natural sort order) or a single image file. Images may differ in size (each is its own
    photo); unreadable files are skipped and counted. Not paced unless ``fps`` is given."""

    priority = 40
    check_shape = False

    def __init__(self, name: str, options: SourceOptions | None = None) -> None:
        super().__init__(name, options)
        self._files: list[Path] = []
        self._pos = 0
        self._served = 0

    @classmethod
    def accepts(cls, spec: str) -> bool:
        p = Path(spec).expanduser()
        return p.is_dir() or (p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)

    @property
    def realtime(self) -> bool:
        return bool(self.options.fps) if self.options.realtime is None else bool(self.options.realtime)

    def _open(self) -> SourceInfo:
        path = Path(self.name).expanduser()
        if path.is_dir():
            self._files = sorted((p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS),
                                 key=_natural_key)
            if not self._files:
                raise SourceError(f"image folder {str(path)!r} contains no images ({', '.join(IMAGE_EXTENSIONS)})")
        elif path.is_file():
            self._files = [path]
        else:
            raise SourceError(f"image folder {str(path)!r} does not exist")
        self._pos = 0
        first = None
        for f in self._files:
            first = _cv2().imread(str(f), _cv2().IMREAD_COLOR)
            if first is not None:
                break
        if first is None:
            raise SourceError(f"image folder {str(path)!r}: none of its {len(self._files)} images can be read")
        return SourceInfo(self.kind, self.name, first.shape[1], first.shape[0], self.options.fps, False,
                          len(self._files))

    def _media_time(self) -> float | None:
        return (self._served - 1) / self.options.fps if self.options.fps else None

    def _grab(self) -> np.ndarray | None:
        self._served += 1
        if self._pos >= len(self._files):
            if not self.options.loop:
                raise EndOfSource
            self._pos = 0
            self.stats.loops += 1
            self._emit("looped", f"restarted after {self.stats.delivered} frames")
        f = self._files[self._pos]
        self._pos += 1
        return _cv2().imread(str(f), _cv2().IMREAD_COLOR)
