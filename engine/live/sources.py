"""Frame sources for the live pipeline: webcam, video file, image folder, stream URL and the built-in demo.

Every source yields ``Frame`` objects carrying a frame id and the monotonic capture time, so latency can be measured
end to end (capture -> result). Kinds register themselves with ``@register_source``; ``open_source(spec)`` asks each
registered kind whether it accepts the spec string ("demo", "0", "clip.mp4", "frames/", "rtsp://...", or an explicit
"kind:rest" such as "video:clip.mp4"), so adding a kind never means editing a switch.

Failure policy (why: a live app must survive flaky inputs, and say what happened):
- a frame that cannot be decoded, is empty or changes shape mid-file is skipped and counted (``stats.corrupt``);
- end of a file ends the source cleanly (``read()`` returns None); the demo loops instead;
- a webcam or stream that disappears mid-run is reported (``SourceEvent`` "lost") and reopened with exponential
  backoff until it comes back or ``max_reconnects`` is spent;
- a camera index that cannot be opened raises ``SourceError`` at ``open()`` naming the index and the cameras found.
"""

from __future__ import annotations

import os
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from assets import asset_path
from engine.registry import Registry

DEMO_VIDEO = asset_path("demo_walk.mp4")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")


class SourceError(Exception):
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

    realtime: bool | None = None  # pace files at their nominal fps (like a camera); False = as fast as read
    loop: bool | None = None
    fps: float | None = None  # pacing rate for image folders / files without a rate
    on_event: Callable[[SourceEvent], None] | None = None
    max_reconnects: int | None = None  # None = keep trying until stopped
    max_bad_in_row: int = 25  # consecutive unreadable frames before a file source gives up


EventCallback = Callable[[SourceEvent], None]
_SOURCES: Registry[type[FrameSource]] = Registry("source kind", set_kind=True)


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
        """For realtime file sources: wait until the next frame is due (no debt is accumulated when behind)."""
        if not self.realtime:
            return
        fps = self._nominal_fps()
        if not fps:
            return
        now = time.monotonic()
        if self._next_due is not None and self._next_due > now:
            self._stop.wait(self._next_due - now)
            now = time.monotonic()
        self._next_due = max(now, self._next_due or now) + 1.0 / fps


def _cv2():
    import cv2

    try:  # OpenCV prints a warning per failed probe; quiet it (real failures raise SourceError instead)
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    except AttributeError:  # pragma: no cover
        pass
    return cv2


CaptureFactory = Callable[..., Any]  # (target) -> object with isOpened/read/get/set/release, like cv2.VideoCapture


class _CvCaptureSource(FrameSource):
    """Shared code for sources backed by ``cv2.VideoCapture`` (tests may inject a fake ``capture_factory``)."""

    def __init__(self, name: str, options: SourceOptions | None = None,
                 capture_factory: CaptureFactory | None = None) -> None:
        super().__init__(name, options)
        self._factory = capture_factory
        self._cap: Any = None

    def _target(self) -> Any:
        return self.name

    def _make_capture(self) -> Any:
        if self._factory is not None:
            return self._factory(self._target())
        return _cv2().VideoCapture(self._target())

    def _info_from(self, cap: Any, live: bool) -> SourceInfo:
        cv2 = _cv2()
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        return SourceInfo(self.kind, self.name, w, h, fps if 0 < fps < 1000 else None, live,
                          None if live or n <= 0 else n)

    def _close(self) -> None:
        if self._cap is not None:
            try:
                self._cap.release()
            finally:
                self._cap = None


class _LiveCaptureSource(_CvCaptureSource):
    """Camera or network stream: reconnect with exponential backoff when frames stop coming."""

    live = True
    backoff_s: ClassVar[tuple[float, ...]] = (0.25, 0.5, 1.0, 2.0, 4.0)

    def _open(self) -> SourceInfo:
        cap = self._make_capture()
        if cap is None or not cap.isOpened():
            if cap is not None:
                cap.release()
            raise SourceError(self._open_error())
        self._cap = cap
        return self._info_from(cap, live=True)

    @abstractmethod
    def _open_error(self) -> str: ...

    def _grab(self) -> np.ndarray | None:
        while True:
            if self._cap is not None:
                ok, image = self._cap.read()
                if ok and image is not None:
                    return image
            self._reconnect()  # returns with a fresh capture, or raises EndOfSource / SourceError

    def _reconnect(self) -> None:
        self._emit("lost", "no frame from the device/stream; reconnecting")
        self._close()
        attempt = 0
        while not self._stop.is_set():
            attempt += 1
            limit = self.options.max_reconnects
            if limit is not None and attempt > limit:
                raise SourceError(f"{self.kind} source {self.name!r} lost and not back after {limit} attempts")
            delay = self.backoff_s[min(attempt - 1, len(self.backoff_s) - 1)]
            self._emit("reconnecting", f"attempt {attempt} in {delay:g} s", attempt)
            if self._stop.wait(delay):
                break
            cap = self._make_capture()
            if cap is not None and cap.isOpened():
                self._cap = cap
                self._shape = None  # a replugged camera may come back at another resolution
                self.stats.reconnects += 1
                self._emit("reconnected", f"after {attempt} attempt(s)", attempt)
                return
            if cap is not None:
                cap.release()
        raise EndOfSource


@register_source("webcam")
class WebcamSource(_LiveCaptureSource):
    """A local camera by index ("0", "1", ...)."""

    priority = 10

    @classmethod
    def accepts(cls, spec: str) -> bool:
        return spec.strip().isdigit()

    def _target(self) -> Any:
        return int(self.name)

    def _open_error(self) -> str:
        found = [c.index for c in list_cameras()]
        have = f"cameras found: {', '.join(map(str, found))}" if found else "no camera was found on this machine"
        return (f"camera index {self.name} could not be opened ({have}); pass --source demo, a video file, "
                "an image folder or a stream URL instead")


@register_source("stream")
class StreamSource(_LiveCaptureSource):
    """A network stream (rtsp/rtmp/http/...) read through OpenCV's FFmpeg backend."""

    priority = 20

    @classmethod
    def accepts(cls, spec: str) -> bool:
        m = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://", spec)
        return bool(m) and m.group(1).lower() in STREAM_SCHEMES

    def _make_capture(self) -> Any:
        if self._factory is not None:
            return self._factory(self._target())
        cv2 = _cv2()
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 5000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 5000]
        try:
            return cv2.VideoCapture(self.name, cv2.CAP_FFMPEG, params)
        except (cv2.error, TypeError):  # pragma: no cover  (builds without the params overload)
            return cv2.VideoCapture(self.name)

    def _open_error(self) -> str:
        return f"stream {self.name!r} could not be opened (unreachable, wrong URL or unsupported codec)"


@register_source("video")
class VideoFileSource(_CvCaptureSource):
    """A video file; paced at its own fps by default so it behaves like a camera (``realtime=False``: as fast as
    decoded, for offline processing). A read failure before the end is a corrupt frame: skipped and counted."""

    priority = 50

    @classmethod
    def accepts(cls, spec: str) -> bool:
        p = Path(spec).expanduser()
        return p.is_file() and p.suffix.lower() not in IMAGE_EXTENSIONS

    _decoded = 0  # frames decoded or skipped so far (media clock)

    @property
    def realtime(self) -> bool:
        return True if self.options.realtime is None else bool(self.options.realtime)

    @property
    def loop(self) -> bool:
        return bool(self.options.loop)

    def _open(self) -> SourceInfo:
        path = Path(self.name).expanduser()
        if not path.is_file():
            raise SourceError(f"video file {str(path)!r} does not exist")
        cap = self._make_capture()
        if cap is None or not cap.isOpened():
            raise SourceError(f"video file {str(path)!r} could not be opened (not a video OpenCV can decode?)")
        self._cap = cap
        self._decoded = 0
        info = self._info_from(cap, live=False)
        if info.width <= 0 or info.height <= 0:
            ok, first = cap.read()
            if not ok:
                cap.release()
                raise SourceError(f"video file {str(path)!r} has no readable frame")
            cap.set(_cv2().CAP_PROP_POS_FRAMES, 0)
            info = SourceInfo(info.kind, info.name, first.shape[1], first.shape[0], info.fps, False, info.num_frames)
        return info

    def _position(self) -> float:
        return float(self._cap.get(_cv2().CAP_PROP_POS_FRAMES))

    def _media_time(self) -> float | None:
        fps = self.info.fps if self.info else None
        return (self._decoded - 1) / fps if fps else None

    def _grab(self) -> np.ndarray | None:
        if self._cap is None:
            raise EndOfSource
        before = self._position()
        ok, image = self._cap.read()
        if ok:
            self._decoded += 1
            return image
        after = self._position()
        total = self.info.num_frames if self.info else None
        if total is not None and after > before and after < total:
            self._decoded += 1
            return None  # the decoder moved past a frame it could not decode
        if self.loop and self.stats.delivered > 0:
            self._cap.set(_cv2().CAP_PROP_POS_FRAMES, 0)
            self.stats.loops += 1
            self._emit("looped", f"restarted after {self.stats.delivered} frames")
            ok, image = self._cap.read()
            self._decoded += 1
            return image if ok else None
        raise EndOfSource


@register_source("demo")
class DemoSource(VideoFileSource):
    """The bundled demo clip (assets/demo_walk.mp4), looped and paced like a 10 fps camera."""

    priority = 0

    @classmethod
    def accepts(cls, spec: str) -> bool:
        return spec.strip().lower() == "demo"

    def __init__(self, name: str = "demo", options: SourceOptions | None = None,
                 capture_factory: CaptureFactory | None = None) -> None:
        super().__init__(str(DEMO_VIDEO), options, capture_factory)  # the spec is just "demo"

    @property
    def loop(self) -> bool:
        return True if self.options.loop is None else bool(self.options.loop)

    def _open(self) -> SourceInfo:
        if not DEMO_VIDEO.is_file():
            raise SourceError(f"demo video {str(DEMO_VIDEO)!r} is missing from this checkout")
        return super()._open()


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


@dataclass(frozen=True)
class CameraInfo:
    index: int
    width: int
    height: int
    name: str


def list_cameras(max_index: int = 4) -> list[CameraInfo]:
    """Probe camera indices 0..max_index-1 (each failed probe takes about a millisecond) for the GUI's picker."""
    cv2 = _cv2()
    dev = Path("/dev")
    if dev.is_dir() and os.name == "posix" and Path("/sys/class").is_dir():
        if not any(dev.glob("video*")):
            return []  # Linux with no video device node: nothing to probe
    found: list[CameraInfo] = []
    for i in range(max_index):
        cap = cv2.VideoCapture(i)
        try:
            if cap.isOpened():
                w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
                name = _camera_name(i)
                found.append(CameraInfo(i, w, h, name))
        finally:
            cap.release()
    return found


def _camera_name(index: int) -> str:
    p = Path(f"/sys/class/video4linux/video{index}/name")
    try:
        return p.read_text().strip()
    except OSError:
        return f"camera {index}"
