"""The ground-truth-free measures on Human3.6M-style samples (engine.compare.h36m): per-video bone-length CV and
asymmetry, jitter only over consecutive samples 64 frames apart, the GT's own values beside them, and the report /
results.json / summary sections that show them."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from engine.compare.h36m import SAMPLE_STEP, h36m_measures, sequence_tracks
from engine.compare.skeleton import BONES
from tests.engine.compare.test_compare_metrics import pose

N_PER_VIDEO = 10


def _samples(drop: int | None = None):
    """Two videos (cameras 1 and 2) of one sequence, samples every 64 frames; GT moving at constant velocity."""
    subj, act, sub, cam, fi, gt = [], [], [], [], [], []
    for c in (1, 2):
        for k in range(N_PER_VIDEO):
            if drop is not None and c == 1 and k == drop:
                continue
            subj.append(9), act.append(2), sub.append(1), cam.append(c), fi.append(k * SAMPLE_STEP)
            gt.append(pose() + [5.0 * k, 0.0, 0.0])
    return [np.array(v) for v in (subj, act, sub, cam, fi)], np.array(gt)


def test_sequence_grid_and_consecutive_triples():
    cols, _ = _samples(drop=4)
    grid, times = sequence_tracks(*cols)
    assert grid.shape == (2, N_PER_VIDEO) and (grid[0] == -1).sum() == 1
    assert times[1] == pytest.approx(SAMPLE_STEP / 50.0)
    res = h36m_measures({}, np.zeros((len(cols[0]), 18, 3)) + pose(), *cols)
    # camera 2: 8 triples; camera 1 lost sample 4, so triples (2,3,4), (3,4,5), (4,5,6) are gone: 5 left
    assert res["conventions"]["consecutive_triples"] == 13


def test_gt_is_the_floor_and_noise_and_collapse_show():
    cols, gt = _samples()
    rng = np.random.default_rng(0)
    noisy = gt + rng.normal(0, 10.0, gt.shape)
    collapsed = rng.normal(0, 1.0, (len(gt), 21, 3)) + [0, 0, 4000]
    res = h36m_measures({"noisy": (noisy, "h36m18"), "random": (collapsed, "muco21")}, gt, *cols)
    g, n, r = res["gt"], res["models"]["noisy"], res["models"]["random"]
    assert g["bone_cv_mean"] == pytest.approx(0.0, abs=1e-9) and g["asymmetry_mean"] == pytest.approx(0, abs=1e-9)
    assert g["jitter_mm_s2"] == pytest.approx(0.0, abs=1e-6)  # constant velocity: no acceleration
    assert g["mean_bone_mm"] == pytest.approx(np.mean([np.linalg.norm(pose()[a] - pose()[b]) for a, b in BONES]))
    assert n["bone_cv_mean"] > 0.01 and n["jitter_mm_s2"] > 0 and not n["degenerate"]
    assert r["degenerate"] and "collapsed" in r["degenerate_reason"] and r["mapped"]
    assert res["conventions"]["sample_dt_s"] == pytest.approx(1.28)


def test_report_results_json_and_summary_show_it():
    from engine.h36m.report import _gt_free_section
    from engine.h36m.results_json import _json_clean
    from engine.h36m.summary import gt_free_lines

    cols, gt = _samples()
    res = h36m_measures({"m": (gt * 1.0, "h36m18")}, gt, *cols)
    run = SimpleNamespace(label="m", gt_free={"model": res["models"]["m"], "gt": res["gt"],
                                              "conventions": res["conventions"]})
    text = "\n".join(_gt_free_section([run]))
    assert "ground truth (floor)" in text and "1.28 s apart" in text and "| m |" in text
    line = gt_free_lines({"model": res["models"]["m"], "gt": res["gt"]})[0]
    assert "bone-length CV 0.0 % (GT 0.0 %)" in line
    clean = _json_clean(run.gt_free)
    assert clean["model"]["jitter_triples"] == 16 and not math.isnan(clean["gt"]["mean_bone_mm"])
