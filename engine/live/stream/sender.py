"""``OscStreamer``: sends each live result to one UDP address as OSC, off the inference thread.

Why this shape: the live pipeline must never wait for a network peer. ``submit`` (called on the inference thread
beside the recorder) only copies the chosen model's joints into a small bounded queue; a sender thread encodes and
sends. When the queue is full (a slow or stalled consumer) the oldest frame is dropped and counted, so the newest
pose always goes out next. UDP to a stopped receiver costs a send call and nothing else. The socket only sends to
the address given: nothing is bound explicitly, nothing is ever read.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from engine.defaults import STREAM
from engine.live.stream.formats import StreamFrame, stream_format

log = logging.getLogger(__name__)

__all__ = ["OscStreamer", "StreamStats", "parse_stream_address"]


def parse_stream_address(text: str | None) -> tuple[str, int]:
    """``osc://HOST:PORT``, ``HOST:PORT``, ``HOST`` or empty (the defaults: loopback, port 39539) -> (host, port);
    ValueError says what is wrong."""
    text = (text or "").strip()
    if not text:
        return STREAM.host, STREAM.port
    parts = urlsplit(text if "://" in text else f"osc://{text}")
    if parts.scheme != "osc":
        raise ValueError(f"stream address {text!r}: only osc://HOST:PORT (UDP) is supported")
    try:
        port = parts.port if parts.port is not None else STREAM.port
    except ValueError:
        raise ValueError(f"stream address {text!r}: the port must be a number from 1 to 65535") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"stream address {text!r}: the port must be a number from 1 to 65535")
    return parts.hostname or STREAM.host, port


@dataclass(frozen=True)
class StreamStats:
    sent: int  # frames sent
    dropped: int  # frames dropped because the sender was behind
    errors: int  # frames the network refused (the last error in ``last_error``)
    last_error: str | None


class OscStreamer:
    """One model's poses to one address. ``models``: the running models (``ModelInfo``); ``model`` None streams
    the first."""

    def __init__(self, address: str | None, models: Sequence[Any], *, fmt: str = STREAM.format,
                 model: str | None = None, queue_frames: int = STREAM.queue_frames) -> None:
        self.host, self.port = parse_stream_address(address)
        self.format = stream_format(fmt)
        names = [m.name for m in models]
        if not names:
            raise ValueError("the stream needs a running model")
        chosen = model or names[0]
        if chosen not in names:
            raise ValueError(f"stream model {chosen!r} is not running (running: {', '.join(names)})")
        info = models[names.index(chosen)]
        self.model, self.joint_set = chosen, info.joint_set
        if self.format.needs_body and info.joint_set not in ("h36m18", "muco21"):
            raise ValueError(f"stream model {chosen!r} has no body skeleton to drive an avatar ({info.joint_set})")
        self._queue: queue.Queue[StreamFrame | None] = queue.Queue(maxsize=max(1, queue_frames))
        self._sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_DGRAM)
        self._t0: float | None = None
        self._sent = self._dropped = self._errors = 0
        self._last_error: str | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="posearena-osc", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"osc://{self.host}:{self.port}"

    def submit(self, result: Any) -> None:
        """Queue one live result (inference thread: a copy of one model's joints, never a wait)."""
        out = (getattr(result, "smoothed", None) or {}).get(self.model) or result.outputs.get(self.model)
        joints = np.array(out.joints_cam_mm if out is not None else np.zeros((0, 0, 3)), dtype=np.float64)
        if self._t0 is None:
            self._t0 = float(result.capture_ts)
        media = getattr(result, "media_ts", None)
        t = float(media) if media is not None else float(result.capture_ts) - self._t0
        n = len(joints)
        frame = StreamFrame(self.model, self.joint_set, int(result.frame_id), t,
                            np.array(result.track_ids[:n], dtype=np.int64), joints)
        try:
            self._queue.put_nowait(frame)
        except queue.Full:
            try:
                self._queue.get_nowait()  # the oldest goes: the newest pose is the one worth sending
            except queue.Empty:
                pass
            with self._lock:
                self._dropped += 1
            try:
                self._queue.put_nowait(frame)
            except queue.Full:
                with self._lock:
                    self._dropped += 1

    def stats(self) -> StreamStats:
        with self._lock:
            return StreamStats(self._sent, self._dropped, self._errors, self._last_error)

    def close(self, timeout: float = 2.0) -> StreamStats:
        """Send what is queued (up to ``timeout``), stop the thread, close the socket."""
        deadline = time.monotonic() + timeout
        while self._thread.is_alive():
            try:
                self._queue.put(None, timeout=0.05)
                break
            except queue.Full:
                if time.monotonic() > deadline:
                    break
        self._thread.join(max(0.0, deadline - time.monotonic()))
        self._sock.close()
        return self.stats()

    def _run(self) -> None:
        while True:
            frame = self._queue.get()
            if frame is None:
                return
            try:
                packet = self.format.packet(frame)
                if packet is not None:
                    self._sock.sendto(packet, (self.host, self.port))
            except OSError as e:  # unreachable host, a full buffer: this frame is lost, the stream goes on
                with self._lock:
                    self._errors += 1
                    self._last_error = f"{self.address}: {e.strerror or e}"
            except Exception:  # a bug in a message set must not end the thread silently
                log.exception("OSC stream: encoding frame %s failed", frame.frame_id)
                with self._lock:
                    self._errors += 1
                    self._last_error = "encoding failed (see the log)"
            else:
                with self._lock:
                    self._sent += 1
