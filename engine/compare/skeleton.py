"""One joint space for comparing models: every model's joints are brought into Human3.6M-18 order first.

Why: models predict different joint sets (H36M 18, MuCo-3DHP 21, BlazePose 33 ...), but bone lengths, limb
symmetry and cross-model agreement only mean something on the same body points. So each model gets a
``JointAdapter`` that maps its joints [..., J, C] to [..., 18, C] (NaN where it has no partner), once per frame,
and every measure works in that space. H36M18's Thorax is a shoulder midpoint the 3DMPPE loader adds (not
evaluated), so the measures use the 17 evaluation joints (``MEASURE_JOINTS``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from models.joint_mapping import shared_joints
from models.joints import H36M18, JointSet, get_joint_set

__all__ = ["BONES", "BONE_NAMES", "LIMB_PAIRS", "MEASURE_JOINTS", "ROOT", "JointAdapter", "make_adapter"]

ROOT = H36M18.root  # Pelvis
MEASURE_JOINTS: tuple[int, ...] = tuple(H36M18.eval_joints)  # 17: all but the derived Thorax
BONES: tuple[tuple[int, int], ...] = tuple(H36M18.skeleton)  # 16 bones
BONE_NAMES: tuple[str, ...] = tuple(f"{H36M18.names[a]}-{H36M18.names[b]}" for a, b in BONES)


def _bone(a: str, b: str) -> int:
    ia, ib = H36M18.index(a), H36M18.index(b)
    return next(k for k, (x, y) in enumerate(BONES) if {x, y} == {ia, ib})


# (limb name, left bone index, right bone index) into BONES
LIMB_PAIRS: tuple[tuple[str, int, int], ...] = (
    ("upper_arm", _bone("L_Shoulder", "L_Elbow"), _bone("R_Shoulder", "R_Elbow")),
    ("forearm", _bone("L_Elbow", "L_Wrist"), _bone("R_Elbow", "R_Wrist")),
    ("thigh", _bone("L_Hip", "L_Knee"), _bone("R_Hip", "R_Knee")),
    ("shin", _bone("L_Knee", "L_Ankle"), _bone("R_Knee", "R_Ankle")),
)

MapFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class JointAdapter:
    """Maps one model's joints into H36M18 order.

    ``available``: H36M18 indices this model provides; ``approx``: those paired only approximately (the MuCo head
    chain, see models/joint_mapping.py); ``mapped``: the model's own set is not H36M18."""

    joint_set: str
    num_joints: int
    mapped: bool
    available: tuple[int, ...]
    approx: tuple[int, ...] = ()
    _index: np.ndarray | None = field(default=None, repr=False, compare=False)  # [18] source index, -1 = none
    _fn: MapFn | None = field(default=None, repr=False, compare=False)

    def __call__(self, joints: np.ndarray) -> np.ndarray:
        """[..., J, C] -> float64 [..., 18, C] (NaN for joints without a partner)."""
        a = np.asarray(joints, dtype=np.float64)
        if a.shape[-2] != self.num_joints:
            raise ValueError(f"{self.joint_set}: expected {self.num_joints} joints on axis -2, got shape {a.shape}")
        if self._fn is not None:
            out = np.asarray(self._fn(a), dtype=np.float64)
            if out.shape[-2] != H36M18.num_joints:
                raise ValueError(f"{self.joint_set}: mapping returned shape {out.shape}, expected [..., 18, C]")
            return out
        if self._index is None:  # identity (H36M18 itself)
            return a
        out = a[..., np.maximum(self._index, 0), :]
        out[..., self._index < 0, :] = np.nan
        return out

    @property
    def joint_names(self) -> tuple[str, ...]:
        return tuple(H36M18.names[j] for j in self.available)

    def source_indices(self) -> dict[int, int]:
        """{H36M18 index: the model's own joint index} for the joints paired by a table (identity for H36M18);
        empty for a mapping function (it may blend joints), where no single own joint stands for an H36M18 one."""
        if self._fn is not None:
            return {}
        if self._index is None:
            return {j: j for j in self.available}
        return {j: int(self._index[j]) for j in self.available if self._index[j] >= 0}


def make_adapter(joint_set: str | JointSet, num_joints: int | None = None, *, to_h36m: MapFn | None = None,
                 include_approx: bool = True) -> JointAdapter:
    """An adapter for a model's joint set: identity for h36m18, the muco21 table of models/joint_mapping.py, or
    ``to_h36m`` (a function [..., J, C] -> [..., 18, C] with NaN fill) for any other set (e.g. BlazePose 33).

    With ``to_h36m`` the available joints are found by mapping a probe array once."""
    if to_h36m is not None:
        name = joint_set.name if isinstance(joint_set, JointSet) else str(joint_set)
        n = num_joints if num_joints is not None else get_joint_set(name).num_joints
        probe = np.asarray(to_h36m(np.zeros((1, n, 3))), dtype=np.float64)
        if probe.shape != (1, H36M18.num_joints, 3):
            raise ValueError(f"{name}: to_h36m must map [..., {n}, C] to [..., 18, C]; got shape {probe.shape}")
        avail = tuple(j for j in range(H36M18.num_joints) if np.all(np.isfinite(probe[0, j])))
        return JointAdapter(name, n, name != H36M18.name, avail, (), None, to_h36m)
    js = joint_set if isinstance(joint_set, JointSet) else get_joint_set(joint_set)
    if num_joints is not None and num_joints != js.num_joints:
        raise ValueError(f"{js.name}: has {js.num_joints} joints, the model reports {num_joints}")
    if js.name == H36M18.name:
        return JointAdapter(js.name, js.num_joints, False, tuple(range(H36M18.num_joints)))
    pairs = shared_joints(js, H36M18, include_approx=include_approx)
    index = np.full(H36M18.num_joints, -1, dtype=np.int64)
    for p in pairs:
        index[p.dst] = p.src
    return JointAdapter(js.name, js.num_joints, True, tuple(sorted(p.dst for p in pairs)),
                        tuple(sorted(p.dst for p in pairs if p.quality != "same")), index, None)
