"""A folder of images (or one image file) as a frame source, and ``read_image``: one image file read whole, with
truncation detected (OpenCV decodes a cut-off JPEG with grey fill and no error; the Human3.6M loader uses it too).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from engine.live import source_base as base
from engine.live.source_base import IMAGE_EXTENSIONS  # re-exported: engine.live.sources imports it from here

__all__ = ["IMAGE_EXTENSIONS", "ImageFolderSource", "image_data_problem", "read_image"]

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def image_data_problem(data: bytes) -> str | None:
    """Why these bytes are not a whole image file (empty, a cut-off JPEG or PNG), or None.

    Why not trust the decoder: libjpeg only warns ("premature end of data segment") and OpenCV returns the picture
    with the missing rows grey, so a truncated frame would be scored or shown as if real. A JPEG ends with the
    end-of-image marker FF D9 (padding zeros or whitespace after it are tolerated); a PNG ends with its IEND chunk.
    """
    n = len(data)
    if n == 0:
        return "the file is empty (0 bytes)"
    if data[:3] == b"\xff\xd8\xff":
        if not data.rstrip(b"\x00\r\n\t ").endswith(b"\xff\xd9"):
            return f"truncated JPEG: no end-of-image marker (FF D9) at the end of its {n} bytes"
    elif data[:8] == _PNG_MAGIC:
        if b"IEND" not in data[-16:]:
            return f"truncated PNG: no IEND chunk at the end of its {n} bytes"
    return None


def read_image(path: str | Path) -> tuple[np.ndarray | None, str]:
    """``(BGR uint8 image, "")``, or ``(None, why)`` for a file that cannot be read, is cut off or does not decode.

    The file is read once and decoded from memory (``cv2.imdecode``, the same decoder as ``cv2.imread``)."""
    cv2 = base.cv2_quiet()
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    problem = image_data_problem(data)
    if problem:
        return None, problem
    if data[:3] == b"\xff\xd8\xff":  # libjpeg only warns about corrupt data: a warning is a corrupt image
        from engine.live.decoder_warnings import imdecode_with_warnings

        img, warning = imdecode_with_warnings(cv2, data)
        if img is not None and warning:
            return None, f"corrupt JPEG: the decoder reports {warning!r} (damaged data in the middle of the file)"
    else:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        return None, f"not an image OpenCV can decode ({len(data)} bytes)"
    return img, ""


def _natural_key(p: Path) -> list[Any]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)]


@base.register_source("images")
class ImageFolderSource(base.FrameSource):
    """A folder of images (natural sort order) or a single image file. Images may differ in size (each is its own
    photo). Not paced unless ``fps`` is given.

    An unreadable, cut-off or undecodable file is skipped and counted, its "corrupt" event names the file, and it is
    listed in ``skipped`` (frame id, path, why). Frame ids stay bound to files: the file at position k (natural
    order) is frame k (plus the folder length per loop), so a skipped file leaves a gap instead of shifting every
    later frame's id off its file.
    """

    priority = 40
    check_shape = False

    def __init__(self, name: str, options: base.SourceOptions | None = None) -> None:
        super().__init__(name, options)
        self._files: list[Path] = []
        self._pos = 0
        self._served = 0
        self._problem = ""
        self.skipped: list[tuple[int, str, str]] = []  # (frame id the file would have had, path, why)

    @classmethod
    def accepts(cls, spec: str) -> bool:
        p = Path(spec).expanduser()
        return p.is_dir() or (p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)

    @property
    def realtime(self) -> bool:
        return bool(self.options.fps) if self.options.realtime is None else bool(self.options.realtime)

    def _open(self) -> base.SourceInfo:
        path = Path(self.name).expanduser()
        if path.is_dir():
            self._files = sorted((p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS),
                                 key=_natural_key)
            if not self._files:
                raise base.SourceError(f"image folder {str(path)!r} contains no images ({', '.join(IMAGE_EXTENSIONS)})")
        elif path.is_file():
            self._files = [path]
        else:
            raise base.SourceError(f"image folder {str(path)!r} does not exist")
        self._pos = 0
        first = None
        for f in self._files:
            first = read_image(f)[0]
            if first is not None:
                break
        if first is None:
            raise base.SourceError(f"image folder {str(path)!r}: none of its {len(self._files)} images can be read")
        return base.SourceInfo(self.kind, self.name, first.shape[1], first.shape[0], self.options.fps, False,
                               len(self._files))

    def _media_time(self) -> float | None:
        return (self._served - 1) / self.options.fps if self.options.fps else None

    def _grab(self) -> np.ndarray | None:
        self._served += 1
        if self._pos >= len(self._files):
            if not self.options.loop:
                raise base.EndOfSource
            self._pos = 0
            self.stats.loops += 1
            self._emit("looped", f"restarted after {self.stats.delivered} frames")
        f = self._files[self._pos]
        self._next_id = self.stats.loops * len(self._files) + self._pos  # the id is the file's place in the folder
        self._pos += 1
        img, self._problem = read_image(f)
        if img is None:
            self.skipped.append((self._next_id, str(f), self._problem))
        return img

    def _validate(self, image: np.ndarray | None) -> str:
        problem = super()._validate(image)
        if not problem:
            return ""
        f = self._files[self._pos - 1] if self._pos else None
        why = self._problem or problem
        if image is not None and f is not None:
            self.skipped.append((self._next_id, str(f), why))
        return f"{f}: {why} (frame id {self._next_id} skipped)" if f is not None else why
