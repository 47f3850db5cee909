"""Absolute placement without RootNet: the camera translation of a root-relative metric 3D pose from its 2D joints.

Given root-relative joints X_j (mm, camera axes: x right, y down, z forward), their image positions (u_j, v_j)
(px), weights w_j (e.g. visibility) and intrinsics (fx, fy, cx, cy), find T (mm) such that X_j + T projects onto
(u_j, v_j). Multiplying the pinhole equations out by the depth gives two equations per joint, linear in T:

    fx * Tx - (u_j - cx) * Tz = (u_j - cx) * Z_j - fx * X_j
    fy * Ty - (v_j - cy) * Tz = (v_j - cy) * Z_j - fy * Y_j

a 2J x 3 weighted least-squares system, solved through its 3x3 normal equations. Its rows are scaled by 1 / depth_j
(re-estimated once from the first solution), which makes each residual approximately a pixel error, then
(``refine``) a few Gauss-Newton steps minimise the true reprojection error. Pure numpy.

Quality: ``residual_px`` = weighted RMS reprojection error. ``ok`` is False (with ``reason``) when fewer than two
joints carry weight, the system is rank-deficient, Tz <= 0 or any used joint would lie at or behind the camera.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TranslationFit", "fit_translation", "project", "with_own_shape"]

MIN_DEPTH_MM = 1.0
_RANK_TOL = 1e-12  # det(A^T A) over its diagonal's product below this: a direction nothing constrains


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
    """The weighted linear system's least-squares T and rank, through its 3x3 normal equations."""
    fx, fy, cx, cy = k
    f = np.empty((6, len(x)))
    f[0], f[1] = fx, fy
    np.subtract(cx, uv[:, 0], out=f[2])  # -du
    np.subtract(cy, uv[:, 1], out=f[3])  # -dv
    f[4] = -f[2] * x[:, 2] - fx * x[:, 0]
    f[5] = -f[3] * x[:, 2] - fy * x[:, 1]
    s2 = w if depth is None else w / np.maximum(depth, MIN_DEPTH_MM) ** 2
    return _solve_normal((f * s2) @ f.T)


def _solve_normal(g: np.ndarray) -> tuple[np.ndarray, int]:
    """T from the weighted Gram matrix ``g`` [6,6] of the per-joint columns (gx, gy, hx, hy, bu, bv), whose rows
    are (gx, 0, hx) -> bu and (0, gy, hy) -> bv: the 3x3 normal equations, solved by Cramer's rule in plain floats
    (the 2J x 3 system's SVD, and numpy's per-call cost on a 3x3, made the fit cost a millisecond a person). Rank
    < 3 (NaN) when the determinant is under ``_RANK_TOL`` of the diagonal's product: a direction nothing fixes."""
    a00, a11, a22 = float(g[0, 0]), float(g[1, 1]), float(g[2, 2] + g[3, 3])
    a02, a12 = float(g[0, 2]), float(g[1, 3])
    b0, b1, b2 = float(g[0, 4]), float(g[1, 5]), float(g[2, 4] + g[3, 5])
    # ata = [[a00, 0, a02], [0, a11, a12], [a02, a12, a22]]
    c0 = a11 * a22 - a12 * a12
    det = a00 * c0 - a02 * a02 * a11
    if not (np.isfinite(det) and a00 * a11 * a22 > 0 and det > _RANK_TOL * a00 * a11 * a22):
        return np.full(3, np.nan), 2
    t0 = (b0 * c0 + a02 * (a12 * b1 - a11 * b2)) / det  # the adjugate's rows times b
    t1 = (a02 * a12 * b0 + (a00 * a22 - a02 * a02) * b1 - a00 * a12 * b2) / det
    t2 = (a00 * (a11 * b2 - a12 * b1) - a02 * a11 * b0) / det
    return np.array([t0, t1, t2]), 3


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
    """Up to ``iterations`` Gauss-Newton steps on the weighted reprojection error; the best translation seen. One
    Gram matrix per step gives both the step and the error of the translation it starts from."""
    fx, fy, cx, cy = k
    wsum = float(w.sum())
    best, best_err = t, np.inf
    f = np.empty((6, len(x)))
    for it in range(iterations + 1):
        p = x + t
        z = p[:, 2]
        if np.any(z <= MIN_DEPTH_MM):
            break
        iz = 1.0 / z
        np.multiply(fx, iz, out=f[0])
        np.multiply(fy, iz, out=f[1])
        pu, pv = f[0] * p[:, 0], f[1] * p[:, 1]  # projection minus the principal point
        np.multiply(-pu, iz, out=f[2])
        np.multiply(-pv, iz, out=f[3])
        np.subtract(uv[:, 0] - cx, pu, out=f[4])  # minus the residual
        np.subtract(uv[:, 1] - cy, pv, out=f[5])
        g = (f * w) @ f.T
        err = float(np.sqrt(max(float(g[4, 4] + g[5, 5]), 0.0) / wsum))
        if err < best_err:
            best, best_err = t, err
        if it == iterations:
            break
        step, rank = _solve_normal(g)
        if rank < 3:
            break
        t = t + step
        if np.abs(step).max() < 1e-6:
            if np.all(x[:, 2] + t[2] > MIN_DEPTH_MM) and _rms_px(x, uv, w, t, k) < best_err:
                best = t
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
