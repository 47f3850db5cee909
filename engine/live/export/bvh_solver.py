"""Joint rotations from recorded joint positions, for a rigid skeleton (BVH export, the VMC stream).

Why this shape: a pose model gives joint positions, an animation rig wants one rotation per joint over a rigid
skeleton. The skeleton is Human3.6M-17 (``models.joints.H36M18`` without its added Thorax) rooted at the pelvis, in a
Y-up frame (the person's left is +X, they face +Z). Its rest pose is a T-pose; each bone's length is the median over
the track.

How each joint's world rotation is chosen (a defined twist, so the same pose always gives the same rotations):

- **Pelvis**: a frame from the spine (pelvis -> torso, exact) and the hip line (right hip -> left hip).
- **Neck** (the chest): a frame from the shoulder line (right -> left shoulder, exact) and the neck -> nose
  direction (so a nod moves the head chain exactly, not the nose off its place).
- **every other joint with a child**: the smallest rotation ("swing") that turns its parent's rotation into one that
  points its bone at the recorded child. The twist about the bone is therefore inherited from the parent: from the
  hip line for the legs and the spine, from the shoulder line for the arms and the head. It is undefined only when
  a bone points exactly opposite its T-pose direction relative to its parent (a leg straight up from the pelvis, an
  arm folded across the chest), where a fixed axis is used.
- **ankles, wrists, head top**: no child, so they keep their parent's rotation.

The hips hang from the pelvis frame and the nose and shoulders from the neck frame by their mean direction in that
frame: where a body bends between those points (a sideways bend at the waist, a sideways head tilt) the rigid
skeleton cannot follow. Single-child chains reproduce every recorded direction exactly; with each bone at its median
length, the forward-kinematics error of a real recording is mostly the model's bone-length variation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.joints import H36M18

__all__ = ["BONE_NAMES", "CHILDREN", "PARENTS", "SkeletonFit", "euler_zxy_deg", "fit_skeleton", "forward_kinematics",
           "local_rotations", "matrix_from_euler_zxy_deg", "quaternion_xyzw", "solve_rotations"]

BONE_NAMES: tuple[str, ...] = H36M18.names[:17]
_IDX = {n: i for i, n in enumerate(BONE_NAMES)}
PARENTS: tuple[int, ...] = tuple(
    [-1] + [next(a for a, b in H36M18.skeleton if b == j) for j in range(1, len(BONE_NAMES))])
CHILDREN: tuple[tuple[int, ...], ...] = tuple(tuple(j for j, p in enumerate(PARENTS) if p == i)
                                              for i in range(len(BONE_NAMES)))

_X, _Y = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
# T-pose direction of each bone that hangs from a swing joint (Y up, left = +X, facing +Z)
_REST_AIM: dict[str, np.ndarray] = {
    "R_Knee": -_Y, "R_Ankle": -_Y, "L_Knee": -_Y, "L_Ankle": -_Y, "Neck": _Y, "Head": _Y,
    "L_Elbow": _X, "L_Wrist": _X, "R_Elbow": -_X, "R_Wrist": -_X,
}


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.cross for [...,3] without its axis bookkeeping (it dominates a one-frame solve in the live stream)."""
    a, b = np.broadcast_arrays(a, b)
    return np.stack([a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1], a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
                     a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]], axis=-1)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 1e-12, n, 1.0)


def _frame(primary: np.ndarray, secondary: np.ndarray, ax_p: np.ndarray, ax_s: np.ndarray) -> np.ndarray:
    """[N,3,3] rotations taking ``ax_p`` to ``primary`` exactly and ``ax_s`` into the plane of both vectors."""
    e1 = _unit(primary)
    e2 = _unit(secondary - np.sum(secondary * e1, -1, keepdims=True) * e1)
    world = np.stack([e1, e2, _cross(e1, e2)], axis=-1)
    rest = np.stack([ax_p, ax_s, _cross(ax_p, ax_s)], axis=-1)
    return world @ rest.T


def _swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[N,3,3] the smallest rotations taking unit vectors ``a`` to ``b``: I + [v]x + [v]x^2 / (1 + c) with v = a x b,
    c = a . b (Rodrigues without angles); half a turn about a fixed perpendicular axis where ``b == -a``."""
    v = _cross(a, b)
    c = np.sum(a * b, -1)
    zero = np.zeros_like(c)
    kx = np.stack([np.stack([zero, -v[:, 2], v[:, 1]], -1), np.stack([v[:, 2], zero, -v[:, 0]], -1),
                   np.stack([-v[:, 1], v[:, 0], zero], -1)], -2)
    opposite = c < -1.0 + 1e-9
    rot = np.eye(3) + kx + (kx @ kx) / np.where(opposite, 1.0, 1.0 + c)[:, None, None]
    if opposite.any():
        alt = _cross(a[opposite], np.array([0.0, 0.0, 1.0]))
        alt = np.where(np.linalg.norm(alt, axis=-1, keepdims=True) > 1e-6, alt, _cross(a[opposite], _X))
        k = _unit(alt)
        rot[opposite] = 2.0 * k[:, :, None] * k[:, None, :] - np.eye(3)
    return rot


def _frame_rotation(name: str, pts: np.ndarray) -> np.ndarray:
    g = {n: pts[:, i] for n, i in _IDX.items()}
    if name == "Pelvis":
        return _frame(g["Torso"] - g["Pelvis"], g["L_Hip"] - g["R_Hip"], _Y, _X)
    return _frame(g["L_Shoulder"] - g["R_Shoulder"], g["Nose"] - g["Neck"], _X, _Y)


_FRAME_JOINTS = ("Pelvis", "Neck")


@dataclass(frozen=True)
class SkeletonFit:
    """A rigid skeleton for one track: ``offsets`` [17,3] of each joint from its parent in the parent's rest frame
    (the root's is zero), in the units of the points it was fitted to."""

    offsets: np.ndarray
    lengths: np.ndarray  # [17] median bone length (0 for the root)


def solve_rotations(pts: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
    """World rotations [N,17,3,3] of each joint for points [N,17,3] (Y up, all finite). ``offsets`` (a fit's) are
    needed only for the rest direction of bones below a frame joint; swing joints use their T-pose aim."""
    n = len(pts)
    rot = np.zeros((n, len(BONE_NAMES), 3, 3))
    for j, name in enumerate(BONE_NAMES):  # parents come before children in this order
        if name in _FRAME_JOINTS:
            rot[:, j] = _frame_rotation(name, pts)
            continue
        parent = rot[:, PARENTS[j]]
        kids = CHILDREN[j]
        if not kids:
            rot[:, j] = parent
            continue
        child = kids[0]
        aim = _REST_AIM[BONE_NAMES[child]]
        now = _unit(pts[:, child] - pts[:, j])
        rot[:, j] = _swing(parent @ aim, now) @ parent
    return rot


def fit_skeleton(pts: np.ndarray) -> SkeletonFit:
    """Bone lengths (median) and rest offsets for a track of points [N,17,3] (frames with any non-finite joint are
    ignored). ValueError when no frame is complete."""
    ok = np.isfinite(pts).all(axis=(1, 2))
    if not ok.any():
        raise ValueError("no frame has all 17 joints")
    good = pts[ok]
    rot = solve_rotations(good)
    offsets = np.zeros((len(BONE_NAMES), 3))
    lengths = np.zeros(len(BONE_NAMES))
    for j in range(1, len(BONE_NAMES)):
        p = PARENTS[j]
        bone = good[:, j] - good[:, p]
        lengths[j] = float(np.median(np.linalg.norm(bone, axis=-1)))
        if BONE_NAMES[p] in _FRAME_JOINTS:
            local = np.einsum("nji,nj->ni", rot[:, p], _unit(bone))  # the bone in its parent's rest frame
            direction = _unit(local.mean(axis=0))
        else:
            direction = _REST_AIM[BONE_NAMES[j]]
        offsets[j] = direction * lengths[j]
    return SkeletonFit(offsets, lengths)


def local_rotations(world: np.ndarray) -> np.ndarray:
    """[N,17,3,3] each joint's rotation relative to its parent (the root's is its world rotation)."""
    local = world.copy()
    for j in range(1, len(BONE_NAMES)):
        local[:, j] = np.swapaxes(world[:, PARENTS[j]], -1, -2) @ world[:, j]
    return local


def forward_kinematics(offsets: np.ndarray, root: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Joint positions [N,17,3] from rest offsets [17,3], root positions [N,3] and local rotations [N,17,3,3]."""
    n = len(root)
    world = np.zeros((n, len(BONE_NAMES), 3, 3))
    pos = np.zeros((n, len(BONE_NAMES), 3))
    for j in range(len(BONE_NAMES)):
        p = PARENTS[j]
        if p < 0:
            world[:, j], pos[:, j] = local[:, j], root
        else:
            world[:, j] = world[:, p] @ local[:, j]
            pos[:, j] = pos[:, p] + world[:, p] @ offsets[j]
    return pos


def euler_zxy_deg(r: np.ndarray) -> np.ndarray:
    """Rotations [...,3,3] -> BVH channels (Zrotation, Xrotation, Yrotation) in degrees, R = Rz @ Rx @ Ry."""
    x = np.arcsin(np.clip(r[..., 2, 1], -1.0, 1.0))
    z = np.arctan2(-r[..., 0, 1], r[..., 1, 1])
    y = np.arctan2(-r[..., 2, 0], r[..., 2, 2])
    return np.degrees(np.stack([z, x, y], axis=-1))


def matrix_from_euler_zxy_deg(zxy: np.ndarray) -> np.ndarray:
    """BVH channels (Z, X, Y degrees) [...,3] -> rotations [...,3,3] (R = Rz @ Rx @ Ry)."""
    z, x, y = np.radians(zxy[..., 0]), np.radians(zxy[..., 1]), np.radians(zxy[..., 2])
    one, zero = np.ones_like(z), np.zeros_like(z)

    def mat(rows: list[list[np.ndarray]]) -> np.ndarray:
        return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)

    rz = mat([[np.cos(z), -np.sin(z), zero], [np.sin(z), np.cos(z), zero], [zero, zero, one]])
    rx = mat([[one, zero, zero], [zero, np.cos(x), -np.sin(x)], [zero, np.sin(x), np.cos(x)]])
    ry = mat([[np.cos(y), zero, np.sin(y)], [zero, one, zero], [-np.sin(y), zero, np.cos(y)]])
    return rz @ rx @ ry


def quaternion_xyzw(r: np.ndarray) -> np.ndarray:
    """Rotations [...,3,3] -> unit quaternions [...,4] (x, y, z, w), w >= 0 (Shepperd: divide by the largest of the
    four, so half turns come out right too)."""
    m = np.asarray(r, dtype=np.float64)
    tr = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    cand = np.stack([tr, m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]], axis=-1)
    best = np.argmax(cand, axis=-1)
    q = np.zeros((*m.shape[:-2], 4))
    d = {k: m[..., i, j] for k, (i, j) in {"01": (0, 1), "10": (1, 0), "02": (0, 2), "20": (2, 0), "12": (1, 2),
                                            "21": (2, 1)}.items()}
    for b in range(4):
        sel = best == b
        if not sel.any():
            continue
        if b == 0:
            s4 = np.sqrt(np.maximum(1e-12, 1 + tr[sel])) * 2
            v = [(d["21"] - d["12"])[sel] / s4, (d["02"] - d["20"])[sel] / s4, (d["10"] - d["01"])[sel] / s4, s4 / 4]
        elif b == 1:
            s4 = np.sqrt(np.maximum(1e-12, (1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2])[sel])) * 2
            v = [s4 / 4, (d["01"] + d["10"])[sel] / s4, (d["02"] + d["20"])[sel] / s4, (d["21"] - d["12"])[sel] / s4]
        elif b == 2:
            s4 = np.sqrt(np.maximum(1e-12, (1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2])[sel])) * 2
            v = [(d["01"] + d["10"])[sel] / s4, s4 / 4, (d["12"] + d["21"])[sel] / s4, (d["02"] - d["20"])[sel] / s4]
        else:
            s4 = np.sqrt(np.maximum(1e-12, (1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2])[sel])) * 2
            v = [(d["02"] + d["20"])[sel] / s4, (d["12"] + d["21"])[sel] / s4, s4 / 4, (d["10"] - d["01"])[sel] / s4]
        q[sel] = np.stack(v, axis=-1)
    q *= np.where(q[..., 3:] < 0, -1.0, 1.0)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)
