"""Absolute placement without RootNet: the camera translation of a root-relative metric 3D pose from its 2D joints.

Given root-relative joints X_j (mm, camera axes: x right, y down, z forward), their image positions (u_j, v_j)
(px), weights w_j (e.g. visibility) and intrinsics (fx, fy, cx, cy), find T (mm) such that X_j + T projects onto
(u_j, v_j). Multiplying the pinhole equations out by the depth gives two equations per joint, linear in T:

    fx * Tx - (u_j - cx) * Tz = (u_j - cx) * Z_j - fx * X_j
    fy * Ty - (v_j - cy) * Tz = (v_j - cy) * Z_j - fy * Y_j

a 2J x 3 weighted least-squares system. Its rows are scaled by 1 / depth_j (re-estimated once from the first
solution), which makes each residual approximately a pixel error, then (``refine``) a few Gauss-Newton steps
minimise the true reprojection error. Pure numpy.

Quality: ``residual_px`` = weighted RMS reprojection error. ``ok`` is False (with ``reason``) when fewer than two
joints carry weight, the system is rank-deficient, Tz <= 0 or any used joint would lie at or behind the camera.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TranslationFit", "fit_translation", "project", "with_own_shape"]

MIN_DEPTH_MM = 1.0


@dataclass
class TranslationFit:
    translation_mm: np.ndarray  # [3] T; NaN when no solution could be formed at all
    ok: bool
    reason: str  # "" when ok
    residual_px: float  # weighted RMS reprojection error of the used joints (NaN when not computable)
    n_used: int  # joints with weight > 0 and finite inputs


def project(joints_mm: np.ndarray, fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    """[..., J, 3] camera mm -> [..., J, 2] pixels."""
    p = np.asarray(joints_mm, dtype=np.float64)
    z = p[..., 2]
    return np.stack([fx * p[..., 0] / z + cx, fy * p[..., 1] / z + cy], axis=-1)


def _solve(x: np.ndarray, uv: np.ndarray, w: np.ndarray, k: tuple[float, float, float, float],
           depth: np.ndarray | None) -> tuple[np.ndarray, int]:
    fx, fy, cx, cy = k
    du, dv = uv[:, 0] - cx, uv[:, 1] - cy
    n = len(x)
    a = np.zeros((2 * n, 3))
    b = np.zeros(2 * n)
    a[0::2, 0], a[0::2, 2], b[0::2] = fx, -du, du * x[:, 2] - fx * x[:, 0]
    a[1::2, 1], a[1::2, 2], b[1::2] = fy, -dv, dv * x[:, 2] - fy * x[:, 1]
    s = np.sqrt(w)
    if depth is not None:
        s = s / np.maximum(depth, MIN_DEPTH_MM)
    s2 = np.repeat(s, 2)
    t, _res, rank, _sv = np.linalg.lstsq(a * s2[:, None], b * s2, rcond=None)
    return t, int(rank)


def _rms_px(x: np.ndarray, uv: np.ndarray, w: np.ndarray, t: np.ndarray, k: tuple[float, float, float, float]
            ) -> float:
    p = project(x + t, *k)
    err2 = ((p - uv) ** 2).sum(1)
    return float(np.sqrt((w * err2).sum() / w.sum()))


def fit_translation(joints_rel_mm: np.ndarray, joints_2d_px: np.ndarray, weights: np.ndarray | None,
                    fx: float, fy: float, cx: float, cy: float, *, refine: bool = True,
                    iterations: int = 5) -> TranslationFit:
    """Least-squares translation of one person's root-relative joints [J,3] (mm) onto their 2D joints [J,2] (px).

    ``weights`` [J] (None = all 1; NaN or negative count as 0). Joints with a non-finite 3D or 2D value are
    ignored. Returns a ``TranslationFit``; never raises for a degenerate pose (it reports it in ``ok``/``reason``).
    """
    x = np.asarray(joints_rel_mm, dtype=np.float64)
    uv = np.asarray(joints_2d_px, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 3 or uv.shape != (len(x), 2):
        raise ValueError(f"fit_translation: expected joints [J,3] and 2D joints [J,2], got {x.shape} and {uv.shape}")
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape != (len(x),):
        raise ValueError(f"fit_translation: weights of shape {w.shape} for {len(x)} joints")
    w = np.where(np.isfinite(w) & (w > 0), w, 0.0)
    use = (w > 0) & np.all(np.isfinite(x), 1) & np.all(np.isfinite(uv), 1)
    n_used = int(use.sum())
    nan = np.full(3, np.nan)
    if n_used < 2:
        return TranslationFit(nan, False, f"only {n_used} joint(s) with weight", float("nan"), n_used)
    x, uv, w = x[use], uv[use], w[use]
    k = (float(fx), float(fy), float(cx), float(cy))
    t, rank = _solve(x, uv, w, k, None)
    if rank < 3:
        return TranslationFit(nan, False, "degenerate: joints do not constrain the translation", float("nan"),
                              n_used)
    if t[2] > 0:  # re-weight rows by each joint's depth so the residuals are ~ pixels
        t2, rank2 = _solve(x, uv, w, k, x[:, 2] + t[2])
        if rank2 == 3 and t2[2] > 0:
            t = t2
    if refine and t[2] > 0 and np.all(x[:, 2] + t[2] > MIN_DEPTH_MM):
        t = _gauss_newton(x, uv, w, t, k, iterations)
    depth = x[:, 2] + t[2]
    if not (t[2] > 0):
        return TranslationFit(t, False, f"degenerate: Tz = {t[2]:.1f} mm is not in front of the camera",
                              float("nan"), n_used)
    if np.any(depth <= MIN_DEPTH_MM):
        return TranslationFit(t, False, "degenerate: a joint would be at or behind the camera", float("nan"),
                              n_used)
    return TranslationFit(t, True, "", _rms_px(x, uv, w, t, k), n_used)


def _gauss_newton(x: np.ndarray, uv: np.ndarray, w: np.ndarray, t: np.ndarray,
                  k: tuple[float, float, float, float], iterations: int) -> np.ndarray:
    fx, fy, cx, cy = k
    sw = np.repeat(np.sqrt(w), 2)
    best, best_err = t, _rms_px(x, uv, w, t, k)
    for _ in range(iterations):
        p = x + t
        z = p[:, 2]
        if np.any(z <= MIN_DEPTH_MM):
            break
        r = (project(p, *k) - uv).reshape(-1)
        jac = np.zeros((2 * len(x), 3))
        jac[0::2, 0], jac[0::2, 2] = fx / z, -fx * p[:, 0] / z**2
        jac[1::2, 1], jac[1::2, 2] = fy / z, -fy * p[:, 1] / z**2
        step, *_ = np.linalg.lstsq(jac * sw[:, None], -r * sw, rcond=None)
        t = t + step
        err = _rms_px(x, uv, w, t, k) if np.all(x[:, 2] + t[2] > MIN_DEPTH_MM) else np.inf
        if err < best_err:
            best, best_err = t, err
        if np.abs(step).max() < 1e-6:
            break
    return best


def fit_root_depths(world_mm: np.ndarray, joints_2d_px: np.ndarray, weights: np.ndarray | None,
                    f: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per person: the root depth (mm) that places a metric root-relative skeleton on its own 2D joints.

    ``world_mm`` [N,J,3] root-relative, ``joints_2d_px`` [N,J,2], ``weights`` [N,J] (None: all 1), ``f``/``c``
    one camera (2,) or one per person [N,2]. Returns (z [N], ok [N]); z is NaN where the fit failed.
    """
    n = int(world_mm.shape[0])
    fs = np.broadcast_to(np.asarray(f, np.float64).reshape(-1, 2), (n, 2))
    cs = np.broadcast_to(np.asarray(c, np.float64).reshape(-1, 2), (n, 2))
    z, ok = np.full(n, np.nan), np.zeros(n, bool)
    for i in range(n):
        w = None if weights is None else weights[i]
        fit = fit_translation(world_mm[i], joints_2d_px[i], w, fs[i, 0], fs[i, 1], cs[i, 0], cs[i, 1])
        if fit.ok:
            z[i], ok[i] = float(fit.translation_mm[2]), True
    return z, ok


def with_own_shape(joints_cam_mm: np.ndarray, world_mm: np.ndarray, root_index: int) -> np.ndarray:
    """[N,J,3] camera joints with the model's own metric root-relative shape ``world_mm`` [N,J,3], moved to the
    root that placement gave them (persons whose metric 3D is not finite keep their decoded joints).

    Why: decoding image joints with a root depth scales the skeleton with that depth, so a wrong depth (a random
    RootNet says 600 m) would make a metric model's person 600 m tall. A model that measures its own metric 3D keeps
    that shape whoever places it; only its translation changes."""
    cam = np.asarray(joints_cam_mm, dtype=np.float64)
    world = np.asarray(world_mm, dtype=np.float64)
    if cam.shape != world.shape or cam.size == 0:
        return cam
    r = int(root_index)
    placed = cam[:, r:r + 1] + (world - world[:, r:r + 1])
    ok = np.isfinite(world).all(axis=(1, 2)) & np.isfinite(cam[:, r]).all(axis=-1)
    return np.where(ok[:, None, None], placed, cam)
