"""BlazePose's 33 landmarks (MediaPipe's order), its skeleton and flip pairs, and the mapping onto PoseArena's
Human3.6M joint set (``models.joints.H36M18``).

The mapping (table with reasons in docs/blazepose.md): limbs map one to one; the pelvis is the hip midpoint (also
BlazePose's world origin); Neck and Thorax are the shoulder midpoint; Torso is halfway between pelvis and shoulder
midpoint; Nose is BlazePose's nose; Head (the end of the head chain, Human3.6M's head top) is extrapolated above the
ear midpoint along the shoulder-midpoint -> ear-midpoint direction (BlazePose has no head-top landmark).
"""

from __future__ import annotations

import numpy as np

from models.joints import H36M18

__all__ = [
    "BLAZEPOSE33_NAMES",
    "BLAZEPOSE33_FLIP_PAIRS",
    "BLAZEPOSE33_SKELETON",
    "H36M18_FROM_BLAZEPOSE",
    "HEAD_TOP_EXTRAPOLATION",
    "blazepose_to_h36m18",
    "blazepose_weights_to_h36m18",
    "world_to_h36m18_mm",
]

BLAZEPOSE33_NAMES: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
_I = {n: i for i, n in enumerate(BLAZEPOSE33_NAMES)}

# left/right are the person's own sides (MediaPipe's convention), as in H36M18
BLAZEPOSE33_FLIP_PAIRS: tuple[tuple[int, int], ...] = (
    (1, 4), (2, 5), (3, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16), (17, 18), (19, 20), (21, 22), (23, 24),
    (25, 26), (27, 28), (29, 30), (31, 32),
)

BLAZEPOSE33_SKELETON: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10),
    (11, 12), (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19), (12, 14), (14, 16), (16, 18), (16, 20),
    (16, 22), (18, 20), (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28), (27, 29), (28, 30),
    (29, 31), (30, 32), (27, 31), (28, 32),
)

HEAD_TOP_EXTRAPOLATION = 0.25  # Head = mid_ears + this x (mid_ears - mid_shoulders): Neck->Head ~225 mm, as H36M

# H36M18 joint -> (recipe, BlazePose landmark names). Recipes: "same" one landmark; "mid" mean of the two;
# "lerp" Pelvis..Thorax halfway; "head" extrapolation above the ears.
H36M18_FROM_BLAZEPOSE: dict[str, tuple[str, tuple[str, ...], str]] = {
    "Pelvis": ("mid", ("left_hip", "right_hip"), "same"),
    "R_Hip": ("same", ("right_hip",), "same"),
    "R_Knee": ("same", ("right_knee",), "same"),
    "R_Ankle": ("same", ("right_ankle",), "same"),
    "L_Hip": ("same", ("left_hip",), "same"),
    "L_Knee": ("same", ("left_knee",), "same"),
    "L_Ankle": ("same", ("left_ankle",), "same"),
    "Torso": ("lerp", ("left_hip", "right_hip", "left_shoulder", "right_shoulder"), "approx"),
    "Neck": ("mid", ("left_shoulder", "right_shoulder"), "approx"),
    "Nose": ("same", ("nose",), "approx"),
    "Head": ("head", ("left_ear", "right_ear", "left_shoulder", "right_shoulder"), "approx"),
    "L_Shoulder": ("same", ("left_shoulder",), "same"),
    "L_Elbow": ("same", ("left_elbow",), "same"),
    "L_Wrist": ("same", ("left_wrist",), "same"),
    "R_Shoulder": ("same", ("right_shoulder",), "same"),
    "R_Elbow": ("same", ("right_elbow",), "same"),
    "R_Wrist": ("same", ("right_wrist",), "same"),
    "Thorax": ("mid", ("left_shoulder", "right_shoulder"), "approx"),
}
assert tuple(H36M18_FROM_BLAZEPOSE) == H36M18.names
# per H36M18 joint the landmarks it is made from, padded to four by repeating the first (the min is unchanged)
_WEIGHT_SOURCES = np.array([[_I[n] for n in names] + [_I[names[0]]] * (4 - len(names))
                            for _r, names, _q in H36M18_FROM_BLAZEPOSE.values()], np.int64)


def _check(a: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    axis = -2 if what == "points" else -1
    if a.ndim < -axis or a.shape[axis] != 33:
        raise ValueError(f"blazepose_to_h36m18: expected [..., 33{', C' if what == 'points' else ''}] {what}, "
                         f"got shape {a.shape}")
    return a


def blazepose_to_h36m18(points: np.ndarray) -> np.ndarray:
    """[..., 33, C] BlazePose landmarks (2D pixels or 3D) -> [..., 18, C] in H36M18 order (float64)."""
    p = _check(points, "points")

    def g(n: str) -> np.ndarray:
        return p[..., _I[n], :]

    mid_hip = (g("left_hip") + g("right_hip")) / 2
    mid_sh = (g("left_shoulder") + g("right_shoulder")) / 2
    mid_ear = (g("left_ear") + g("right_ear")) / 2
    out = []
    for recipe, names, _q in H36M18_FROM_BLAZEPOSE.values():
        if recipe == "same":
            out.append(g(names[0]))
        elif recipe == "mid":
            out.append((g(names[0]) + g(names[1])) / 2)
        elif recipe == "lerp":
            out.append((mid_hip + mid_sh) / 2)
        else:  # head
            out.append(mid_ear + HEAD_TOP_EXTRAPOLATION * (mid_ear - mid_sh))
    return np.stack(out, axis=-2)


def blazepose_weights_to_h36m18(weights: np.ndarray) -> np.ndarray:
    """[..., 33] per-landmark weights (visibility) -> [..., 18]: the smallest weight of the landmarks each joint
    is made from (one gather and one min over a fixed [18, 4] index table: a loop of 18 stacks cost 0.3 ms a frame)."""
    w = _check(weights, "weights")
    return w[..., _WEIGHT_SOURCES].min(axis=-1)


def world_to_h36m18_mm(world_m: np.ndarray) -> np.ndarray:
    """[..., 33, 3] BlazePose world landmarks (metres, hip-centred, x right, y down, z away from the camera) ->
    [..., 18, 3] H36M18 joints in mm, root-relative (Pelvis exactly 0): PoseArena's ``joints_rel_mm`` axes."""
    j = blazepose_to_h36m18(world_m) * 1000.0
    return j - j[..., H36M18.root:H36M18.root + 1, :]
