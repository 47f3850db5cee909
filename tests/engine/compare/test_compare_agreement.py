"""Pairwise agreement with known answers: identical streams agree exactly, a shifted copy gives the shift before
alignment and 0 after root alignment, a rotated copy 0 after rigid alignment, the matrix is symmetric, and models
with other joint sets are compared on their common joints and labelled."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from engine.compare import CompareAccumulator, ModelDesc, agreement_matrix, make_adapter
from engine.compare.agreement import PairAgreement, PairSums, pair_sums
from models.joint_mapping import to_joint_set
from models.joints import H36M18, MUCO21
from tests.engine.compare.test_compare_metrics import feed, make_desc, noisy_track, pose

TIMES = np.arange(90) / 30.0


def _rot_y(deg: float) -> np.ndarray:
    a = math.radians(deg)
    return np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])


def _pair(snap, a, b) -> PairAgreement:
    return next(p for p in snap.pairs if {p.a, p.b} == {a, b})


def test_identical_streams_agree_exactly():
    s = noisy_track(90, 5.0)
    acc = CompareAccumulator([make_desc("a"), make_desc("b")])
    feed(acc, {"a": s, "b": s.copy()}, TIMES)
    p = _pair(acc.snapshot(), "a", "b")
    assert p.samples == 90 and not p.mapped and len(p.joints) == 17
    assert p.absolute_mm == 0.0 and p.root_aligned_mm == 0.0 and p.px_2d == 0.0
    assert p.rigid_aligned_mm == pytest.approx(0.0, abs=1e-9)
    assert all(v == 0.0 for v in p.per_joint_mm.values())


def test_shifted_copy_gives_the_offset_before_alignment_and_zero_after():
    s = noisy_track(90, 5.0, seed=1)
    offset = np.array([30.0, -40.0, 120.0])
    shift_px = np.array([6.0, -8.0])
    acc = CompareAccumulator([make_desc("a"), make_desc("b")])
    feed(acc, {"a": s, "b": s + offset}, TIMES, px_shift={"b": shift_px})
    snap = acc.snapshot()
    p = _pair(snap, "a", "b")
    assert p.absolute_mm == pytest.approx(np.linalg.norm(offset), rel=1e-9)
    acc2 = CompareAccumulator([make_desc("a"), make_desc("b")])
    feed(acc2, {"a": s, "b": s.copy()}, TIMES, px_shift={"b": shift_px})
    assert _pair(acc2.snapshot(), "a", "b").px_2d == pytest.approx(10.0)  # a pure 2D shift gives |shift|
    assert p.root_aligned_mm == pytest.approx(0.0, abs=1e-9)
    assert p.rigid_aligned_mm == pytest.approx(0.0, abs=1e-6)
    assert all(v == pytest.approx(0.0, abs=1e-9) for v in p.per_joint_mm.values())


def test_rotated_copy_agrees_after_rigid_alignment_only():
    s = noisy_track(90, 5.0, seed=2)
    root = s[:, :1]
    rotated = (s - root) @ _rot_y(25.0).T + root + [200.0, 0, 0]
    acc = CompareAccumulator([make_desc("a"), make_desc("b")], rigid_samples=None)
    feed(acc, {"a": s, "b": rotated}, TIMES)
    p = _pair(acc.snapshot(), "a", "b")
    assert p.root_aligned_mm > 50.0
    assert p.rigid_aligned_mm == pytest.approx(0.0, abs=1e-6)
    assert p.per_joint_mm["Pelvis"] == 0.0 and p.per_joint_mm["R_Wrist"] > 100.0


def test_matrix_is_symmetric_with_zero_diagonal():
    streams = {n: noisy_track(90, 5.0 * (k + 1), seed=k) for k, n in enumerate("abc")}
    acc = CompareAccumulator([make_desc(n) for n in "abc"], rigid_samples=16)
    feed(acc, streams, TIMES)
    snap = acc.snapshot()
    assert len(snap.pairs) == 3
    for metric, mat in snap.matrix.items():
        m = np.array(mat, dtype=float)
        assert m.shape == (3, 3) and np.array_equal(m, m.T), metric
        assert np.all(np.diag(m) == 0) and np.all(m[~np.eye(3, dtype=bool)] > 0), metric
    assert snap.verdicts["agrees_most"] in "abc"
    json.dumps(snap.to_dict(), allow_nan=False)


def test_matrix_marks_pairs_without_samples():
    mat = agreement_matrix(["a", "b"], [PairAgreement.from_sums("a", "b", PairSums.empty(tuple(range(17))),
                                                                mapped=False)])
    assert mat["root_aligned_mm"] == [[0.0, None], [None, 0.0]]


def test_muco21_is_compared_on_common_joints_and_labelled():
    s = noisy_track(90, 5.0, seed=3)
    muco = to_joint_set(s, H36M18, MUCO21)  # the same body points in MuCo order (hands, toes: NaN)
    assert muco.shape == (90, 21, 3)
    acc = CompareAccumulator([make_desc("h36"), make_desc("muco", "muco21")])
    feed(acc, {"h36": s, "muco": muco}, TIMES)
    snap = acc.snapshot()
    p = _pair(snap, "h36", "muco")
    assert p.mapped and p.samples == 90
    assert p.joints == [H36M18.names[j] for j in range(17)]
    assert set(p.approx_joints) == {"Torso", "Neck", "Nose", "Head"}
    assert p.root_aligned_mm == 0.0 and p.absolute_mm == 0.0
    st = snap.stats["muco"]
    assert st.mapped and st.joint_set == "muco21" and st.visibility == 1.0 and len(st.joints) == 17
    assert st.bone_cv_mean == pytest.approx(snap.stats["h36"].bone_cv_mean)


def _blaze_to_h36m(x: np.ndarray) -> np.ndarray:
    """A stand-in for a BlazePose-33 mapping: joints 11..16 shoulders/elbows/wrists, 23..28 hips/knees/ankles;
    the pelvis is the hip midpoint; no spine or head joints."""
    out = np.full((*x.shape[:-2], 18, x.shape[-1]), np.nan)
    table = {"L_Shoulder": 11, "R_Shoulder": 12, "L_Elbow": 13, "R_Elbow": 14, "L_Wrist": 15, "R_Wrist": 16,
             "L_Hip": 23, "R_Hip": 24, "L_Knee": 25, "R_Knee": 26, "L_Ankle": 27, "R_Ankle": 28}
    for name, j in table.items():
        out[..., H36M18.index(name), :] = x[..., j, :]
    out[..., 0, :] = (x[..., 23, :] + x[..., 24, :]) / 2
    return out


def _to_blaze(h: np.ndarray) -> np.ndarray:
    out = np.zeros((*h.shape[:-2], 33, 3)) + [0.0, 0.0, 3000.0]  # unmapped joints: somewhere in front
    for name, j in {"L_Shoulder": 11, "R_Shoulder": 12, "L_Elbow": 13, "R_Elbow": 14, "L_Wrist": 15,
                    "R_Wrist": 16, "L_Hip": 23, "R_Hip": 24, "L_Knee": 25, "R_Knee": 26, "L_Ankle": 27,
                    "R_Ankle": 28}.items():
        out[..., j, :] = h[..., H36M18.index(name), :]
    return out


def test_custom_mapping_for_other_joint_sets():
    p0 = pose()
    p0[0] = (p0[1] + p0[4]) / 2  # make the pelvis the hip midpoint, as the mapping defines it
    s = noisy_track(90, 3.0, seed=4, base=p0)
    s[:, 0] = (s[:, 1] + s[:, 4]) / 2
    blaze = SimpleNamespace(name="blaze", joint_set="blazepose33", num_joints=33, trained=True, label="BlazePose")
    acc = CompareAccumulator([make_desc("h36"), blaze], mappings={"blaze": _blaze_to_h36m})
    feed(acc, {"h36": s, "blaze": _to_blaze(s)}, TIMES)
    snap = acc.snapshot()
    p = _pair(snap, "h36", "blaze")
    assert p.mapped and len(p.joints) == 13 and "Head" not in p.joints and "Pelvis" in p.joints
    assert p.root_aligned_mm == pytest.approx(0.0, abs=1e-9)
    st = snap.stats["blaze"]
    assert st.mapped and st.visibility == 1.0 and math.isnan(st.bone_length_mm["Neck-Nose"])
    assert st.bone_length_mm["L_Elbow-L_Wrist"] == pytest.approx(250.0, rel=0.01)
    desc = ModelDesc("b2", make_adapter("blazepose33", 33, to_h36m=_blaze_to_h36m))
    assert desc.adapter.mapped and len(desc.adapter.available) == 13
    with pytest.raises(KeyError):
        make_adapter("blazepose33")  # no table and no mapping: a clear error


def test_pair_sums_on_raw_arrays_and_addition():
    s = noisy_track(10, 5.0)[:, None]
    px = s[..., :2]
    ok = np.ones((10, 1), bool)
    a = pair_sums(s, s + [0, 0, 10.0], px, px, ok, ok, tuple(range(17)))
    total = a + a
    assert total.n == 20 and np.allclose(total.abs_sum / total.n, 10.0)
    half = ok.copy()
    half[::2] = False
    assert pair_sums(s, s, px, px, ok, half, tuple(range(17))).n == 5
