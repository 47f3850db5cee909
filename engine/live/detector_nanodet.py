"""NanoDet person detector: an offline multi-person detector (ONNX, onnxruntime on the CPU).

Why: without YOLO weights, BlazePose's detector only finds near, large persons; NanoDet-g (RangiLyu, Apache-2.0,
COCO-trained) finds far and near persons in one pass (about 100 ms a 640x480 frame at 416, 70 ms at 320, on two
cores). The model ships in ``assets/nanodet/`` (converted from a TF.js copy by ``scripts/convert_nanodet.py``;
provenance and measurements in its README).

The model (checked at load):

- input ``input`` ``[1, 3, H, W]`` float32, BGR, ``(pixel - mean) / std`` with NanoDet's COCO mean/std (its training
  config; RGB/255 measurably loses persons and mislabels a bus as a train). The ONNX file takes any H, W that are
  multiples of 32, so the frame is scaled (aspect kept) to ``input_size`` on its long side and padded at the
  bottom/right to the next multiple of 32: 640x480 at 416 runs at 416x320, not 416x416.
- ``cls_s{8,16,32}`` ``[1, A, 80]``: per-anchor class probabilities (sigmoid is inside the graph); COCO class 0 is
  person. ``reg_s{8,16,32}`` ``[1, A, 44]``: per anchor, 4 sides (left, top, right, bottom) x 11 bins (reg_max 10)
  of Generalized Focal Loss logits. Anchors run row-major over the stride's grid, centres at
  ``((col + 0.5) * stride, (row + 0.5) * stride)`` (the +0.5 was checked: with it, boxes of a mirrored frame mirror
  back onto the original ones to a median 0.1 px; without it they are off by half a stride).
- a side's distance = ``stride * sum_k k * softmax(logits)_k``; box = centre -/+ distances; greedy NMS over all
  strides (IoU 0.6, NanoDet's own value).

Track ids come from the same greedy ``IouTracker`` as the BlazePose detector (YOLO trackers become IoU tracking).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from assets import asset_path
from engine.defaults import DETECTOR
from engine.live.detector import DetectorError, PersonDetector, accepted_options, register_detector
from engine.live.detector_refresh import Finder, FindingDetector
from models.errors import first_line

__all__ = [
    "MODEL_PATH",
    "NanoDetPersonDetector",
    "anchor_centres",
    "decode_level",
    "distribution_to_distance",
    "input_hw",
    "nms_xyxy",
    "preprocess",
]

MODEL_PATH = asset_path("nanodet", "nanodet_coco_416.onnx")
STRIDES = (8, 16, 32)
REG_MAX = 10
NUM_CLASSES = 80
PERSON = 0  # COCO class index
MEAN_BGR = np.array([103.53, 116.28, 123.675], np.float32)
STD_BGR = np.array([57.375, 57.12, 58.395], np.float32)
DEFAULT_SIZE = DETECTOR.nanodet_imgsz
NMS_IOU = 0.6
# NanoDet's scores are IoU-quality (QFL) scores, lower than YOLO's, so YOLO's ``conf`` is not passed on (the choice
# is explained in engine/defaults.py). Measured on demo_walk.mp4 at 416 (boxes on moving pixels vs on the static
# background, per frame): 0.35 -> 6.4 vs 1.0, 0.40 -> 6.2 vs 0.5, 0.45 -> 5.9 vs 0.1.
SCORE_THRESHOLD = DETECTOR.nanodet_score


def input_hw(image_hw: tuple[int, int], size: int, fixed: bool = False) -> tuple[int, int, float]:
    """(H, W, scale) of the network input for an image: long side -> ``size``, each side padded up to a multiple of
    32 (a ``fixed`` model gets ``size`` x ``size``)."""
    if size % 32:
        raise ValueError(f"NanoDet input size must be a multiple of 32, got {size}")
    h, w = image_hw
    scale = size / max(h, w)
    if fixed:
        return size, size, scale
    return -(-round(h * scale) // 32) * 32, -(-round(w * scale) // 32) * 32, scale


def preprocess(image_bgr: np.ndarray, size: int, fixed: bool = False) -> tuple[np.ndarray, float]:
    """BGR frame -> ([1,3,H,W] normalised input, scale): resized with its aspect kept into the top-left corner,
    black padding (what NanoDet's keep-ratio warp does)."""
    import cv2

    h, w = image_bgr.shape[:2]
    H, W, scale = input_hw((h, w), size, fixed)
    nh, nw = min(H, round(h * scale)), min(W, round(w * scale))
    canvas = np.zeros((H, W, 3), np.uint8)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    canvas[:nh, :nw] = cv2.resize(np.ascontiguousarray(image_bgr), (nw, nh), interpolation=interp)
    x = (canvas.astype(np.float32) - MEAN_BGR) / STD_BGR
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None]), scale


def anchor_centres(grid_hw: tuple[int, int], stride: int) -> np.ndarray:
    """[rows*cols, 2] (x, y) anchor centres in input pixels, row-major like the model's outputs."""
    rows, cols = grid_hw
    ys, xs = np.divmod(np.arange(rows * cols), cols)
    return np.stack([(xs + 0.5) * stride, (ys + 0.5) * stride], axis=1).astype(np.float64)


def distribution_to_distance(reg: np.ndarray, reg_max: int = REG_MAX) -> np.ndarray:
    """[N, 4*(reg_max+1)] GFL logits -> [N, 4] expected distances in bins (softmax, then the mean bin index)."""
    logits = np.asarray(reg, np.float64).reshape(-1, 4, reg_max + 1)
    e = np.exp(logits - logits.max(axis=2, keepdims=True))
    p = e / e.sum(axis=2, keepdims=True)
    return p @ np.arange(reg_max + 1, dtype=np.float64)


def decode_level(cls: np.ndarray, reg: np.ndarray, stride: int, grid_hw: tuple[int, int], threshold: float,
                 class_id: int = PERSON, reg_max: int = REG_MAX) -> tuple[np.ndarray, np.ndarray]:
    """One stride's outputs ([A,C] scores, [A,4*(reg_max+1)] logits) -> boxes [K,4] xyxy (input pixels) and
    scores [K] of ``class_id`` at or above ``threshold``."""
    scores = np.asarray(cls)[:, class_id]
    if len(scores) != grid_hw[0] * grid_hw[1]:
        raise ValueError(f"stride {stride}: {len(scores)} anchors for a {grid_hw[0]}x{grid_hw[1]} grid")
    keep = np.flatnonzero(scores >= threshold)
    centres = anchor_centres(grid_hw, stride)[keep]
    d = distribution_to_distance(np.asarray(reg)[keep], reg_max) * stride
    boxes = np.concatenate([centres - d[:, :2], centres + d[:, 2:]], axis=1)
    return boxes, scores[keep].astype(np.float64)


def nms_xyxy(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = NMS_IOU, max_out: int = 100) -> np.ndarray:
    """Greedy NMS: indices of kept boxes, best first; a box overlapping a kept one by IoU > threshold is dropped."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    area = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    kept: list[int] = []
    while len(order) and len(kept) < max_out:
        i, rest = order[0], order[1:]
        kept.append(int(i))
        iw = np.clip(np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]), 0, None)
        ih = np.clip(np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]), 0, None)
        inter = iw * ih
        union = area[i] + area[rest] - inter
        iou = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
        order = rest[iou <= iou_threshold]
    return np.asarray(kept, np.int64)


@register_detector("nanodet")
class NanoDetPersonDetector(FindingDetector):
    """NanoDet-g (COCO) restricted to persons, run by onnxruntime on the CPU, with IoU tracking ids; its periodic
    detection runs on a background thread (``FindingDetector``)."""

    def __init__(self, model_path: str | Path | None = None, input_size: int = DEFAULT_SIZE,
                 score_threshold: float = SCORE_THRESHOLD,
                 iou_threshold: float = NMS_IOU, max_det: int = 20, every_n: int = DETECTOR.every, num_threads: int = 2,
                 tracker: str = "iou", background: bool = DETECTOR.background) -> None:
        super().__init__(every_n, tracker, background)
        self.model_path = Path(model_path) if model_path else MODEL_PATH
        self.score_threshold, self.iou_threshold = float(score_threshold), float(iou_threshold)
        self.max_det = int(max_det)
        if not self.model_path.is_file():
            raise DetectorError(f"NanoDet model {self.model_path} not found (it ships in assets/nanodet/)")
        try:
            import onnxruntime as ort
        except ImportError as e:  # pragma: no cover  (a requirement of the app)
            raise DetectorError(f"onnxruntime is not installed ({first_line(e)})") from e
        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = max(1, int(num_threads)), 1
        # it runs every few frames: its idle workers sleep rather than spin on the cores the pose models need
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._sess = ort.InferenceSession(str(self.model_path), so, providers=["CPUExecutionProvider"])
        except Exception as e:
            raise DetectorError(f"{self.model_path}: onnxruntime could not load it: {first_line(e)}") from e
        self.fixed_size = self._check_layout()
        if self.fixed_size is not None and input_size != self.fixed_size:
            raise DetectorError(f"{self.model_path} has a fixed {self.fixed_size}x{self.fixed_size} input; "
                                f"input_size {input_size} cannot be used")
        try:  # a size that is no multiple of 32 fails here, not on the first frame
            input_hw((480, 640), int(input_size))
        except ValueError as e:
            raise DetectorError(str(e)) from e
        self.input_size = int(input_size)
        self._lock = threading.Lock()  # one session run at a time keeps the thread count at num_threads
        self.label = f"NanoDet-g @{self.input_size} (" + ("IoU tracking" if self._tracker else "no tracking") + (
            f", detect every {every_n} frames)" if every_n > 1 else ")")

    def _check_layout(self) -> int | None:
        """The fixed input side, or None for a size-free model; DetectorError if this is not the NanoDet graph."""
        ins = self._sess.get_inputs()
        outs = {o.name: o.shape for o in self._sess.get_outputs()}
        want = {f"{k}_s{s}": c for s in STRIDES for k, c in (("cls", NUM_CLASSES), ("reg", 4 * (REG_MAX + 1)))}
        if len(ins) != 1 or ins[0].name != "input" or len(ins[0].shape) != 4 \
                or any(n not in outs or outs[n][-1] != c for n, c in want.items()):
            raise DetectorError(f"{self.model_path}: not the NanoDet COCO model (outputs {outs})")
        h, w = ins[0].shape[2:]
        return int(h) if isinstance(h, int) and isinstance(w, int) and h == w else None

    @classmethod
    def from_spec(cls, spec: str, **opts: Any) -> PersonDetector:
        """``nanodet``, ``nanodet:320`` (input size) or ``nanodet:PATH.onnx``; YOLO trackers become IoU tracking."""
        opts = accepted_options(cls, opts)
        if opts.get("tracker", "iou") != "none":
            opts["tracker"] = "iou"
        spec = spec.strip()
        if spec.isdigit():
            return cls(input_size=int(spec), **opts)
        return cls(model_path=spec or None, **opts)

    def raw_outputs(self, image_bgr: np.ndarray) -> tuple[dict[str, np.ndarray], tuple[int, int], float]:
        """The model's outputs for a BGR frame (batch dimension dropped), the input (H, W) and the scale."""
        x, scale = preprocess(image_bgr, self.input_size, self.fixed_size is not None)
        with self._lock:
            vals = self._sess.run(None, {"input": x})
        names = [o.name for o in self._sess.get_outputs()]
        return {n: v[0] for n, v in zip(names, vals)}, (x.shape[2], x.shape[3]), scale

    def detect_boxes(self, image_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Persons in a BGR frame: boxes [K,4] xyxy in image pixels (clipped, >= 2 px) and scores [K], best first."""
        out, (H, W), scale = self.raw_outputs(image_bgr)
        boxes, scores = [], []
        for s in STRIDES:
            b, sc = decode_level(out[f"cls_s{s}"], out[f"reg_s{s}"], s, (H // s, W // s),
                                 self.score_threshold)
            boxes.append(b)
            scores.append(sc)
        b, sc = np.concatenate(boxes), np.concatenate(scores)
        keep = nms_xyxy(b, sc, self.iou_threshold, self.max_det)
        h, w = image_bgr.shape[:2]
        b = np.clip(b[keep] / scale, 0, [w, h, w, h])
        ok = (b[:, 2] - b[:, 0] >= 2) & (b[:, 3] - b[:, 1] >= 2)
        return b[ok].astype(np.float32), sc[keep][ok].astype(np.float32)

    def _find(self, image_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xyxy, scores = self.detect_boxes(image_bgr)
        return np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1), scores

    def _background_finder(self) -> Finder:
        twin = NanoDetPersonDetector(self.model_path, self.input_size, self.score_threshold, self.iou_threshold,
                                     self.max_det, every_n=1, num_threads=1, tracker="none", background=False)
        return twin._find
