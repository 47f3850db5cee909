"""One Euro filter: smooths jitter at rest, lags less when fast, resets per track."""

from __future__ import annotations

import numpy as np
import pytest

from engine.live.smoothing import DEFAULT_POSE, OneEuroFilter, OneEuroParams, PoseSmoother, TrackFilters


def test_constant_signal_is_unchanged():
    f = OneEuroFilter(DEFAULT_POSE)
    x = np.array([[1.0, 2.0, 3.0]])
    for i in range(10):
        y = f(x, i / 30)
    assert np.allclose(y, x)


def test_jitter_at_rest_is_reduced():
    rng = np.random.default_rng(0)
    f = OneEuroFilter(DEFAULT_POSE, scale=1000.0)
    raw = 1000.0 + rng.normal(0, 10.0, size=(300, 5))  # mm, still person with 10 mm noise
    out = np.array([f(v, i / 30) for i, v in enumerate(raw)])
    assert out[50:].std(axis=0).mean() < 0.5 * raw[50:].std(axis=0).mean()


def test_beta_reduces_lag_on_fast_motion():
    t = np.arange(60) / 30
    ramp = 3000.0 * t  # 3 m/s in mm
    lagged = {}
    for beta in (0.0, 0.7):
        f = OneEuroFilter(OneEuroParams(1.0, beta, 1.0), scale=1000.0)
        out = np.array([f(np.array([v]), ti)[0] for v, ti in zip(ramp, t)])
        lagged[beta] = ramp[-1] - out[-1]
    assert lagged[0.7] < 0.6 * lagged[0.0]
    assert lagged[0.7] > 0  # still causal: behind, never ahead


def test_uses_timestamps_not_frame_counts():
    # the same motion sampled at 30 and 10 fps should end at a similar lag (dt enters the filter)
    ends = []
    for fps in (30, 10):
        f = OneEuroFilter(DEFAULT_POSE, scale=1000.0)
        t = np.arange(int(2 * fps) + 1) / fps
        for ti in t:
            y = f(np.array([1000.0 * ti]), ti)
        ends.append(1000.0 * t[-1] - y[0])
    assert ends[0] == pytest.approx(ends[1], rel=0.35)


def test_repeated_timestamp_returns_previous_estimate():
    f = OneEuroFilter(DEFAULT_POSE)
    f(np.array([0.0]), 0.0)
    a = f(np.array([10.0]), 0.1)
    b = f(np.array([50.0]), 0.1)
    assert np.allclose(a, b)


def test_track_filters_reset_on_track_loss():
    tf = TrackFilters(DEFAULT_POSE, 1.0)
    tf.update([1, 2], np.array([[0.0], [0.0]]), 0.0)
    out = tf.update([1, 2], np.array([[10.0], [10.0]]), 0.1)
    assert 0 < out[0, 0] < 10  # smoothed
    tf.update([2], np.array([[10.0]]), 0.2)  # track 1 lost
    assert tf.track_ids == [2]
    out = tf.update([1, 2], np.array([[100.0], [10.0]]), 0.3)
    assert out[0, 0] == 100.0  # restarted, not pulled back to the stale 0


def test_untracked_and_duplicate_ids_pass_through():
    tf = TrackFilters(DEFAULT_POSE, 1.0)
    tf.update([-1, 3, 3], np.zeros((3, 2)), 0.0)
    out = tf.update([-1, 3, 3], np.full((3, 2), 5.0), 0.1)
    assert np.all(out[0] == 5.0) and np.all(out[2] == 5.0)
    assert np.all(out[1] < 5.0)


def test_pose_smoother_keeps_absolute_equal_root_plus_relative():
    rng = np.random.default_rng(1)
    sm = PoseSmoother(root_index=0)
    for i in range(5):
        cam = rng.normal(0, 100, size=(2, 18, 3)) + np.array([0, 0, 3000.0])
        rel = cam - cam[:, :1]
        out = sm.update([4, 7], rng.normal(0, 5, size=(2, 18, 2)), rel, cam, i / 30)
    assert np.allclose(out.joints_rel_mm[:, 0], 0.0, atol=1e-3)
    assert np.allclose(out.joints_cam_mm - out.joints_cam_mm[:, :1], out.joints_rel_mm, atol=1e-2)
    assert out.joints_2d.shape == (2, 18, 2)


def test_invalid_params_rejected():
    with pytest.raises(ValueError):
        OneEuroParams(min_cutoff=0.0)
