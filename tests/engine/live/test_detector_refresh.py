"""The periodic detection in the background: newcomers join, carried persons are not doubled, stale and late
refreshes give way to a detection on the inference thread, a failing background finder falls back."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from engine.live.detector import CARRY_SCALE
from engine.live.detector_refresh import LATE_AFTER, Finder, FindingDetector

IMAGE = np.zeros((480, 640, 3), np.uint8)
ALICE = np.array([[100, 100, 80, 200]], np.float32)
BOB = np.array([[400, 120, 80, 200]], np.float32)


class ScriptedDetector(FindingDetector):
    """``_find`` on this thread returns ``here``; the background finder waits for ``release`` and returns
    ``behind`` (or raises ``fail``)."""

    kind = "scripted"

    def __init__(self, every_n: int = 3, background: bool = True, search_every_s: float = 0.0) -> None:
        super().__init__(every_n, "iou", background, search_every_s=search_every_s)
        self.here, self.behind = ALICE, ALICE
        self.release = threading.Event()
        self.fail: Exception | None = None
        self.inline_calls = 0
        self.background_calls = 0

    def _find(self, image_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.inline_calls += 1
        return self.here, np.ones(len(self.here), np.float32)

    def _background_finder(self) -> Finder:
        def find(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            self.background_calls += 1
            assert self.release.wait(10)
            if self.fail is not None:
                raise self.fail
            return self.behind, np.full(len(self.behind), 0.9, np.float32)

        return find


def carry(det: ScriptedDetector, dets) -> None:
    """A pose of each person whose carried box is that person's box again (a person standing still)."""
    b = np.asarray(dets.boxes_xywh, np.float64)
    centre, half = b[:, :2] + b[:, 2:] / 2, b[:, 2:] / 2 / CARRY_SCALE
    joints = np.stack([centre - half, centre + half], axis=1)
    det.update_from_poses(dets.track_ids, joints, IMAGE.shape[:2])


def wait_for(cond, what: str) -> None:
    for _ in range(500):
        if cond():
            return
        time.sleep(0.01)
    raise AssertionError(what)


def wait_started(det: ScriptedDetector, n: int = 1) -> None:
    wait_for(lambda: det.background_calls >= n, "the background detection did not start")


def wait_idle(det: ScriptedDetector) -> None:
    for _ in range(500):
        if det._worker is not None and not det._worker.busy:
            return
        time.sleep(0.01)
    raise AssertionError("the background detection did not finish")


def run_frames(det: ScriptedDetector, n: int, dets=None):
    for _ in range(n):
        dets = det(IMAGE)
        carry(det, dets)
    return dets


def test_newcomer_found_in_the_background_joins_with_a_new_id():
    det = ScriptedDetector(every_n=3)
    first = det(IMAGE)
    assert first.origin == "detector" and det.inline_calls == 1
    carry(det, first)
    det.behind = np.concatenate([ALICE, BOB])  # Bob walked in; Alice is still carried
    dets = run_frames(det, 3)  # the third carried frame is due: handed to the worker, still carried here
    wait_started(det)
    assert det.inline_calls == 1 and det.background_calls == 1 and dets.origin == "carried" and len(dets) == 1
    det.release.set()
    wait_idle(det)
    dets = det(IMAGE)
    assert det.inline_calls == 1, "the due detection must not run on the inference thread"
    assert len(dets) == 2, "Bob joins; Alice (found again in the background) is not doubled"
    assert dets.track_ids[0] == first.track_ids[0] and dets.track_ids[1] not in first.track_ids
    assert det.refreshes == 1 and det.refresh_ms and det.refresh_ms[0] >= 0
    det.close()


def test_the_next_search_is_due_an_interval_after_the_last_one_ended():
    det = ScriptedDetector(every_n=3)
    carry(det, det(IMAGE))
    run_frames(det, 3)  # the third carried frame hands the search over
    wait_started(det)
    run_frames(det, 5)  # a slow search: still running well past one interval
    assert det.background_calls == 1
    det.release.set()
    wait_idle(det)
    run_frames(det, 1)  # its result is taken here: the interval starts now
    run_frames(det, 2)
    time.sleep(0.1)
    assert det.background_calls == 1, "a search right after a slow one would keep the background busy"
    run_frames(det, 1)
    wait_started(det, 2)
    assert det.inline_calls == 1
    det.close()


def test_at_most_one_search_per_interval_of_wall_time():
    det = ScriptedDetector(every_n=2, search_every_s=0.3)
    det.release.set()
    carry(det, det(IMAGE))  # detected here: everyone was just found
    run_frames(det, 6)  # frames are due, the time is not
    time.sleep(0.05)
    assert det.background_calls == 0 and det.inline_calls == 1
    time.sleep(0.3)
    run_frames(det, 1)
    wait_started(det)
    wait_idle(det)
    run_frames(det, 6)  # its result is taken; the next one waits for the time again
    time.sleep(0.05)
    assert det.background_calls == 1 and det.inline_calls == 1
    det.close()


def test_a_detection_here_makes_the_refresh_in_flight_stale():
    det = ScriptedDetector(every_n=2)
    carry(det, det(IMAGE))
    det.behind = np.concatenate([ALICE, BOB])
    run_frames(det, 2)
    wait_started(det)
    det.update_from_poses([1], np.full((1, 2, 2), np.nan), IMAGE.shape[:2])  # the track is lost
    dets = det(IMAGE)
    assert dets.origin == "detector" and det.inline_calls == 2
    carry(det, dets)
    det.release.set()
    wait_idle(det)
    dets = det(IMAGE)
    assert len(dets) == 1 and det.refreshes == 0, "a result older than the last detection here is dropped"
    det.close()


def test_a_late_refresh_gives_way_to_a_detection_here():
    det = ScriptedDetector(every_n=2)
    dets = det(IMAGE)
    carry(det, dets)
    origins = []
    for _ in range(2 + LATE_AFTER * 2 + 1):
        dets = det(IMAGE)
        origins.append(dets.origin)
        carry(det, dets)
    # handed over on the 2nd carried frame, then waited for LATE_AFTER intervals, then detected here once
    assert origins.count("detector") == 1 and origins[1 + LATE_AFTER * 2] == "detector", origins
    wait_started(det)
    assert det.background_calls == 1
    det.release.set()
    det.close()


def test_a_failing_background_finder_falls_back_to_detecting_here():
    det = ScriptedDetector(every_n=2)
    det.fail = RuntimeError("runtime could not be built")
    det.release.set()
    carry(det, det(IMAGE))
    run_frames(det, 2)
    wait_idle(det)
    assert det._worker is not None and det._worker.failed == "runtime could not be built"
    run_frames(det, 2)
    assert det.inline_calls == 2, "the next due detection runs here"
    det.close()


def test_a_closed_detector_used_again_searches_in_the_background_again():
    det = ScriptedDetector(every_n=2)
    det.release.set()
    carry(det, det(IMAGE))
    run_frames(det, 2)
    wait_idle(det)
    det.close()
    assert det._worker is None
    again = det(IMAGE)  # a new run with the same detector: nothing carried over
    assert again.origin == "detector"
    carry(det, again)
    run_frames(det, 2)
    wait_started(det, 2)
    assert det.inline_calls == 2 and det._worker is not None and det._worker.thread.is_alive()
    det.close()


def test_background_off_detects_here_when_due():
    det = ScriptedDetector(every_n=2, background=False)
    carry(det, det(IMAGE))
    run_frames(det, 3)
    assert det.inline_calls == 2 and det.background_calls == 0 and det._worker is None


@pytest.mark.parametrize("kind", ["nanodet", "blazepose"])
def test_bundled_detectors_refresh_in_the_background(kind):
    """The real detectors' background finders build their own runtime and find the person of the demo clip."""
    import cv2

    from engine.live.detector import make_detector
    from tests.conftest import ROOT

    cap = cv2.VideoCapture(str(ROOT / "assets" / "demo_person.mp4"))
    ok, frame = cap.read()
    cap.release()
    assert ok
    det = make_detector(kind, every_n=2)
    assert isinstance(det, FindingDetector) and det.background
    boxes, _ = det._background_finder()(frame)
    inline, _ = det._find(frame)
    assert len(boxes) >= 1 and np.allclose(boxes[0], inline[0], atol=2.0)
    det.close()


def test_background_threads_run_at_the_background_priority():
    """The refresh worker and RootNet's worker are niced (Linux), so they take the cycles the pose models leave."""
    import os
    import sys

    from engine.live.background import BACKGROUND_NICE
    from engine.live.root_worker import RootWorker

    if not sys.platform.startswith("linux"):
        pytest.skip("per-thread niceness is a Linux scheduler feature")
    base = os.getpriority(os.PRIO_PROCESS, 0)
    det = ScriptedDetector(every_n=2)
    det.release.set()
    carry(det, det(IMAGE))
    run_frames(det, 2)
    wait_idle(det)
    assert os.getpriority(os.PRIO_PROCESS, det._worker.thread.native_id) == max(base, BACKGROUND_NICE)

    class Roots:
        def predict_roots(self, image, boxes, intr):
            return np.full(len(boxes), 3000.0)

    worker = RootWorker(Roots())
    assert worker.submit(IMAGE, ALICE, np.array([1]), None, 0.0)
    wait_for(lambda: not worker.busy, "RootNet's worker did not finish")
    assert os.getpriority(os.PRIO_PROCESS, worker.thread.native_id) == max(base, BACKGROUND_NICE)
    assert os.getpriority(os.PRIO_PROCESS, 0) == base, "the calling thread keeps its priority"
    det.close()
    worker.close()
