"""Person detectors: YOLO loaded from a real file (random weights, offline), the whole-frame fallback, sparse
detection with boxes carried from poses, IoU tracking."""

from __future__ import annotations

import inspect

import cv2
import numpy as np
import pytest

from engine.live.detector import (
    WHOLE_FRAME_LABEL,
    IouTracker,
    PersonDetector,
    WholeFrameDetector,
    YoloPersonDetector,
    boxes_from_joints,
    detector_kinds,
    iou_xywh,
    make_detector,
)
from tests.conftest import ROOT
from tests.engine.live.test_live_fakes import FixedDetector

STILL = ROOT / "assets" / "still_person.jpg"


@pytest.fixture(scope="module")
def yolo_file(tmp_path_factory):
    from ultralytics import YOLO

    path = tmp_path_factory.mktemp("yolo") / "yolov8n-random.pt"
    YOLO("yolov8n.yaml").save(str(path))
    return path


def test_registry():
    assert {"yolo", "whole-frame"} <= set(detector_kinds())


def test_yolo_from_a_saved_file_runs_and_finds_nobody_with_random_weights(yolo_file):
    det = make_detector(str(yolo_file), imgsz=320, tracker="bytetrack")
    assert isinstance(det, YoloPersonDetector)
    assert "YOLO" in det.label and "@320" in det.label
    img = cv2.imread(str(STILL))
    d = det(img)
    assert d.boxes_xywh.shape == (0, 4) and d.track_ids.shape == (0,) and d.origin == "detector"


@pytest.mark.parametrize("tracker", ["bytetrack", "iou"])  # the library's track() and plain predict()
def test_yolo_leaves_torch_threads_as_they_were(yolo_file, tracker):
    """ultralytics sets torch's threads to cpu_count - 1 when it sets up a model: one thread on a 2-core machine
    for every pose model after the first detection. The detector undoes that."""
    import torch
    from ultralytics.utils import NUM_THREADS

    before = torch.get_num_threads()
    mine = NUM_THREADS + 1  # a count ultralytics would change
    torch.set_num_threads(mine)
    try:
        det = YoloPersonDetector(yolo_file, imgsz=160, tracker=tracker)
        img = cv2.imread(str(STILL))
        det(img)
        det(img)
        assert torch.get_num_threads() == mine
    finally:
        torch.set_num_threads(before)


def test_missing_yolo_weights_offline_fall_back_to_the_bundled_nanodet_detector(tmp_path, monkeypatch):
    """auto = YOLO when its weights can be had -> NanoDet (bundled, multi-person) -> BlazePose's -> whole frame."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    det = make_detector("auto")
    assert det.kind == "nanodet" and "NanoDet" in det.label
    assert "yolo11n.pt" in det.note and "offline" in det.note
    d = det(cv2.imread(str(ROOT / "assets" / "still_person.jpg")))
    assert d.boxes_xywh.shape[1] == 4


def test_without_nanodet_auto_falls_back_to_the_bundled_blazepose_detector(tmp_path, monkeypatch):
    import engine.live.detector_nanodet as nd

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    monkeypatch.setattr(nd, "MODEL_PATH", tmp_path / "missing.onnx")
    det = make_detector("auto")
    assert det.kind == "blazepose" and "BlazePose" in det.label
    assert "yolo11n.pt" in det.note and "offline" in det.note and "nanodet" in det.note
    d = det(cv2.imread(str(ROOT / "assets" / "still_person.jpg")))
    assert d.boxes_xywh.shape[1] == 4  # runs on a real image (a person or none, never an error)
    det = make_detector(str(tmp_path / "nope.pt"))
    assert isinstance(det, WholeFrameDetector) and "no such file" in det.note


def test_whole_frame_box_only_when_no_detector_file_exists(tmp_path, monkeypatch):
    import engine.live.detector_blazepose as bp
    import engine.live.detector_nanodet as nd

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("YOLO_OFFLINE", "1")
    monkeypatch.setattr(bp, "DETECTION_MODEL", tmp_path / "missing.tflite")
    monkeypatch.setattr(nd, "MODEL_PATH", tmp_path / "missing.onnx")
    det = make_detector("auto")
    assert isinstance(det, WholeFrameDetector) and det.label == WHOLE_FRAME_LABEL
    assert "yolo11n.pt" in det.note and "offline" in det.note and "blazepose" in det.note and "nanodet" in det.note


def test_online_yolo_path_is_taken_when_not_offline(tmp_path, monkeypatch):
    """Online, "auto" hands ultralytics the bare weights name, so ultralytics downloads it (no network here: the
    constructor is replaced by a recorder; the real download is ultralytics' own)."""
    import engine.live.detector as detector_mod

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("YOLO_OFFLINE", raising=False)
    asked: list[str] = []

    def fake_init(self, weights, **kw):
        asked.append(str(weights))
        raise detector_mod.DetectorError(f"{weights}: (test) download refused")

    monkeypatch.setattr(detector_mod.YoloPersonDetector, "__init__", fake_init)
    det = make_detector("auto")
    assert asked[0] == "yolo11n.pt"  # a name, not a local path: ultralytics fetches it
    assert "download refused" in det.note


def test_broken_weights_file_falls_back(tmp_path):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"this is not a checkpoint")
    det = make_detector(str(bad))
    assert isinstance(det, WholeFrameDetector) and "broken.pt" in det.note


def test_whole_frame_detector_gives_one_box():
    det = make_detector("none")
    d = det(np.zeros((48, 64, 3), np.uint8))
    assert d.boxes_xywh.tolist() == [[0, 0, 64, 48]] and d.track_ids.tolist() == [0] and d.origin == "whole-frame"


def test_boxes_from_joints_enlarges_and_clips():
    j = np.array([[[10, 20], [30, 60]], [[np.nan, np.nan], [np.nan, np.nan]], [[90, 2], [99, 40]]], float)
    b = boxes_from_joints(j, (100, 100))
    assert b[0] == pytest.approx([7.5, 15.0, 25.0, 50.0])  # 20x40 -> 25x50 about (20, 40)
    assert np.isnan(b[1]).all()
    assert b[2][0] + b[2][2] == pytest.approx(100) and b[2][1] == 0  # clipped to the image
    assert boxes_from_joints(j[:1], (50, 100))[0][3] == pytest.approx(35.0)  # bottom edge clipped


def test_detect_every_n_carries_boxes_from_poses():
    det = FixedDetector([[10, 10, 20, 40]], [5], every_n=3)
    img = np.zeros((100, 100, 3), np.uint8)
    origins = []
    for _ in range(7):
        d = det(img)
        origins.append(d.origin)
        joints = np.array([[[12, 12], [28, 48]]], float) + 1.0  # the person moved a little
        det.update_from_poses(d.track_ids, joints, img.shape[:2])
    assert origins == ["detector", "carried", "carried", "detector", "carried", "carried", "detector"]
    assert det.calls == 3
    d = det(img)
    assert d.track_ids.tolist() == [5]  # ids survive the carry


def test_nobody_carried_means_detect_now():
    det = FixedDetector(np.zeros((0, 4)), [], every_n=5)
    img = np.zeros((10, 10, 3), np.uint8)
    for _ in range(3):
        d = det(img)
        det.update_from_poses(d.track_ids, np.zeros((0, 18, 2)), img.shape[:2])
    assert det.calls == 3


def test_iou_tracker_keeps_ids_and_drops_stale_tracks():
    t = IouTracker(iou_threshold=0.3, max_missed=1)
    a = t.update(np.array([[0, 0, 10, 10], [50, 50, 10, 10]], float))
    b = t.update(np.array([[52, 51, 10, 10], [1, 1, 10, 10]], float))
    assert b.tolist() == [a[1], a[0]]
    t.update(np.zeros((0, 4)))
    t.update(np.zeros((0, 4)))
    c = t.update(np.array([[0, 0, 10, 10]], float))
    assert c[0] not in a  # the old track expired: a new id


def test_iou_values():
    assert iou_xywh([[0, 0, 10, 10]], [[5, 0, 10, 10]])[0, 0] == pytest.approx(50 / 150)
    assert iou_xywh([[0, 0, 10, 10]], [[20, 20, 5, 5]])[0, 0] == 0.0


def test_detection_only_when_needed_is_every_detectors_default():
    """Between detections boxes come from the poses, for every detector unless told otherwise."""
    from engine.defaults import DETECTOR
    from engine.live.detector_blazepose import BlazePoseDetector

    assert DETECTOR.every > 1
    assert inspect.signature(PersonDetector.__init__).parameters["every_n"].default == DETECTOR.every
    assert BlazePoseDetector().every_n == DETECTOR.every
    assert make_detector("blazepose").every_n == DETECTOR.every
    assert make_detector("none").every_n == 1  # the whole frame costs nothing: never carried


def test_a_lost_track_or_a_low_pose_confidence_detects_at_once():
    det = FixedDetector([[10, 10, 20, 40], [60, 10, 20, 40]], [5, 6], every_n=10)
    img = np.zeros((100, 100, 3), np.uint8)
    joints = np.array([[[12, 12], [28, 48]], [[62, 12], [78, 48]]], float)
    origins = []
    for conf in ([0.9, 0.9], [0.9, 0.9], [0.9, 0.2], [0.9, 0.9]):  # person 6's pose confidence drops on frame 2
        d = det(img)
        origins.append(d.origin)
        det.update_from_poses(d.track_ids, joints, img.shape[:2], np.array(conf))
    origins.append(det(img).origin)
    assert origins == ["detector", "carried", "carried", "detector", "carried"]
    lost = joints.copy()
    lost[1] = np.nan  # no pose for person 6: lost
    det.update_from_poses(np.array([5, 6]), lost, img.shape[:2])
    assert det(img).origin == "detector" and det.detections == 3 and det.carries == 3


def test_tracker_matches_a_tall_pose_box_to_the_same_persons_square_detector_box():
    """Carried boxes are tight pose boxes, detectors give squares: compared as squares, the id survives."""
    t = IouTracker(iou_threshold=0.3)
    first = t.update(np.array([[100, 0, 300, 300]], float))  # a detector's square box
    t.observe(np.array([[200, 10, 90, 290]], float), first)  # then the person's pose box (tall), carried
    again = t.update(np.array([[95, 5, 300, 300]], float))
    assert again.tolist() == first.tolist()
    assert iou_xywh([[200, 10, 90, 290]], [[95, 5, 300, 300]])[0, 0] < 0.3  # raw shapes would not match
