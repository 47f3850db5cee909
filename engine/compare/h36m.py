"""The ground-truth-free measures on Human3.6M predictions, beside the ground truth's own values (the floor).

Why per camera sequence and why the jitter is labelled: the test set keeps every 64th frame (frame_idx % 64 == 0)
of 50 Hz videos, so two neighbouring samples of one video are 1.28 s apart. Bone-length CV and limb asymmetry need
no neighbours: they are computed per video (subject, action, subaction, camera: one "track") over its samples and
averaged as in the live measures. "Jitter" is only the second difference over three consecutive samples of the same
video (64 frames apart each, gaps left out): at that spacing it measures the body's motion at least as much as
noise, which is why the GT's own value beside it matters. docs/metrics.md, "On Human3.6M".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from engine.compare.metrics import ModelStats, summarise_many, track_sums
from engine.compare.skeleton import make_adapter
from engine.defaults import H36M_SAMPLING

__all__ = ["H36M_FPS", "SAMPLE_STEP", "h36m_measures", "sequence_tracks"]

H36M_FPS = H36M_SAMPLING.fps
SAMPLE_STEP = H36M_SAMPLING.step  # frames between test samples of one video
_KEYS = ("bone_cv_mean", "mean_bone_mm", "asymmetry_mean", "jitter_mm_s2", "root_z_std_mm", "extent_mm")


def sequence_tracks(subject: np.ndarray, action: np.ndarray, subaction: np.ndarray, cam: np.ndarray,
                    frame_idx: np.ndarray, step: int = SAMPLE_STEP) -> tuple[np.ndarray, np.ndarray]:
    """(grid [K, T] sample index or -1, times [T] s) for the K videos: each row is one video's samples on a regular
    grid of ``step`` frames (-1 where a sample is missing, e.g. after ``--limit``), so three consecutive grid cells
    are three consecutive samples."""
    key = np.stack([np.asarray(a, np.int64) for a in (subject, action, subaction, cam)], 1)
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    fi = np.asarray(frame_idx, np.int64)
    cells = fi // step
    start = np.full(len(uniq), np.iinfo(np.int64).max)
    np.minimum.at(start, inv, cells)
    pos = cells - start[inv]
    t_len = int(pos.max()) + 1 if len(pos) else 0
    grid = np.full((len(uniq), t_len), -1, np.int64)
    grid[inv, pos] = np.arange(len(fi))
    return grid, np.arange(t_len) * step / H36M_FPS


def _stats(joints_cam: np.ndarray, joint_set: str, grid: np.ndarray, times: np.ndarray, name: str) -> ModelStats:
    ad = make_adapter(joint_set, joints_cam.shape[1])
    x = ad(joints_cam)  # [N, 18, 3]
    k, t = grid.shape
    present = (grid >= 0).T  # [T, K]
    cam = np.full((t, k, 18, 3), np.nan)
    cam[present] = x[grid.T[present]]
    sums = track_sums(times, present, cam, None, ad.available, np.arange(k))
    return summarise_many(sums, [(None, None)], name=name, joint_set=ad.joint_set, mapped=ad.mapped,
                          joints=ad.available)[0]


def _row(s: ModelStats, jitter_n: int) -> dict[str, Any]:
    d = {key: getattr(s, key) for key in _KEYS}
    d.update(degenerate=s.degenerate, degenerate_reason=s.degenerate_reason, mapped=s.mapped,
             joints=len(s.joints), samples=s.valid_frames, jitter_triples=int(jitter_n),
             bone_cv=dict(s.bone_cv), asymmetry=dict(s.asymmetry))
    return d


def h36m_measures(preds: Mapping[str, tuple[np.ndarray, str]], gt_joints_cam: np.ndarray, subject: np.ndarray,
                  action: np.ndarray, subaction: np.ndarray, cam: np.ndarray, frame_idx: np.ndarray
                  ) -> dict[str, Any]:
    """{"gt": row, "models": {name: row}, "conventions": ...} with rows of bone-length CV, mean bone, limb
    asymmetry, jitter (consecutive samples only), root-z std, pose extent, the degenerate flag and sample counts.

    ``preds``: name -> (joints_cam [N, J, 3] mm, joint set); the GT is [N, 18, 3] H36M18 camera mm."""
    grid, times = sequence_tracks(subject, action, subaction, cam, frame_idx)
    present = grid >= 0
    triples = int((present[:, 2:] & present[:, 1:-1] & present[:, :-2]).sum()) if grid.shape[1] >= 3 else 0
    gt = _stats(np.asarray(gt_joints_cam, np.float64), "h36m18", grid, times, "ground truth")
    out = {"gt": _row(gt, triples), "models": {}}
    for name, (joints, joint_set) in preds.items():
        s = _stats(np.asarray(joints, np.float64), joint_set, grid, times, name)
        out["models"][name] = _row(s, triples)
    out["conventions"] = {
        "tracks": "one per video: subject, action, subaction, camera", "videos": int(grid.shape[0]),
        "sample_dt_s": SAMPLE_STEP / H36M_FPS, "consecutive_triples": triples,
        "jitter": f"mean |second difference| over three consecutive samples of one video, {SAMPLE_STEP} frames "
                  f"({SAMPLE_STEP / H36M_FPS:g} s) apart: mostly real motion, not per-frame jitter",
        "bone_cv": "per video over its samples, then averaged (weighted by samples)",
    }
    return out
