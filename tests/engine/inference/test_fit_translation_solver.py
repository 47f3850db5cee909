"""The translation fit's normal-equation solver against a plain least-squares reference (numpy's lstsq)."""

from __future__ import annotations

import numpy as np

from engine.inference.fit_translation import MIN_DEPTH_MM, fit_translation, project


def reference_fit(x: np.ndarray, uv: np.ndarray, w: np.ndarray, k: tuple[float, float, float, float],
                  iterations: int = 5) -> np.ndarray:
    """The same method written the plain way: 2J x 3 systems solved by lstsq, Gauss-Newton on the reprojection."""
    fx, fy, cx, cy = k

    def solve(depth: np.ndarray | None) -> np.ndarray:
        du, dv = uv[:, 0] - cx, uv[:, 1] - cy
        a = np.zeros((2 * len(x), 3))
        b = np.zeros(2 * len(x))
        a[0::2, 0], a[0::2, 2], b[0::2] = fx, -du, du * x[:, 2] - fx * x[:, 0]
        a[1::2, 1], a[1::2, 2], b[1::2] = fy, -dv, dv * x[:, 2] - fy * x[:, 1]
        s = np.sqrt(w) / (1.0 if depth is None else np.maximum(depth, MIN_DEPTH_MM))
        s2 = np.repeat(s, 2)
        return np.linalg.lstsq(a * s2[:, None], b * s2, rcond=None)[0]

    def rms(t: np.ndarray) -> float:
        return float(np.sqrt((w * ((project(x + t, *k) - uv) ** 2).sum(1)).sum() / w.sum()))

    t = solve(None)
    t = solve(x[:, 2] + t[2])
    best, best_err = t, rms(t)
    for _ in range(iterations):
        p = x + t
        z = p[:, 2]
        r = (project(p, *k) - uv).reshape(-1)
        jac = np.zeros((2 * len(x), 3))
        jac[0::2, 0], jac[0::2, 2] = fx / z, -fx * p[:, 0] / z**2
        jac[1::2, 1], jac[1::2, 2] = fy / z, -fy * p[:, 1] / z**2
        sw = np.repeat(np.sqrt(w), 2)
        step = np.linalg.lstsq(jac * sw[:, None], -r * sw, rcond=None)[0]
        t = t + step
        if rms(t) < best_err:
            best, best_err = t, rms(t)
        if np.abs(step).max() < 1e-6:
            break
    return best


def test_equals_the_lstsq_reference_on_random_people():
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(300):
        j = int(rng.integers(4, 34))
        x = rng.normal(0, 300, (j, 3)) * [1, 1, rng.uniform(0.1, 1)]
        t_true = np.array([rng.normal(0, 800), rng.normal(0, 400), rng.uniform(1500, 9000)])
        k = (rng.uniform(300, 1500), rng.uniform(300, 1500), rng.uniform(100, 700), rng.uniform(100, 500))
        uv = project(x + t_true, *k) + rng.normal(0, rng.uniform(0, 8), (j, 2))
        w = rng.uniform(0.2, 1.0, j)
        fit = fit_translation(x, uv, w, *k)
        assert fit.ok, fit.reason
        np.testing.assert_allclose(fit.translation_mm, reference_fit(x, uv, w, k), atol=1e-3)
        checked += 1
    assert checked == 300


def test_all_joints_on_one_pixel_is_degenerate():
    x = np.random.default_rng(1).normal(0, 300, (17, 3))
    uv = np.tile([[300.0, 200.0]], (17, 1))
    fit = fit_translation(x, uv, None, 1000.0, 1000.0, 320.0, 240.0)
    assert not fit.ok and "degenerate" in fit.reason
