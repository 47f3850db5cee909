"""The one-slot mailbox and the capture thread: newest frame only, drops counted, lockstep for offline files."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from engine.live.capture import CaptureThread, Mailbox
from engine.live.sources import SourceError, SourceOptions
from tests.engine.live.test_live_fakes import ListSource


def test_mailbox_keeps_only_the_newest_and_counts_drops():
    box: Mailbox[int] = Mailbox()
    assert box.put(1) is False
    assert box.put(2) is True
    assert box.put(3) is True
    assert box.take(0.01) == 3
    assert box.dropped == 2 and box.delivered == 1
    assert box.take(0.01) is None  # empty: times out
    box.close()
    assert box.exhausted and box.take(None) is None  # closed: never blocks


def test_mailbox_put_wait_blocks_until_taken():
    box: Mailbox[int] = Mailbox()
    stop = threading.Event()
    box.put(1)
    done = []
    t = threading.Thread(target=lambda: done.append(box.put_wait(2, stop)))
    t.start()
    time.sleep(0.1)
    assert not done  # slot still full
    assert box.take(0.1) == 1
    t.join(1.0)
    assert done == [True] and box.take(0.1) == 2 and box.dropped == 0


def _frames(n):
    return [np.full((8, 8, 3), i % 256, np.uint8) for i in range(n)]


def test_capture_thread_drops_when_consumer_is_slow():
    cap = CaptureThread(ListSource(_frames(200)).open(), drop_old=True).start()
    got = []
    while True:
        f = cap.mailbox.take(0.5)
        if f is None:
            break
        got.append(f.frame_id)
        time.sleep(0.005)  # a slow consumer
    assert cap.finished.wait(2.0)
    assert cap.captured == 200
    assert got == sorted(got) and got[-1] == 199  # newest frames, in order, and the last one is seen
    assert cap.dropped == 200 - len(got) > 0


def test_capture_thread_lockstep_delivers_every_frame():
    cap = CaptureThread(ListSource(_frames(30)).open(), drop_old=False).start()
    got = []
    while (f := cap.mailbox.take(1.0)) is not None:
        got.append(f.frame_id)
    assert got == list(range(30)) and cap.dropped == 0


def test_capture_errors_are_reported_not_swallowed():
    errors = []
    src = ListSource([np.zeros((8, 8, 3), np.uint8)] + [None] * 5, SourceOptions(max_bad_in_row=2)).open()
    cap = CaptureThread(src, on_error=errors.append).start()
    assert cap.finished.wait(2.0)
    assert len(errors) == 1 and isinstance(errors[0], SourceError) and cap.error is errors[0]
    assert cap.mailbox.closed


def test_stop_joins_quickly():
    from engine.live.sources import DemoSource

    src = DemoSource("demo", SourceOptions(realtime=True)).open()
    cap = CaptureThread(src).start()
    assert cap.mailbox.take(2.0) is not None
    t0 = time.monotonic()
    assert cap.stop(2.0)
    assert time.monotonic() - t0 < 1.0
    src.close()


@pytest.mark.parametrize("drop", [True, False])
def test_stop_while_waiting(drop):
    cap = CaptureThread(ListSource(_frames(1000)).open(), drop_old=drop).start()
    time.sleep(0.05)
    assert cap.stop(2.0) and not cap.alive
