"""The official 3DMPPE predictions file, ``bbox_root_pose_human36m_output.json``, written for every benchmarked model
beside its results.json (``OUT/<model>/``), so PoseArena's predictions go wherever the official code's output goes.

Layout (the official one): a JSON list with one object per test sample,
``{"image_id": int, "joint_cam": [[X, Y, Z], ...], "bbox": [x, y, w, h], "root_cam": [X, Y, Z]}``:
- ``joint_cam``: camera mm, root-relative (the root joint at 0), the model's own joint set (18 joints for the
  h36m18 models, 21 for muco21), in the order of ``joint_names`` in the model's results.json. The official file
  holds the 17 evaluated joints, and for Protocol 1 the joints after rigid alignment; this one holds every joint,
  unaligned, so any scorer (``posearena evaluate`` included) aligns them itself and gets the run's MPJPE and
  PA-MPJPE both, exactly: the numbers are written with Python's shortest round-tripping float repr;
- ``bbox``: the processed (square, x1.25) box the model saw, image pixels;
- ``root_cam``: the root the joints were placed with (GT root, RootNet file or live RootNet), camera mm.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from engine.h36m.model_run import ModelRun
from engine.h36m.outputs import atomic_write_text
from models.joints import get_joint_set

__all__ = ["OFFICIAL_JSON", "official_entries", "write_official_json"]

OFFICIAL_JSON = "bbox_root_pose_human36m_output.json"


def _rows(a: Any) -> list:
    return np.asarray(a, dtype=np.float64).tolist()


def official_entries(run: ModelRun) -> list[dict[str, Any]]:
    """The file's entries for one benchmarked model (empty when the run kept no predictions)."""
    p = run.predictions
    if not p or "joints_cam" not in p or "image_id" not in p:
        return []
    cam = np.asarray(p["joints_cam"], dtype=np.float64)  # as metrics.score takes it, so the difference is the same
    root = get_joint_set(run.joint_set).root
    rel = cam - cam[:, root:root + 1]
    n = len(cam)
    boxes = p.get("bbox")
    roots = p.get("root_cam")
    out = []
    for k in range(n):
        e: dict[str, Any] = {"image_id": int(p["image_id"][k]), "joint_cam": _rows(rel[k])}
        e["bbox"] = _rows(boxes[k]) if boxes is not None else None
        if roots is not None:
            e["root_cam"] = _rows(roots[k])
        out.append(e)
    return out


def write_official_json(path: str | os.PathLike, run: ModelRun) -> bool:
    """Write the file atomically; False (nothing written) when the run has no predictions (e.g. an evaluation of
    an external file)."""
    entries = official_entries(run)
    if not entries:
        return False
    atomic_write_text(path, json.dumps(entries, allow_nan=False, separators=(",", ":")) + "\n")
    return True
