"""Joint-set mapping between MuCo-3DHP (21) and Human3.6M (18): pairs, both directions, numpy and torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.joint_mapping import map_joints, shared_joints, to_joint_set
from models.joints import H36M18, MUCO21


def named_pose(js) -> np.ndarray:
    """Each joint's x coordinate is its index; y, z encode the set so mixing sets up would show."""
    return np.stack([np.arange(js.num_joints), np.full(js.num_joints, js.num_joints), np.zeros(js.num_joints)], -1)


def test_limb_joints_pair_by_name() -> None:
    pairs = {p.dst_name: p for p in shared_joints("muco21", "h36m18", include_approx=False)}
    assert set(pairs) == {"Pelvis", "R_Hip", "R_Knee", "R_Ankle", "L_Hip", "L_Knee", "L_Ankle", "L_Shoulder",
                          "L_Elbow", "L_Wrist", "R_Shoulder", "R_Elbow", "R_Wrist"}
    for name, p in pairs.items():
        assert p.src_name == name and MUCO21.names[p.src] == name and H36M18.names[p.dst] == name
        assert p.quality == "same"


def test_head_and_spine_chain_pairs_by_position() -> None:
    approx = {p.src_name: p.dst_name for p in shared_joints("muco21", "h36m18") if p.quality == "approx"}
    assert approx == {"Spine": "Torso", "Thorax": "Neck", "Head": "Nose", "Head_top": "Head"}


def test_muco_to_h36m_fills_the_17_evaluated_joints() -> None:
    mapped, dst = map_joints(named_pose(MUCO21), "muco21", "h36m18")
    assert mapped.shape == (17, 3) and sorted(dst.tolist()) == list(H36M18.eval_joints)
    for k, d in enumerate(dst):
        src_name = MUCO21.names[int(mapped[k, 0])]
        assert (src_name == H36M18.names[d]) or H36M18.names[d] in ("Torso", "Neck", "Nose", "Head")
    assert mapped[list(dst).index(H36M18.root), 0] == MUCO21.root  # pelvis -> pelvis: roots agree


def test_directions_are_inverse() -> None:
    pose = np.random.default_rng(0).normal(size=(2, 5, 21, 3))
    there, dst = map_joints(pose, "muco21", "h36m18")
    full = np.zeros((2, 5, 18, 3))
    full[..., dst, :] = there
    back, src_dst = map_joints(full, "h36m18", "muco21")
    np.testing.assert_array_equal(back, pose[..., src_dst, :])
    assert sorted(src_dst.tolist()) == list(range(17))  # hands and toes have no H36M partner


def test_torch_tensors_and_strict_mode() -> None:
    pose = torch.arange(18 * 3, dtype=torch.float32).reshape(1, 18, 3)
    mapped, dst = map_joints(pose, H36M18, MUCO21, include_approx=False)
    assert isinstance(mapped, torch.Tensor) and mapped.shape == (1, 13, 3) and len(dst) == 13
    assert "Head_top" not in [MUCO21.names[d] for d in dst]


def test_to_joint_set_marks_missing_joints() -> None:
    out = to_joint_set(named_pose(MUCO21), "muco21", "h36m18")
    assert out.shape == (18, 3)
    assert np.isnan(out[H36M18.index("Thorax")]).all()  # the loader-made shoulder midpoint has no partner
    assert out[H36M18.index("L_Wrist"), 0] == MUCO21.index("L_Wrist")


def test_wrong_joint_count_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="21 joints of muco21"):
        map_joints(np.zeros((18, 3)), "muco21", "h36m18")
    with pytest.raises(KeyError, match="unknown joint set"):
        map_joints(np.zeros((21, 3)), "muco21", "coco19")
