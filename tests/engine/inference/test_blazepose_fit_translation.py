"""Least-squares camera translation of a root-relative pose from its 2D joints (engine/inference/fit_translation)."""

from __future__ import annotations

import numpy as np

from engine.inference.fit_translation import fit_translation, project

K = (1000.0, 1010.0, 320.0, 240.0)


def skeleton_mm(seed: int = 0) -> np.ndarray:
    """A standing person (17 joints, root at 0), mm, camera axes, with a little random depth variation."""
    rng = np.random.default_rng(seed)
    j = np.array([[0, 0, 0], [-120, 0, 0], [-130, 420, 30], [-130, 830, 0], [120, 0, 0], [130, 420, -20],
                  [130, 830, 10], [0, -230, 0], [0, -480, 10], [0, -580, -60], [0, -700, 0], [180, -450, 0],
                  [260, -200, 40], [300, 30, 80], [-180, -450, 0], [-260, -200, -40], [-300, 30, -80]], float)
    return j + rng.normal(0, 15, j.shape) * [1, 1, 3]


def test_recovers_known_translation_noise_free():
    x = skeleton_mm()
    x = x - x[0]
    t_true = np.array([350.0, -120.0, 4200.0])
    uv = project(x + t_true, *K)
    fit = fit_translation(x, uv, None, *K)
    assert fit.ok, fit.reason
    assert np.abs(fit.translation_mm - t_true).max() < 1.0
    assert fit.residual_px < 1e-3
    assert fit.n_used == 17


def test_close_with_noise_and_weights():
    rng = np.random.default_rng(1)
    x = skeleton_mm(2)
    x = x - x[0]
    t_true = np.array([-600.0, 200.0, 5500.0])
    uv = project(x + t_true, *K) + rng.normal(0, 2.0, (17, 2))
    w = np.ones(17)
    uv[5] += 300.0  # a wild joint, weighted out
    w[5] = 0.0
    fit = fit_translation(x, uv, w, *K)
    assert fit.ok and fit.n_used == 16
    assert np.abs(fit.translation_mm[:2] - t_true[:2]).max() < 40
    assert abs(fit.translation_mm[2] - t_true[2]) < 250  # depth from scale: ~2-4 % with 2 px noise
    assert fit.residual_px < 4.0


def test_degenerate_fits_are_flagged():
    x = skeleton_mm()
    x = x - x[0]
    uv = project(x + [0, 0, 3000.0], *K)
    w = np.zeros(17)
    w[3] = 1
    assert not fit_translation(x, uv, w, *K).ok  # one joint only
    # 2D joints mirrored through the principal point: the only fit puts the person behind the camera
    flipped = fit_translation(x, np.stack([2 * K[2] - uv[:, 0], 2 * K[3] - uv[:, 1]], 1), None, *K)
    assert not flipped.ok and ("Tz" in flipped.reason or "behind" in flipped.reason)
    nan = fit_translation(x, np.full((17, 2), np.nan), None, *K)
    assert not nan.ok and nan.n_used == 0
