"""BlazePose's heatmap refinement (MediaPipe's rule) against a one-landmark-at-a-time reading of the same rule."""

from __future__ import annotations

import numpy as np
import pytest

from models.blazepose.runtime import refine_from_heatmap


def rule(xy: np.ndarray, hm: np.ndarray, kernel: int = 9, min_conf: float = 0.5) -> np.ndarray:
    """The rule as written: per landmark, the window clipped to the map, sigmoid weights, weighted mean of cells."""
    h, w, _ = hm.shape
    out = xy.astype(np.float64).copy()
    half = kernel // 2
    for i in range(len(xy)):
        cx, cy = int(xy[i, 0] * w), int(xy[i, 1] * h)
        if not (0 <= cx < w and 0 <= cy < h):
            continue
        ys, xs = np.mgrid[max(0, cy - half):min(h, cy + half + 1), max(0, cx - half):min(w, cx + half + 1)]
        wt = 1.0 / (1.0 + np.exp(-hm[ys, xs, i].astype(np.float64)))
        if wt.max() >= min_conf:
            out[i] = (wt * xs).sum() / wt.sum() / w, (wt * ys).sum() / wt.sum() / h
    return out


def test_refinement_equals_the_rule_inside_at_the_borders_and_off_the_map():
    rng = np.random.default_rng(3)
    for _ in range(50):
        hm = rng.normal(-2.0, 3.0, (64, 64, 33)).astype(np.float32)
        xy = rng.uniform(-0.1, 1.1, (33, 2))
        xy[:4] = [[0.0, 0.0], [0.999, 0.999], [0.01, 0.99], [-0.01, 0.5]]  # corners, edge, just off the map
        assert np.allclose(refine_from_heatmap(xy, hm), rule(xy, hm), rtol=0, atol=1e-12)


def test_a_peak_pulls_the_landmark_and_a_weak_window_leaves_it():
    hm = np.full((64, 64, 2), -30.0, np.float32)
    hm[20, 30, 0] = 10.0  # a confident peak near landmark 0 (the rest weighs ~1e-13)
    xy = np.array([[28.5 / 64, 21.5 / 64], [0.5, 0.5]])
    got = refine_from_heatmap(xy, hm)
    assert np.allclose(got[0], [30 / 64, 20 / 64], atol=1e-6)
    assert np.array_equal(got[1], xy[1]), "no cell reaches min_conf: the landmark stays"


def test_weights_mapping_is_the_smallest_weight_of_each_joints_landmarks():
    from models.blazepose.landmarks import _I, H36M18_FROM_BLAZEPOSE, blazepose_weights_to_h36m18

    w = np.random.default_rng(5).uniform(size=(3, 2, 33))
    got = blazepose_weights_to_h36m18(w)
    for j, (_recipe, names, _q) in enumerate(H36M18_FROM_BLAZEPOSE.values()):
        np.testing.assert_array_equal(got[..., j], np.min([w[..., _I[n]] for n in names], axis=0))


def test_prepare_reads_channel_planes_like_interleaved_pixels():
    pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert not installed")
    from models.blazepose.runtime import BlazePoseLandmarker

    lm = BlazePoseLandmarker(num_threads=1)
    planes = np.random.default_rng(6).uniform(-5, 260, (2, 3, 256, 256)).astype(np.float32)  # an NCHW batch
    views = planes.transpose(0, 2, 3, 1)  # the HWC views BlazePoseNet hands over (no copy)
    for i in range(2):
        np.testing.assert_array_equal(lm._prepare(views[i]), lm._prepare(np.ascontiguousarray(views[i])))
