"""Compare poses across joint sets: which MuCo-3DHP (21) and Human3.6M (18) joints mark the same body point.

Why: the PINTO MobileHumanPose files predict MuCo joints while the benchmark and most models use Human3.6M's, and
the GUI overlays models side by side. The pairing is a table of joint names (models/joints.py); docs/joint_sets.md
gives it with the reasons. Each pair has a quality:

- ``same``: the same name and body point (pelvis, hips, knees, ankles, shoulders, elbows, wrists).
- ``approx``: the head/neck/spine chain, paired by position in the two skeletons rather than by name, because the
  names mislead: both chains run pelvis -> spine -> neck hub (where the shoulders attach) -> mid-head -> head end,
  but MuCo calls them Spine, Thorax, Head, Head_top and PoseArena's H36M set calls them Torso, Neck, Nose, Head.
  The data sets' marker placements differ by a few cm there.

Unpaired: MuCo's hands and toes, and H36M18's Thorax (a shoulder midpoint the 3DMPPE loader adds; not evaluated).
Sets without a table pair joints of equal name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from models.joints import JointSet, get_joint_set

__all__ = ["PAIR_TABLES", "JointPair", "map_joints", "shared_joints", "to_joint_set"]

_LIMBS = ("Pelvis", "R_Hip", "R_Knee", "R_Ankle", "L_Hip", "L_Knee", "L_Ankle",
          "L_Shoulder", "L_Elbow", "L_Wrist", "R_Shoulder", "R_Elbow", "R_Wrist")
# {(set_a, set_b): ((name in a, name in b, quality), ...)}; used in both directions.
PAIR_TABLES: dict[tuple[str, str], tuple[tuple[str, str, str], ...]] = {
    ("muco21", "h36m18"): (
        *((n, n, "same") for n in _LIMBS),
        ("Spine", "Torso", "approx"),
        ("Thorax", "Neck", "approx"),  # the hub joining neck, spine and both shoulders
        ("Head", "Nose", "approx"),  # between the neck and the end of the head chain
        ("Head_top", "Head", "approx"),  # the end of the head chain
    ),
}

A = TypeVar("A")


@dataclass(frozen=True)
class JointPair:
    src: int  # index in the source set
    dst: int  # index in the destination set
    src_name: str
    dst_name: str
    quality: str  # "same" | "approx"


def _table(src: JointSet, dst: JointSet) -> list[tuple[str, str, str]]:
    if (src.name, dst.name) in PAIR_TABLES:
        return list(PAIR_TABLES[(src.name, dst.name)])
    if (dst.name, src.name) in PAIR_TABLES:
        return [(b, a, q) for a, b, q in PAIR_TABLES[(dst.name, src.name)]]
    return [(n, n, "same") for n in src.names if n in dst.names]


def _set(js: JointSet | str) -> JointSet:
    return js if isinstance(js, JointSet) else get_joint_set(js)


def shared_joints(src_set: JointSet | str, dst_set: JointSet | str, *,
                  include_approx: bool = True) -> list[JointPair]:
    """Joint pairs shared by two sets, in destination order; ``include_approx=False`` keeps only ``same`` pairs."""
    src, dst = _set(src_set), _set(dst_set)
    pairs = [JointPair(src.index(a), dst.index(b), a, b, q) for a, b, q in _table(src, dst)
             if include_approx or q == "same"]
    return sorted(pairs, key=lambda p: p.dst)


def map_joints(joints: A, src_set: JointSet | str, dst_set: JointSet | str, *,
               include_approx: bool = True) -> tuple[A, np.ndarray]:
    """Joints [..., J_src, 3] -> (the shared ones [..., K, 3] in destination order, their destination indices [K]).

    Works on numpy arrays and torch tensors alike (returns the same type as ``joints``).
    """
    src = _set(src_set)
    shape = tuple(joints.shape)  # type: ignore[attr-defined]
    if len(shape) < 2 or shape[-2] != src.num_joints:
        raise ValueError(f"map_joints: joints of shape {shape} do not hold the {src.num_joints} joints of "
                         f"{src.name} on axis -2")
    pairs = shared_joints(src, dst_set, include_approx=include_approx)
    src_idx = np.array([p.src for p in pairs], dtype=np.int64)
    dst_idx = np.array([p.dst for p in pairs], dtype=np.int64)
    return _take(joints, src_idx), dst_idx


def to_joint_set(joints: np.ndarray, src_set: JointSet | str, dst_set: JointSet | str, *,
                 include_approx: bool = True, fill: float = np.nan) -> np.ndarray:
    """Joints [..., J_src, C] -> [..., J_dst, C] with ``fill`` where the destination joint has no partner."""
    dst = _set(dst_set)
    arr = np.asarray(joints)
    mapped, dst_idx = map_joints(arr, src_set, dst, include_approx=include_approx)
    out = np.full((*arr.shape[:-2], dst.num_joints, arr.shape[-1]), fill, dtype=np.result_type(arr, np.float32))
    out[..., dst_idx, :] = mapped
    return out


def _take(joints: Any, idx: np.ndarray) -> Any:
    if isinstance(joints, np.ndarray):
        return joints[..., idx, :]
    import torch

    if isinstance(joints, torch.Tensor):
        return joints[..., torch.as_tensor(idx, device=joints.device), :]
    return np.asarray(joints)[..., idx, :]
