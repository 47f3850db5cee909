"""Sources backed by OpenCV's ``VideoCapture``: webcam (by index), network stream, video file and the bundled demo
clip; and ``list_cameras`` for the GUI's picker.

A webcam or stream that disappears mid-run is reported (``SourceEvent`` "lost") and reopened with exponential
backoff until it comes back or ``max_reconnects`` is spent; a camera index that cannot be opened raises
``SourceError`` at ``open()`` naming the index and the cameras found.
"""

from __future__ import annotations

import os
import re
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from assets import asset_path
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

__all__ = ["DEMO_VIDEO", "STREAM_SCHEMES", "CameraInfo", "CaptureFactory", "DemoSource", "StreamSource",
           "VideoFileSource", "WebcamSource", "list_cameras"]

EARLY_END_TOLERANCE = 2  # container frame counts may be off by a frame or two: more missing means damage
DEMO_VIDEO = asset_path("demo_person.mp4")  # one close, full-body walker: the bundled model finds her
STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")


CaptureFactory = Callable[[int | str], Any]  # (target) -> like cv2.VideoCapture: isOpened/read/get/release (+set: file)


class _CvCaptureSource(FrameSource):
    """Shared code for sources backed by ``cv2.VideoCapture`` (tests may inject a fake ``capture_factory``)."""

    def __init__(self, name: str, options: SourceOptions | None = None,
                 capture_factory: CaptureFactory | None = None) -> None:
        super().__init__(name, options)
        self._factory = capture_factory
        self._cap: Any = None

    def _target(self) -> int | str:
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

    def _target(self) -> int | str:
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
    """A video file, processed frame by frame by default (the field's convention for files: every frame, in order,
    as fast as the pipeline goes); ``realtime=True`` paces it at its own fps like a camera (the GUI's live view does,
    and then frames the pipeline cannot keep up with are dropped). A read failure before the end is a corrupt frame:
    skipped and counted."""

    priority = 50

    @classmethod
    def accepts(cls, spec: str) -> bool:
        p = Path(spec).expanduser()
        return p.is_file() and p.suffix.lower() not in IMAGE_EXTENSIONS

    _decoded = 0  # frames decoded or skipped so far (media clock)

    @property
    def realtime(self) -> bool:
        return bool(self.options.realtime)

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
        if total is not None and total - self._decoded > EARLY_END_TOLERANCE:  # the header promised more frames
            self.stats.corrupt += 1
            self._emit("corrupt", f"{self.name}: the file ended early, at frame {self._decoded} of the {total} its "
                                  "header announces (damaged or cut off?)")
        raise EndOfSource


@register_source("demo")
class DemoSource(VideoFileSource):
    """The bundled demo clip (assets/demo_person.mp4), looped and paced like a 10 fps camera unless ``realtime``
    is False (it stands in for a webcam, so by default it behaves like one)."""

    priority = 0

    @property
    def realtime(self) -> bool:
        return True if self.options.realtime is None else bool(self.options.realtime)

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
