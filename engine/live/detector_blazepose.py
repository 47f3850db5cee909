"""Person detector from BlazePose's own ``pose_detection.tflite`` (run with LiteRT), for when no YOLO weights exist.

The model (MediaPipe's pose detector; facts from its graph options, checked against the file at load):

- input ``[1, 224, 224, 3]`` float32 RGB in -1..1; the frame is letterboxed (aspect kept, centred, zero padding);
- ``Identity``   ``[1, 2254, 12]``: per anchor (x_centre, y_centre, w, h) of a box, then 4 keypoints (x, y), all in
  input pixels relative to the anchor centre (scale 224, fixed anchor size 1);
- ``Identity_1`` ``[1, 2254, 1]``: score logits (sigmoid, after clipping to +-100).

Anchors (SSD, MediaPipe's options for this model): 5 layers, strides 8, 16, 32, 32, 32, anchor offset 0.5, aspect
ratio 1 plus one interpolated anchor = 2 per location and layer, fixed size. Layers of equal stride share one grid:
28x28x2 + 14x14x2 + 7x7x6 = 2254.

The box is the head's; the person is given by the keypoints: 0 = hip midpoint, 1 = a point whose distance from 0 is
the radius of a circle around the whole body, 2 = shoulder midpoint, 3 = the same for the upper body. MediaPipe's
landmark ROI is the square of side 2 x radius x 1.25 centred on keypoint 0, rotated so that 0 -> 1 points up.
This detector returns, per person, the axis-aligned square of side 2 x radius centred on keypoint 0 (clipped to the
image), so PoseArena's ``process_bbox`` (x1.25) makes the same crop size MediaPipe uses, and the crop holds the
whole body. Overlapping detections are merged by weighted NMS (IoU 0.3), as MediaPipe does.

It finds near, large persons (a full body ~400 px tall in a 640x480 frame), not distant ones (shared spec).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from engine.defaults import DETECTOR
from engine.live.detector import DetectorError, PersonDetector, accepted_options, register_detector
from engine.live.detector_refresh import Finder, FindingDetector
from models.blazepose.runtime import ASSETS_DIR, BlazePoseError, make_interpreter

__all__ = [
    "BlazePoseDetector",
    "DETECTION_MODEL",
    "PoseDetection",
    "decode_detections",
    "letterbox",
    "merge_detections",
    "pose_detection_anchors",
    "weighted_nms",
]

DETECTION_MODEL = ASSETS_DIR / "pose_detection.tflite"
INPUT_SIZE = 224
NUM_ANCHORS = 2254
NUM_KEYPOINTS = 4
ROI_SCALE = 1.25  # MediaPipe's landmark ROI = 2 x radius x this


def pose_detection_anchors(input_size: int = INPUT_SIZE, strides: tuple[int, ...] = (8, 16, 32, 32, 32),
                           anchors_per_layer: int = 2, offset: float = 0.5) -> np.ndarray:
    """[A,2] anchor centres (x, y) in 0..1 of the letterboxed input; every anchor has size 1 (fixed size)."""
    out: list[np.ndarray] = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        n_per_cell = anchors_per_layer * (j - i)
        size = math.ceil(input_size / strides[i])
        ys, xs = np.mgrid[0:size, 0:size]
        centres = np.stack([(xs.ravel() + offset) / size, (ys.ravel() + offset) / size], axis=1)
        out.append(np.repeat(centres, n_per_cell, axis=0))
        i = j
    return np.concatenate(out).astype(np.float64)


def letterbox(image_rgb: np.ndarray, size: int = INPUT_SIZE) -> tuple[np.ndarray, float, float, float]:
    """MediaPipe's detector input: the image scaled (bilinear, aspect kept) and centred in ``size`` x ``size``, zero
    padding (-1 after normalisation) -> (float32 [size,size,3] in -1..1, scale, pad_x, pad_y) with
    input_x = image_x * scale + pad_x (same for y)."""
    h, w = image_rgb.shape[:2]
    scale = size / max(h, w)
    px, py = (size - w * scale) / 2, (size - h * scale) / 2
    m = np.array([[scale, 0.0, px], [0.0, scale, py]])
    src = image_rgb.astype(np.float32) * (1.0 / 127.5) - 1.0  # warp in float, as MediaPipe does (no rounding)
    boxed = cv2.warpAffine(src, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=(-1.0, -1.0, -1.0))
    return boxed, float(scale), float(px), float(py)


@dataclass
class PoseDetection:
    """One person from the pose detector, in image pixels."""

    score: float
    head_box_xyxy: np.ndarray  # [4] the model's box (the head)
    keypoints: np.ndarray  # [4,2] hip mid, full-body scale point, shoulder mid, upper-body scale point

    @property
    def centre(self) -> np.ndarray:
        return self.keypoints[0]

    @property
    def radius(self) -> float:
        """Radius of the circle around the whole body (hip mid -> keypoint 1)."""
        return float(np.linalg.norm(self.keypoints[1] - self.keypoints[0]))

    @property
    def rotation(self) -> float:
        """MediaPipe's ROI rotation (radians): 0 when keypoint 1 is straight above keypoint 0."""
        d = self.keypoints[1] - self.keypoints[0]
        r = math.pi / 2 - math.atan2(-d[1], d[0])
        return (r + math.pi) % (2 * math.pi) - math.pi

    def body_box_xywh(self) -> np.ndarray:
        """Axis-aligned square of side 2 x radius centred on the hip midpoint (unclipped)."""
        c, r = self.centre, self.radius
        return np.array([c[0] - r, c[1] - r, 2 * r, 2 * r], np.float64)

    def roi_affine(self, out_size: int = 256, scale: float = ROI_SCALE, rotate: bool = True) -> np.ndarray:
        """2x3 affine image -> ROI crop (``out_size`` square) of MediaPipe's landmark ROI (rotated unless told)."""
        side = 2 * self.radius * scale
        th = self.rotation if rotate else 0.0
        c, s = math.cos(th), math.sin(th)
        # crop (u, v) in pixels -> image: centre + ((u/out - .5) * side) * (c, s) + ((v/out - .5) * side) * (-s, c)
        k = side / out_size
        m = np.array([[c * k, -s * k, 0.0], [s * k, c * k, 0.0]])
        m[:, 2] = self.centre - m[:, :2] @ np.array([out_size / 2, out_size / 2])
        return cv2.invertAffineTransform(m)


def _iou_xyxy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of one box [4] with boxes [M,4]."""
    iw = np.clip(np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1]), 0, None)
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.3,
                 max_out: int = 20) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """Weighted NMS: the best remaining box and all boxes overlapping it by more than ``iou_threshold`` form a group;
    the group's box and keypoints are their score-weighted mean, its score the best one's. [(score, box, kps)]."""
    order = np.argsort(-scores)
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    alive = np.ones(len(scores), bool)
    out: list[tuple[float, np.ndarray, np.ndarray]] = []
    for i in range(len(scores)):
        if not alive[i]:
            continue
        idx = np.flatnonzero(alive)
        group = idx[_iou_xyxy(boxes[i], boxes[idx]) > iou_threshold]
        group = np.union1d(group, [i])
        w = scores[group][:, None]
        out.append((float(scores[i]), (boxes[group] * w).sum(0) / w.sum(),
                    (keypoints[group] * w[:, :, None]).sum(0) / w.sum()))
        alive[group] = False
        if len(out) >= max_out:
            break
    return out


def decode_detections(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
                      score_threshold: float = 0.5, input_size: int = INPUT_SIZE
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Model outputs [A,12], [A] (logits) -> boxes [K,4] xyxy, keypoints [K,4,2] (input pixels), scores [K]."""
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores.astype(np.float64), -100.0, 100.0)))
    keep = np.flatnonzero(scores >= score_threshold)
    r = raw_boxes[keep].astype(np.float64)
    a = anchors[keep] * input_size
    cx, cy = r[:, 0] + a[:, 0], r[:, 1] + a[:, 1]
    w, h = r[:, 2], r[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    kps = r[:, 4:4 + 2 * NUM_KEYPOINTS].reshape(-1, NUM_KEYPOINTS, 2) + a[:, None, :]
    return boxes, kps, scores[keep]


def merge_detections(dets: list[PoseDetection], max_out: int = 20, rel_dist: float = 0.35) -> list[PoseDetection]:
    """Across passes (whole frame, tiles): best first, drop a detection whose hip and shoulder midpoints both lie
    within ``rel_dist`` x the larger radius of a kept one's (the same person seen at another scale)."""
    kept: list[PoseDetection] = []
    for d in sorted(dets, key=lambda d: -d.score):
        same = any(max(np.linalg.norm(d.keypoints[0] - k.keypoints[0]), np.linalg.norm(d.keypoints[2] - k.keypoints[2]))
                   < rel_dist * max(d.radius, k.radius) for k in kept)
        if not same:
            kept.append(d)
        if len(kept) >= max_out:
            break
    return kept


@register_detector("blazepose")
class BlazePoseDetector(FindingDetector):
    """MediaPipe's BlazePose person detector (offline, Apache-2.0 model shipped in assets/blazepose/), with IoU
    tracking ids. ``_detect`` takes a BGR frame like every PersonDetector."""

    def __init__(self, model_path: str | Path | None = None, score_threshold: float = 0.5,
                 iou_threshold: float = 0.3, max_det: int = 20, every_n: int = DETECTOR.every, num_threads: int = 2,
                 tracker: str = "iou", tiles: tuple[float, ...] = (), background: bool = DETECTOR.background) -> None:
        super().__init__(every_n, tracker, background)
        self.tiles = tuple(float(f) for f in tiles)
        self.model_path = Path(model_path) if model_path else DETECTION_MODEL
        self.score_threshold, self.iou_threshold, self.max_det = float(score_threshold), float(iou_threshold), max_det
        self.num_threads = int(num_threads)
        self._lock = threading.Lock()  # one interpreter, one frame at a time
        try:
            self._it = make_interpreter(self.model_path, self.num_threads)
        except BlazePoseError as e:
            raise DetectorError(str(e)) from e
        ins, outs = self._it.get_input_details(), self._it.get_output_details()
        shapes = {d["name"]: tuple(int(s) for s in d["shape"]) for d in outs}
        if tuple(int(s) for s in ins[0]["shape"]) != (1, INPUT_SIZE, INPUT_SIZE, 3) \
                or shapes.get("Identity") != (1, NUM_ANCHORS, 12) or shapes.get("Identity_1") != (1, NUM_ANCHORS, 1):
            raise DetectorError(f"{self.model_path}: not the BlazePose pose detector (outputs {shapes})")
        self._inp = ins[0]["index"]
        self._out = {d["name"]: d["index"] for d in outs}
        self.anchors = pose_detection_anchors()
        tiled = f", +{len(self.tiles)} tile scale(s)" if self.tiles else ""
        self.label = f"BlazePose detector @224{tiled} (" + ("IoU tracking" if self._tracker else "no tracking") + (
            f", detect every {every_n} frames)" if every_n > 1 else ")")

    @classmethod
    def from_spec(cls, spec: str, **opts: Any) -> PersonDetector:
        """``blazepose`` or ``blazepose:PATH.tflite``; YOLO trackers become IoU tracking."""
        opts = accepted_options(cls, opts)
        if opts.get("tracker", "iou") != "none":
            opts["tracker"] = "iou"
        return cls(model_path=spec or None, **opts)

    def _run(self, image_rgb: np.ndarray, offset: tuple[float, float] = (0.0, 0.0)
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One pass on an RGB image (or tile at ``offset``): decoded boxes [K,4], keypoints [K,4,2] in image pixels,
        scores [K] above the threshold, before NMS."""
        x, scale, px, py = letterbox(np.ascontiguousarray(image_rgb))
        with self._lock:
            self._it.set_tensor(self._inp, x[None])
            self._it.invoke()
            raw_boxes = self._it.get_tensor(self._out["Identity"])[0].copy()
            raw_scores = self._it.get_tensor(self._out["Identity_1"])[0, :, 0].copy()
        boxes, kps, scores = decode_detections(raw_boxes, raw_scores, self.anchors, self.score_threshold)
        pad = np.array([px, py])
        off = np.asarray(offset, np.float64)
        boxes = (boxes.reshape(-1, 2, 2) - pad) / scale + off
        kps = (kps - pad) / scale + off
        return boxes.reshape(-1, 4), kps, scores

    def tile_origins(self, image_hw: tuple[int, int]) -> list[tuple[int, int, int]]:
        """(x, y, side) of the square tiles searched besides the whole frame: for each fraction f in ``tiles``,
        squares of side f x min(h, w) overlapping by a third, covering the frame."""
        h, w = image_hw
        out = []
        for f in self.tiles:
            side = int(round(min(h, w) * f))
            if side < 32:
                continue
            step = max(1, (2 * side) // 3)

            def starts(n: int, side: int = side, step: int = step) -> list[int]:
                v = list(range(0, max(1, n - side + 1), step))
                if n - side > v[-1] + step // 4:
                    v.append(n - side)
                return v

            xs, ys = starts(w), starts(h)
            out += [(x, y, side) for y in ys for x in xs]
        return out

    def detect_rgb(self, image_rgb: np.ndarray) -> list[PoseDetection]:
        """All persons in an RGB image (image pixels), best first: the whole frame, plus the ``tiles`` squares,
        merged by weighted NMS on the head boxes."""
        passes = [self._run(image_rgb)]
        for x, y, side in self.tile_origins(image_rgb.shape[:2]):
            passes.append(self._run(image_rgb[y:y + side, x:x + side], (x, y)))
        found: list[PoseDetection] = []
        for boxes, kps, scores in passes:
            if len(scores):
                found += [PoseDetection(sc, b, k) for sc, b, k in
                          weighted_nms(boxes, kps, scores, self.iou_threshold, self.max_det)]
        return merge_detections(found, self.max_det)

    def _find(self, image_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = image_bgr.shape[:2]
        rows, scores = [], []
        for d in self.detect_rgb(image_bgr[:, :, ::-1]):
            x, y, bw, bh = d.body_box_xywh()
            x1, y1, x2, y2 = max(0.0, x), max(0.0, y), min(float(w), x + bw), min(float(h), y + bh)
            if x2 - x1 >= 2 and y2 - y1 >= 2:
                rows.append((x1, y1, x2 - x1, y2 - y1))
                scores.append(d.score)
        return np.asarray(rows, np.float32).reshape(-1, 4), np.asarray(scores, np.float32)

    def _background_finder(self) -> Finder:
        twin = BlazePoseDetector(self.model_path, self.score_threshold, self.iou_threshold, self.max_det, every_n=1,
                                 num_threads=1, tracker="none", tiles=self.tiles, background=False)
        return twin._find
