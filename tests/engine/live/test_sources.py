"""Frame sources: demo, video file, image folder, webcam (fake device), stream URL (local HTTP), failure handling."""

from __future__ import annotations

import functools
import http.server
import threading
import time

import cv2
import numpy as np
import pytest

from engine.live.sources import (
    DEMO_VIDEO,
    DemoSource,
    ImageFolderSource,
    SourceError,
    SourceOptions,
    StreamSource,
    VideoFileSource,
    WebcamSource,
    list_cameras,
    make_source,
    open_source,
    register_source,
    source_kinds,
)
from tests.conftest import ROOT
from tests.engine.live.test_live_fakes import ListSource


def _write_clip(path, n=6, size=(64, 48), fps=10):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert w.isOpened()
    for i in range(n):
        w.write(np.full((size[1], size[0], 3), 20 * i, np.uint8))
    w.release()
    return path


def test_registry_has_every_kind_and_refuses_duplicates():
    assert {"demo", "webcam", "video", "images", "stream"} <= set(source_kinds())
    with pytest.raises(ValueError, match="twice"):
        register_source("video")(VideoFileSource)


def test_spec_parsing(tmp_path):
    clip = _write_clip(tmp_path / "c.avi")
    assert isinstance(make_source("demo"), DemoSource)
    assert isinstance(make_source("0"), WebcamSource)
    assert isinstance(make_source(str(clip)), VideoFileSource)
    assert isinstance(make_source(str(tmp_path)), ImageFolderSource)
    assert isinstance(make_source("rtsp://127.0.0.1:1/x"), StreamSource)
    assert isinstance(make_source("http://127.0.0.1:1/x.mjpg"), StreamSource)
    assert isinstance(make_source(f"video:{clip}"), VideoFileSource)  # explicit kind prefix
    with pytest.raises(SourceError, match="no such file"):
        make_source(str(tmp_path / "missing.mp4"))


def test_demo_frames_have_increasing_ids_and_ordered_timestamps():
    src = open_source("demo", realtime=False)
    try:
        frames = [src.read() for _ in range(5)]
    finally:
        src.close()
    assert src.info.width == 640 and src.info.height == 480 and src.info.kind == "demo"
    assert [f.frame_id for f in frames] == list(range(5))
    ts = [f.timestamp for f in frames]
    assert all(b > a for a, b in zip(ts, ts[1:]))
    assert frames[0].image.shape == (480, 640, 3) and frames[0].image.dtype == np.uint8
    assert frames[2].media_ts == pytest.approx(0.2)  # 10 fps file clock


def test_demo_loops_and_realtime_pacing(tmp_path):
    clip = _write_clip(tmp_path / "c.avi", n=4)
    events = []
    src = VideoFileSource(str(clip), SourceOptions(realtime=True, loop=True, on_event=events.append)).open()
    t0 = time.monotonic()
    frames = [src.read() for _ in range(6)]
    elapsed = time.monotonic() - t0
    src.close()
    assert all(f is not None for f in frames)
    assert src.stats.loops == 1 and any(e.kind == "looped" for e in events)
    assert elapsed >= 0.45  # 6 frames at 10 fps: paced like a camera
    assert frames[5].media_ts == pytest.approx(0.5)  # the media clock continues across the loop


def test_demo_asset_is_present():
    assert DEMO_VIDEO.is_file()


def test_end_of_file_ends_cleanly(tmp_path):
    clip = _write_clip(tmp_path / "c.avi", n=5)
    events = []
    with VideoFileSource(str(clip), SourceOptions(realtime=False, on_event=events.append)) as src:
        frames = list(src)
        assert src.read() is None
    assert len(frames) == 5 and src.stats.corrupt == 0
    assert events[-1].kind == "ended"


def test_corrupt_frames_are_skipped_and_counted():
    good = np.zeros((40, 60, 3), np.uint8)
    bad = [None, np.zeros((0, 0, 3), np.uint8), np.zeros((41, 60, 3), np.uint8), np.zeros((40, 60), np.uint8)]
    events = []
    src = ListSource([good, bad[0], good, bad[1], bad[2], good, bad[3], good],
                     SourceOptions(on_event=events.append)).open()
    frames = list(src)
    assert len(frames) == 4 and src.stats.corrupt == 4
    assert [f.frame_id for f in frames] == [0, 1, 2, 3]
    msgs = [e.message for e in events if e.kind == "corrupt"]
    assert len(msgs) == 4 and "differs" in msgs[2]


def test_too_many_bad_frames_in_a_row_is_an_error():
    good = np.zeros((40, 60, 3), np.uint8)
    src = ListSource([good] + [None] * 5, SourceOptions(max_bad_in_row=3)).open()
    assert src.read() is not None
    with pytest.raises(SourceError, match="3 unreadable frames in a row"):
        src.read()


def test_image_folder_natural_order_and_unreadable_file(tmp_path):
    for i in (10, 2, 1):
        cv2.imwrite(str(tmp_path / f"img{i}.png"), np.full((30 + i, 40, 3), i, np.uint8))
    (tmp_path / "img5.png").write_bytes(b"not an image")
    (tmp_path / "notes.txt").write_text("ignored")
    with open_source(str(tmp_path)) as src:
        frames = list(src)
    assert [int(f.image[0, 0, 0]) for f in frames] == [1, 2, 10]  # natural sort, sizes may differ
    assert src.stats.corrupt == 1


def test_single_image_file_and_empty_folder(tmp_path):
    src = open_source(str(ROOT / "assets" / "still_person.jpg"))
    frames = list(src)
    assert len(frames) == 1 and frames[0].image.ndim == 3
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceError, match="contains no images"):
        open_source(str(empty))


def test_unopenable_camera_index_errors_clearly():
    t0 = time.monotonic()
    with pytest.raises(SourceError, match=r"camera index 7 could not be opened"):
        open_source("7")
    assert time.monotonic() - t0 < 5


def test_list_cameras_is_quick():
    t0 = time.monotonic()
    cams = list_cameras()
    assert isinstance(cams, list)
    assert time.monotonic() - t0 < 5


class FakeCap:
    """A cv2.VideoCapture stand-in that delivers ``n`` frames and then fails (device unplugged)."""

    def __init__(self, n: int, opened: bool = True, value: int = 0):
        self.n, self.opened, self.value, self.released = n, opened, value, False

    def isOpened(self):  # noqa: N802  (cv2 API)
        return self.opened

    def read(self):
        if self.n <= 0:
            return False, None
        self.n -= 1
        return True, np.full((48, 64, 3), self.value, np.uint8)

    def get(self, prop):
        return {cv2.CAP_PROP_FRAME_WIDTH: 64, cv2.CAP_PROP_FRAME_HEIGHT: 48, cv2.CAP_PROP_FPS: 30}.get(prop, 0)

    def release(self):
        self.released = True


def test_webcam_lost_midrun_reconnects_with_backoff():
    caps = [FakeCap(3, value=1), FakeCap(0, opened=False), FakeCap(2, value=2)] + [FakeCap(0, opened=False)] * 2
    made = []

    def factory(target):
        assert target == 0
        made.append(caps[len(made)])
        return made[-1]

    events = []
    src = WebcamSource("0", SourceOptions(on_event=events.append, max_reconnects=2), capture_factory=factory)
    src.backoff_s = (0.01, 0.02)
    src.open()
    frames = [src.read() for _ in range(5)]
    assert [int(f.image[0, 0, 0]) for f in frames] == [1, 1, 1, 2, 2]
    assert [f.frame_id for f in frames] == [0, 1, 2, 3, 4]
    kinds = [e.kind for e in events]
    assert kinds[:5] == ["opened", "lost", "reconnecting", "reconnecting", "reconnected"]
    assert src.stats.reconnects == 1 and src.stats.corrupt == 0
    assert caps[0].released
    with pytest.raises(SourceError, match="not back after 2 attempts"):
        src.read()  # lost again, and the device never comes back


def test_webcam_stop_interrupts_reconnect_wait():
    src = WebcamSource("0", capture_factory=lambda t: FakeCap(1) if t == 0 and not src.stats.delivered else
                       FakeCap(0, opened=False))
    src.backoff_s = (5.0,)
    src.open()
    assert src.read() is not None
    threading.Timer(0.2, src.request_stop).start()
    t0 = time.monotonic()
    assert src.read() is None
    assert time.monotonic() - t0 < 2.0


@pytest.fixture
def http_clip(tmp_path):
    _write_clip(tmp_path / "clip.avi", n=4)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}/clip.avi"
    server.shutdown()
    server.server_close()


def test_stream_url_reads_and_reconnects_then_gives_up(http_clip):
    server, url = http_clip
    events = []
    src = StreamSource(url, SourceOptions(on_event=events.append, max_reconnects=2))
    src.backoff_s = (0.01,)
    src.open()
    frames = [src.read() for _ in range(6)]  # 4 frames, stream ends, reconnects, continues
    assert all(f is not None for f in frames) and src.stats.reconnects == 1
    assert {"lost", "reconnected"} <= {e.kind for e in events}
    server.shutdown()
    server.server_close()
    with pytest.raises(SourceError, match="lost and not back"):
        for _ in range(10):
            src.read()
    src.close()


def test_unreachable_stream_errors_clearly():
    with pytest.raises(SourceError, match="could not be opened"):
        open_source("http://127.0.0.1:9/nothing.mjpg")
