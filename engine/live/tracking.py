"""Track boxes between detections: boxes carried from 2D poses and a greedy IoU tracker for detectors without one.

``boxes_from_joints`` gives the next frame's box of a person from this frame's pose (rtmlib's ``pose_to_bbox``
practice, enlarged x1.25); ``IouTracker`` keeps ids across detections for the bundled detectors (YOLO uses the
library's ByteTrack when it can). Boxes are compared as squares (``squared_xywh``) so a pose's tall box and a
detector's box of the same person match.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["CARRY_SCALE", "IouTracker", "boxes_from_joints", "iou_xywh", "squared_xywh"]

CARRY_SCALE = 1.25


def boxes_from_joints(joints_2d: np.ndarray, image_hw: tuple[int, int], scale: float = CARRY_SCALE) -> np.ndarray:
    """[P,J,2] pixels -> [P,4] xywh: the joints' bounding box enlarged ``scale`` times about its centre, clipped to
    the image. Persons with no finite joint or a box under 2 px get NaN rows (the caller drops them)."""
    h, w = image_hw
    out = np.full((len(joints_2d), 4), np.nan, np.float32)
    for p, pts in enumerate(np.asarray(joints_2d, dtype=np.float64)):
        pts = pts[np.all(np.isfinite(pts), axis=1)]
        if len(pts) == 0:
            continue
        (x1, y1), (x2, y2) = pts.min(0), pts.max(0)
        cx, cy, bw, bh = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) * scale, (y2 - y1) * scale
        x1, y1 = max(0.0, cx - bw / 2), max(0.0, cy - bh / 2)
        x2, y2 = min(float(w), cx + bw / 2), min(float(h), cy + bh / 2)
        if x2 - x1 >= 2 and y2 - y1 >= 2:
            out[p] = (x1, y1, x2 - x1, y2 - y1)
    return out


def iou_xywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU [len(a), len(b)] of xywh boxes."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ax2, ay2, bx2, by2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2[None]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2[None]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def squared_xywh(boxes_xywh: np.ndarray) -> np.ndarray:
    """[N,4] xywh -> the squares of side max(w, h) about the same centres: a person's tall pose box and a
    detector's square box compare alike (IoU of the raw shapes can be 1/3 for the same person)."""
    b = np.asarray(boxes_xywh, np.float64).reshape(-1, 4)
    side = np.maximum(b[:, 2], b[:, 3])
    centre = b[:, :2] + b[:, 2:] / 2
    return np.concatenate([centre - side[:, None] / 2, side[:, None], side[:, None]], axis=1)


class IouTracker:
    """Greedy IoU matching of new boxes to the tracks' last boxes (highest IoU first, boxes compared as squares,
    ``squared_xywh``; tracks seen at the last update before those missed lately); a track unseen for
    ``max_missed`` updates is dropped. Enough for a webcam scene; ByteTrack is used when available."""

    def __init__(self, iou_threshold: float = 0.3, max_missed: int = 5) -> None:
        self.iou_threshold = iou_threshold
        self.max_missed = max_missed
        self.reset()

    def reset(self) -> None:
        self._boxes: dict[int, np.ndarray] = {}
        self._missed: dict[int, int] = {}
        self._next = 1

    def update(self, boxes_xywh: np.ndarray) -> np.ndarray:
        """Assign ids to ``boxes_xywh`` [N,4] -> [N] int64."""
        ids = np.full(len(boxes_xywh), -1, np.int64)
        # tracks seen at the last update first, then those missed lately: a person still in view keeps their id
        # even where an old track's last box overlaps the new box more
        for recent in (True, False):
            tids = [t for t in self._boxes if (self._missed[t] == 0) == recent]
            if tids and len(boxes_xywh):
                self._match(tids, boxes_xywh, ids)
        for d in range(len(ids)):
            if ids[d] < 0:
                ids[d] = self._next
                self._next += 1
        self.observe(boxes_xywh, ids)
        return ids

    def _match(self, tids: list[int], boxes_xywh: np.ndarray, ids: np.ndarray) -> None:
        """Greedy, highest IoU first: give boxes without an id the ids of ``tids`` (each id once)."""
        iou = iou_xywh(squared_xywh(np.stack([self._boxes[t] for t in tids])), squared_xywh(boxes_xywh))
        for flat in np.argsort(-iou, axis=None):
            ti, di = np.unravel_index(flat, iou.shape)
            if iou[ti, di] < self.iou_threshold:
                break
            if ids[di] >= 0 or tids[ti] in ids:
                continue
            ids[di] = tids[ti]

    def observe(self, boxes_xywh: np.ndarray, ids: Sequence[int]) -> None:
        """Record where tracks are now (also used for boxes carried from poses between detections)."""
        seen = set()
        for box, tid in zip(boxes_xywh, ids):
            if tid >= 0:
                self._boxes[int(tid)] = np.asarray(box, np.float64)
                self._missed[int(tid)] = 0
                seen.add(int(tid))
        for tid in list(self._boxes):
            if tid not in seen:
                self._missed[tid] += 1
                if self._missed[tid] > self.max_missed:
                    del self._boxes[tid], self._missed[tid]
