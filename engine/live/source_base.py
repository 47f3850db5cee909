"""What every live frame source shares: the records (``Frame``, ``SourceInfo``, ``SourceEvent``, ``SourceStats``,
``SourceOptions``), the errors, the registry of kinds (``register_source``) and ``FrameSource``, the base class that
validates, counts, paces and reports; subclasses only open and grab raw images.

Failure policy (why: a live app must survive flaky inputs, and say what happened):
- a frame that cannot be decoded, is empty or changes shape mid-file is skipped and counted (``stats.corrupt``);
- end of a file ends the source cleanly (``read()`` returns None); the demo loops instead;
- a source that gives ``max_bad_in_row`` unreadable frames in a row fails with ``SourceError``.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from models.errors import PoseArenaError
from models.registry import Registry

__all__ = [
    "IMAGE_EXTENSIONS", "EndOfSource", "EventCallback", "Frame", "FrameSource", "SourceError", "SourceEvent",
    "SourceInfo", "SourceOptions", "SourceStats", "cv2_quiet", "register_source", "source_kinds", "source_registry",
]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


class SourceError(PoseArenaError):
    """A source cannot be opened or has failed for good; the message names the source and the cause."""


class EndOfSource(Exception):
    """Raised inside ``_grab`` when the source has no more frames (end of file, or stop requested)."""


@dataclass(frozen=True)
class SourceInfo:
    kind: str  # registry name: "webcam", "video", "images", "stream", "demo", ...
    name: str  # what the user gave ("0", "clip.mp4", ...)
    width: int
    height: int
    fps: float | None  # nominal rate, None when unknown
    live: bool  # True: frames arrive in real time whether we read them or not (camera, stream)
    num_frames: int | None = None  # files only


@dataclass
class Frame:
    frame_id: int  # consecutive per delivered frame, from 0
    timestamp: float  # time.monotonic() when the frame became available
    image: np.ndarray  # [H,W,3] uint8 BGR
    source_info: SourceInfo
    read_ms: float = 0.0  # time spent grabbing + decoding (pacing waits excluded)
    media_ts: float | None = None  # position in the media (file frame index / fps, looping continues), if any


@dataclass(frozen=True)
class SourceEvent:
    kind: str  # opened | lost | reconnecting | reconnected | corrupt | looped | ended | error
    message: str
    source: str
    timestamp: float = field(default_factory=time.monotonic)
    attempt: int = 0


@dataclass
class SourceStats:
    delivered: int = 0
    corrupt: int = 0
    reconnects: int = 0
    loops: int = 0


@dataclass
class SourceOptions:
    """Options every kind understands; ``None`` means "the kind's default"."""

    realtime: bool | None = None  # True: pace files at their nominal fps (like a camera); False/None for files and
    # folders: every frame, as fast as read (the demo clip alone defaults to pacing: it stands in for a webcam)
    loop: bool | None = None
    fps: float | None = None  # pacing rate for image folders / files without a rate
    on_event: Callable[[SourceEvent], None] | None = None
    max_reconnects: int | None = None  # None = keep trying until stopped
    max_bad_in_row: int = 25  # consecutive unreadable frames before a file source gives up


EventCallback = Callable[[SourceEvent], None]
_SOURCES: Registry[type[FrameSource]] = Registry("source kind", set_kind=True)


def source_registry() -> Registry[type[FrameSource]]:
    """The registry of source kinds (name -> ``FrameSource`` subclass)."""
    return _SOURCES


def register_source(kind: str):
    """Class decorator adding a ``FrameSource`` subclass to the registry under ``kind``."""
    return _SOURCES.register(kind)


def source_kinds() -> list[str]:
    return list(_SOURCES)


class FrameSource(ABC):
    """Base class: validation, counting, pacing and events; subclasses open and grab raw images."""

    kind: ClassVar[str] = "?"
    priority: ClassVar[int] = 100  # lower = asked first by ``open_source``
    live: ClassVar[bool] = False
    check_shape: ClassVar[bool] = True  # frames must keep the first frame's shape

    def __init__(self, name: str, options: SourceOptions | None = None) -> None:
        self.name = name
        self.options = options or SourceOptions()
        self.stats = SourceStats()
        self.info: SourceInfo | None = None
        self._stop = threading.Event()
        self._next_id = 0
        self._shape: tuple[int, ...] | None = None
        self._next_due: float | None = None
        self._bad_in_row = 0

    # -- registry hooks -------------------------------------------------------------------------------------------
    @classmethod
    def accepts(cls, spec: str) -> bool:
        """Whether a bare spec string names this kind (explicit "kind:rest" always works)."""
        return False

    @classmethod
    def from_spec(cls, spec: str, options: SourceOptions) -> FrameSource:
        return cls(spec, options)  # type: ignore[call-arg]

    # -- subclass interface ---------------------------------------------------------------------------------------
    @abstractmethod
    def _open(self) -> SourceInfo:
        """Open the underlying device/file; raise SourceError with a clear message on failure."""

    @abstractmethod
    def _grab(self) -> np.ndarray | None:
        """Next raw image; None = this frame is unreadable (counted, skipped); raise EndOfSource at the end."""

    def _close(self) -> None:
        """Release the underlying device/file."""
        return

    def _media_time(self) -> float | None:
        """Time of the frame just grabbed on the media's own clock (files), None for live sources."""
        return None

    @property
    def realtime(self) -> bool:
        return bool(self.options.realtime) if self.options.realtime is not None else False

    # -- public API -----------------------------------------------------------------------------------------------
    def open(self) -> FrameSource:
        self._stop.clear()
        self.info = self._open()
        self._emit("opened", f"{self.info.width}x{self.info.height}"
                             + (f" @ {self.info.fps:g} fps" if self.info.fps else ""))
        return self

    def request_stop(self) -> None:
        """Make a blocked ``read()`` (pacing, reconnect backoff) return None soon; thread-safe."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        self._stop.set()
        self._close()

    def read(self) -> Frame | None:
        """The next good frame, or None at the end / after ``request_stop``. Raises SourceError on final failure."""
        if self.info is None:
            raise SourceError(f"{self.kind} source {self.name!r}: read() before open()")
        while not self._stop.is_set():
            self._pace()
            if self._stop.is_set():
                return None
            t0 = time.perf_counter()
            try:
                image = self._grab()
            except EndOfSource:
                self._emit("ended", "end of source")
                return None
            read_ms = (time.perf_counter() - t0) * 1000.0
            problem = self._validate(image)
            if problem:
                self._count_bad(problem)
                continue
            self._bad_in_row = 0
            now = time.monotonic()
            frame = Frame(self._next_id, now, image, self.info, read_ms, self._media_time())  # type: ignore[arg-type]
            self._next_id += 1
            self.stats.delivered += 1
            return frame
        return None

    def __iter__(self) -> Iterator[Frame]:
        while True:
            frame = self.read()
            if frame is None:
                return
            yield frame

    def __enter__(self) -> FrameSource:
        return self.open() if self.info is None else self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- helpers --------------------------------------------------------------------------------------------------
    def _emit(self, kind: str, message: str, attempt: int = 0) -> None:
        cb = self.options.on_event
        if cb is not None:
            cb(SourceEvent(kind, message, f"{self.kind}:{self.name}", attempt=attempt))

    def _validate(self, image: np.ndarray | None) -> str:
        if image is None:
            return "frame could not be read"
        if not isinstance(image, np.ndarray) or image.size == 0:
            return "empty frame"
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            return f"not an 8-bit BGR image (shape {image.shape}, dtype {image.dtype})"
        if self.check_shape:
            if self._shape is None:
                self._shape = image.shape
            elif image.shape != self._shape:
                return f"frame shape {image.shape} differs from the stream's {self._shape}"
        return ""

    def _count_bad(self, problem: str) -> None:
        self.stats.corrupt += 1
        self._bad_in_row += 1
        self._emit("corrupt", f"skipped frame after id {self._next_id - 1}: {problem}")
        if self._bad_in_row >= self.options.max_bad_in_row:
            raise SourceError(f"{self.kind} source {self.name!r}: {self._bad_in_row} unreadable frames in a row "
                              f"({problem}); giving up")

    def _nominal_fps(self) -> float | None:
        if self.options.fps:
            return float(self.options.fps)
        return self.info.fps if self.info and self.info.fps and self.info.fps > 0 else None

    def _pace(self) -> None:
        """For realtime file sources: wait until the next frame is due (no debt is accumulated when behind).
        Cameras and streams are never paced here: they deliver at their own rate."""
        if not self.realtime or self.live:
            return
        fps = self._nominal_fps()
        if not fps:
            return
        now = time.monotonic()
        if self._next_due is not None and self._next_due > now:
            self._stop.wait(self._next_due - now)
            now = time.monotonic()
        self._next_due = max(now, self._next_due or now) + 1.0 / fps


def cv2_quiet():
    """``cv2``, with OpenCV's own logging reduced to errors."""
    import cv2

    try:  # OpenCV prints a warning per failed probe; quiet it (real failures raise SourceError instead)
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    except AttributeError:  # pragma: no cover
        pass
    return cv2
