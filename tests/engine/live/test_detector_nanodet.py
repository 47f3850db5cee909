"""NanoDet person detector: the GFL decoding and NMS on hand-built tensors, the bundled model on real images
(bus.jpg, the two demo clips), registration, and the asset's hash against its README."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.defaults import DETECTOR
from engine.live.detector import DetectorError, detector_kinds, iou_xywh
from engine.live.detector_nanodet import (
    MODEL_PATH,
    NanoDetPersonDetector,
    anchor_centres,
    decode_level,
    distribution_to_distance,
    input_hw,
    nms_xyxy,
    preprocess,
)
from tests.conftest import ROOT

# bus.jpg (810x1080): the four persons, hand-read from the image, xyxy pixels
BUS_PERSONS = np.array([[48, 398, 245, 902], [670, 380, 810, 875], [221, 405, 344, 857], [0, 550, 63, 873]], float)


def _frames(name: str, every: int, start: int = 0) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(ROOT / "assets" / name))
    out, i = [], 0
    while True:
        ok, f = cap.read()
        if not ok:
            break
        if i >= start and (i - start) % every == 0:
            out.append(f)
        i += 1
    cap.release()
    return out


def _xywh(xyxy: np.ndarray) -> np.ndarray:
    return np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)


@pytest.fixture(scope="module")
def det() -> NanoDetPersonDetector:
    return NanoDetPersonDetector()


@pytest.fixture(scope="module")
def bus() -> np.ndarray:
    ultralytics = pytest.importorskip("ultralytics")
    img = cv2.imread(str(Path(ultralytics.__file__).parent / "assets" / "bus.jpg"))
    assert img is not None and img.shape == (1080, 810, 3)
    return img


# ------------------------------------------------------------------------------------------- hand-built tensors

def _peaked(bins: list[float], reg_max: int = 10) -> np.ndarray:
    """GFL logits [4*(reg_max+1)] putting all mass on bin b (or half on floor/ceil for b + 0.5)."""
    out = np.full((4, reg_max + 1), -60.0)
    for side, b in enumerate(bins):
        for k in {int(np.floor(b)), int(np.ceil(b))}:
            out[side, k] = 60.0
    return out.ravel()


def test_distribution_to_distance_is_the_softmax_mean_bin():
    reg = np.stack([_peaked([0, 3, 10, 2.5]), np.zeros(44)])
    d = distribution_to_distance(reg)
    np.testing.assert_allclose(d[0], [0, 3, 10, 2.5], atol=1e-9)
    np.testing.assert_allclose(d[1], [5, 5, 5, 5], atol=1e-9)  # uniform over 0..10


def test_anchor_centres_are_row_major_half_stride_offset():
    c = anchor_centres((2, 3), 16)
    np.testing.assert_array_equal(c, [[8, 8], [24, 8], [40, 8], [8, 24], [24, 24], [40, 24]])


def test_decode_level_hand_computed_box():
    grid, stride = (2, 3), 16
    cls = np.zeros((6, 80))
    cls[4, 0] = 0.9  # person at row 1, col 1: centre (24, 24)
    cls[0, 0] = 0.2  # person below the threshold
    cls[5, 1] = 0.95  # a bicycle: not a person
    reg = np.zeros((6, 44))
    reg[4] = _peaked([1, 0.5, 3, 10])  # l, t, r, b in bins -> 16, 8, 48, 160 px
    boxes, scores = decode_level(cls, reg, stride, grid, threshold=0.5)
    np.testing.assert_allclose(boxes, [[24 - 16, 24 - 8, 24 + 48, 24 + 160]], atol=1e-6)
    np.testing.assert_allclose(scores, [0.9])
    boxes1, _ = decode_level(cls, reg, stride, grid, threshold=0.5, class_id=1)
    np.testing.assert_allclose(boxes1, [[40 - 80, 24 - 80, 40 + 80, 24 + 80]], atol=1e-6)  # uniform -> 5 bins
    with pytest.raises(ValueError, match="anchors"):
        decode_level(cls, reg, stride, (3, 3), threshold=0.5)


def test_nms_keeps_the_best_and_drops_only_heavy_overlaps():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [5, 0, 15, 10], [100, 100, 120, 140]], float)
    scores = np.array([0.9, 0.8, 0.7, 0.95])
    # IoU(0, 1) = 90/110 = 0.82 > 0.6: 1 goes; IoU(0, 2) = 50/150 = 0.33: 2 stays
    assert nms_xyxy(boxes, scores, 0.6).tolist() == [3, 0, 2]
    assert nms_xyxy(boxes, scores, 0.9).tolist() == [3, 0, 1, 2]
    assert nms_xyxy(boxes, scores, 0.6, max_out=2).tolist() == [3, 0]
    assert nms_xyxy(np.zeros((0, 4)), np.zeros(0)).tolist() == []


def test_input_size_keeps_aspect_and_pads_to_multiples_of_32():
    assert input_hw((480, 640), 416) == (320, 416, 0.65)
    assert input_hw((1080, 810), 416)[:2] == (416, 320)
    assert input_hw((480, 640), 416, fixed=True)[:2] == (416, 416)
    with pytest.raises(ValueError):
        input_hw((480, 640), 400)
    img = np.zeros((480, 640, 3), np.uint8)
    img[:, :, 2] = 255  # pure red in BGR
    x, scale = preprocess(img, 416)
    assert x.shape == (1, 3, 320, 416) and scale == 0.65
    np.testing.assert_allclose(x[0, :, 0, 0], [-103.53 / 57.375, -116.28 / 57.12, (255 - 123.675) / 58.395],
                               atol=1e-5)  # BGR order, NanoDet's mean/std
    np.testing.assert_allclose(x[0, 2, 312:, :], -123.675 / 58.395, atol=1e-5)  # black padding below 480 * 0.65


# ------------------------------------------------------------------------------------------------ the asset

def test_asset_sha256_and_size_match_the_readme():
    text = (MODEL_PATH.parent / "README.md").read_text()
    m = re.search(r"`nanodet_coco_416\.onnx` \(([\d,]+) B\) \| `([0-9a-f]{64})`", text)
    assert m, "README row for nanodet_coco_416.onnx not found"
    data = MODEL_PATH.read_bytes()
    assert len(data) == int(m.group(1).replace(",", ""))
    assert hashlib.sha256(data).hexdigest() == m.group(2)
    assert "Apache License" in (MODEL_PATH.parent / "LICENSE").read_text()


def test_registered_and_built_from_a_spec():
    assert "nanodet" in detector_kinds()
    d = NanoDetPersonDetector.from_spec("320", imgsz=640, conf=0.9, every_n=2, tracker="bytetrack")
    assert (d.input_size, d.every_n, d.score_threshold) == (320, 2, DETECTOR.nanodet_score)  # YOLO's conf is not used
    assert d.label == "NanoDet-g @320 (IoU tracking, detect every 2 frames)"
    assert NanoDetPersonDetector.from_spec("", tracker="none", every_n=1).label == "NanoDet-g @416 (no tracking)"
    with pytest.raises(DetectorError, match="multiple of 32"):
        NanoDetPersonDetector.from_spec("300")
    with pytest.raises(DetectorError, match="not found"):
        NanoDetPersonDetector.from_spec("/nonexistent/nanodet.onnx")


# --------------------------------------------------------------------------------------------- real images

def test_bus_four_persons_each_on_a_person(bus):
    d = NanoDetPersonDetector()  # the defaults find all four
    boxes, scores = d.detect_boxes(bus)
    assert len(boxes) == 4, scores
    iou = iou_xywh(_xywh(boxes), _xywh(BUS_PERSONS))
    assert sorted(iou.argmax(1).tolist()) == [0, 1, 2, 3]  # one box per person
    assert iou.max(1).min() > 0.5
    strict, _ = NanoDetPersonDetector(score_threshold=0.4).detect_boxes(bus)  # a stricter threshold: the clearest
    assert 2 <= len(strict) < 4 and iou_xywh(_xywh(strict), _xywh(BUS_PERSONS)).max(1).min() > 0.5


def test_demo_walk_boxes_lie_on_walking_people(det):
    frames = _frames("demo_walk.mp4", every=30, start=15)
    assert len(frames) == 8
    every8 = _frames("demo_walk.mp4", every=8)
    background = np.median(np.stack([cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in every8]), axis=0)
    counts, on_movers, upright, total = [], 0, 0, 0
    for f in frames:
        boxes, _ = det.detect_boxes(f)
        counts.append(len(boxes))
        moving = np.abs(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY).astype(np.float32) - background) > 25
        for x1, y1, x2, y2 in boxes.astype(int):
            total += 1
            if moving[y1:y2, x1:x2].mean() >= 0.3:  # the people walk; the background does not
                on_movers += 1
                upright += (y2 - y1) >= 1.5 * (x2 - x1)
    assert all(3 <= c <= 13 for c in counts), counts
    assert 5.0 <= np.mean(counts) <= 9.0, counts
    # at the default threshold a few static objects (a cone, a sign) pass too: the pose model then finds no person
    assert on_movers >= 0.7 * total and upright == on_movers, (on_movers, upright, total)


def test_demo_person_one_tall_box_with_a_steady_id(det):
    for f in _frames("demo_person.mp4", every=10):
        d = det(f)
        assert len(d) == 1 and d.origin == "detector"
        x, y, w, h = d.boxes_xywh[0]
        assert h >= 300 and 200 <= x + w / 2 <= 440 and h >= 1.8 * w
    det.reset()
    consecutive = _frames("demo_person.mp4", every=1)[40:45]
    steady = [int(det(f).track_ids[0]) for f in consecutive]
    assert steady == [steady[0]] * 5 and steady[0] >= 1
