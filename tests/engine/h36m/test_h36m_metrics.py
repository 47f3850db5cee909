"""H36M metrics: the official 3DMPPE evaluate reproduced (geometry.json › h36m_evaluate) and the labelled extras."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from engine.h36m.metrics import ACTIONS, EVAL_JOINTS, action_index, joint_mapping, metric_label, mrpe, score
from engine.inference.geometry import decode_to_camera, rigid_align
from models.joints import H36M18, MUCO21
from models.spec import get_spec
from tests.conftest import CONFORMANCE


@pytest.fixture(scope="module")
def fixture():
    g = json.loads((CONFORMANCE / "geometry.json").read_text())["h36m_evaluate"]
    s = g["samples"]
    _, cam = decode_to_camera(np.array([x["pred_heatmap_units"] for x in s]), get_spec("posenet-r50"),
                              np.array([x["bbox"] for x in s]), np.array([x["f"] for x in s]),
                              np.array([x["c"] for x in s]), np.array([x["root_cam_gt"][2] for x in s]))
    gt = np.array([x["joint_cam_gt"] for x in s])
    acts = [action_index(x["img_path"]) for x in s]
    return g, cam, gt, acts


def _printed(line: str) -> tuple[float, dict[str, str]]:
    tot = float(re.search(r"tot: ([0-9.]+)", line[0]).group(1))
    per = dict(re.findall(r"(\w+): (nan|[0-9.]+)", line[1]))
    return tot, per


@pytest.mark.parametrize("protocol", [1, 2])
def test_reproduces_official_evaluate(fixture, protocol):
    g, cam, gt, acts = fixture
    res = g["results"][f"protocol_{protocol}"]
    s = score(cam, gt, acts, protocol=protocol)
    metric = "pa_mpjpe" if protocol == 1 else "mpjpe"
    tot, per = _printed(res["printed_summary"])
    assert f"{s.total(metric):.2f}" == f"{tot:.2f}"
    ours = s.per_action(metric)
    assert list(per) == list(ACTIONS)
    for name, printed in per.items():
        assert (f"{ours[name]:.2f}" if np.isfinite(ours[name]) else "nan") == printed, name
    # the summary line has the official layout, with the metric named in words
    assert s.summary().splitlines()[1].split() == res["printed_summary"][1].split()
    saved = np.array(res["saved_joint_cam_root_relative_17"])
    mine = s.aligned_pa if protocol == 1 else (cam - cam[:, :1])[:, :17]
    np.testing.assert_allclose(mine, saved, atol=1e-6)


def test_alignment_uses_all_18_joints_like_the_official_code(fixture):
    """Aligning on the 17 scored joints only (Thorax dropped first) would not reproduce the saved joints."""
    g, cam, gt, _ = fixture
    saved = np.array(g["results"]["protocol_1"]["saved_joint_cam_root_relative_17"])
    p17 = (cam - cam[:, :1])[:, :17]
    wrong = rigid_align(p17, (gt - gt[:, :1])[:, :17])
    assert np.abs(wrong - saved).max() > 1e-3


def test_total_is_sample_weighted_not_mean_of_action_means():
    rng = np.random.default_rng(0)
    gt = rng.normal(0, 300, (4, 18, 3))
    pred = gt.copy()
    pred[:, 1:, 0] += np.array([10.0, 10.0, 10.0, 40.0])[:, None]  # 3 samples of action 0 at 10 mm, 1 of action 1
    s = score(pred, gt, [0, 0, 0, 1], protocol=2)
    per = s.per_action("mpjpe")
    assert per["Directions"] == pytest.approx(10 * 16 / 17)
    assert per["Discussion"] == pytest.approx(40 * 16 / 17)
    assert s.total("mpjpe") == pytest.approx((3 * 10 + 40) / 4 * 16 / 17)
    assert s.total("mpjpe") != pytest.approx((per["Directions"] + per["Discussion"]) / 2)
    assert np.isnan(per["Eating"])


def test_similarity_variant_is_a_separate_column():
    rng = np.random.default_rng(1)
    gt = rng.normal(0, 300, (3, 18, 3))
    pred = (gt - gt[:, :1]) * 1.1 + 500.0  # right shape, wrong scale, shifted
    s = score(pred, gt, [0, 1, 2], protocol=1)
    assert s.total("pa_mpjpe_similarity") < 1e-6
    assert s.total("pa_mpjpe") > 5.0  # no scale estimated: the 10 % size error stays
    assert s.total("mpjpe") >= s.total("pa_mpjpe") - 1e-9


def test_labels_are_in_words():
    assert metric_label("mpjpe", 2) == "MPJPE, Protocol 2 test set S9+S11"
    assert metric_label("pa_mpjpe", 1) == "PA-MPJPE, Protocol 1 test set S11"
    assert "not a published Protocol 2 figure" in metric_label("pa_mpjpe", 2)
    assert "(mapped 14 joints)" in metric_label("mpjpe", 2, 14, mapped=True)
    for m in ("mpjpe", "pa_mpjpe", "pa_mpjpe_similarity"):
        for p in (1, 2):
            assert not re.search(r"\bP[12]\b", metric_label(m, p))


def test_muco21_scores_the_joints_that_map_by_name():
    m = joint_mapping("muco21")
    assert len(m.names) == 14 and m.mapped
    assert set(m.names) <= set(EVAL_JOINTS) and "Torso" not in m.names and "Nose" not in m.names
    rng = np.random.default_rng(2)
    gt = rng.normal(0, 300, (2, 18, 3))
    pred = np.zeros((2, 21, 3))
    for i, n in enumerate(MUCO21.names):
        if n in H36M18.names:
            pred[:, i] = gt[:, H36M18.index(n)]
    s = score(pred + 123.0, gt, [3, 4], protocol=2, pred_set="muco21")
    assert s.joint_names == m.names
    assert s.total("mpjpe") < 1e-9 and s.total("pa_mpjpe") < 1e-6
    assert s.label("mpjpe").startswith("MPJPE (mapped 14 joints)")
    full = score(gt.copy(), gt, [3, 4], protocol=2)
    assert not full.mapped and full.label("mpjpe") == "MPJPE, Protocol 2 test set S9+S11"


def test_input_checks_and_action_parsing():
    assert action_index("s_09_act_16_subact_02_ca_04/x.jpg") == 14
    with pytest.raises(ValueError, match="act_"):
        action_index("s_09_subact_02.jpg")
    gt = np.zeros((2, 18, 3))
    with pytest.raises(ValueError, match="NaN"):
        score(np.full((2, 18, 3), np.nan), gt, [0, 0], protocol=2)
    with pytest.raises(ValueError, match="has 18 joints"):
        score(np.zeros((2, 17, 3)), gt, [0, 0], protocol=2)


def test_mrpe_and_per_axis():
    gt = np.zeros((2, 3))
    pred = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, -10.0]])
    assert mrpe(pred, gt) == pytest.approx({"mrpe": 7.5, "x": 1.5, "y": 2.0, "z": 5.0})
