"""Capture on its own thread and hand over only the newest frame (a one-slot mailbox).

Why: inference is slower than a camera, and a queue between them only adds latency and memory (MediaPipe's flow
limiter, ultralytics' LoadStreams). The capture thread overwrites an unread frame (counted as dropped); the consumer
takes whatever is newest when it is free. For offline processing (``drop_old=False``) the thread instead waits until
the slot is empty, so every frame is processed and the "queue" is still one frame long.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from engine.live.sources import Frame, FrameSource

T = TypeVar("T")
log = logging.getLogger(__name__)


class Mailbox(Generic[T]):
    """A thread-safe one-item slot. ``put`` replaces an unread item (counted in ``dropped``)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._closed = False
        self.dropped = 0
        self.delivered = 0

    def put(self, item: T) -> bool:
        """Store ``item``; True when it replaced an unread one."""
        with self._cond:
            replaced = self._item is not None
            if replaced:
                self.dropped += 1
            self._item = item
            self._cond.notify_all()
            return replaced

    def wait_empty(self, stop: threading.Event, poll_s: float = 0.05) -> bool:
        """Wait until the slot is free; False when ``stop`` was set or the mailbox closed meanwhile."""
        with self._cond:
            while self._item is not None and not self._closed and not stop.is_set():
                self._cond.wait(poll_s)
            return not (self._closed or stop.is_set())

    def put_wait(self, item: T, stop: threading.Event, poll_s: float = 0.05) -> bool:
        """Wait until the slot is free (or ``stop``/close), then store; False if it gave up."""
        with self._cond:
            while self._item is not None and not self._closed and not stop.is_set():
                self._cond.wait(poll_s)
            if self._closed or stop.is_set():
                return False
            self._item = item
            self._cond.notify_all()
            return True

    def take(self, timeout: float | None = None) -> T | None:
        """The newest item, waiting up to ``timeout`` s; None on timeout or when closed and empty."""
        with self._cond:
            if self._item is None and not self._closed:
                self._cond.wait_for(lambda: self._item is not None or self._closed, timeout)
            item, self._item = self._item, None
            if item is not None:
                self.delivered += 1
                self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def exhausted(self) -> bool:
        """Closed and nothing left to take."""
        with self._cond:
            return self._closed and self._item is None


class CaptureThread:
    """Reads ``source`` on a thread into a ``Mailbox``; closes the mailbox when the source ends or fails."""

    def __init__(self, source: FrameSource, *, drop_old: bool = True,
                 on_error: Callable[[BaseException], None] | None = None, name: str = "posearena-capture") -> None:
        self.source = source
        self.drop_old = drop_old
        self.mailbox: Mailbox[Frame] = Mailbox()
        self.captured = 0
        self.error: BaseException | None = None
        self.finished = threading.Event()
        self._on_error = on_error
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def dropped(self) -> int:
        return self.mailbox.dropped

    def start(self) -> CaptureThread:
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> bool:
        """Ask the thread to end and join it; False when it did not end in time (e.g. a blocked device read)."""
        self._stop.set()
        self.source.request_stop()
        self.mailbox.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                # lockstep: read only once the slot is free, so the frame is fresh when it goes in (one read ahead)
                if not self.drop_old and not self.mailbox.wait_empty(self._stop):
                    break
                frame = self.source.read()
                if frame is None:
                    break
                self.captured += 1
                if self.drop_old:
                    self.mailbox.put(frame)
                elif not self.mailbox.put_wait(frame, self._stop):
                    break
        except BaseException as exc:  # reported, never swallowed: the engine surfaces it
            self.error = exc
            log.error("capture from %s failed: %s", self.source.name, exc)
            if self._on_error is not None:
                try:
                    self._on_error(exc)
                except Exception:  # pragma: no cover
                    log.exception("error callback failed")
        finally:
            self.mailbox.close()
            self.finished.set()
