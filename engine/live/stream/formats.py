"""What the OSC stream sends for one frame: a registered class per message set (``@register_stream_format``).

- ``plain`` (TouchDesigner, Max, Pure Data): per frame ``/posearena/frame`` (model s, frame id i, time s f,
  persons i), then per person ``/posearena/pose`` (model s, track id i, frame id i, time s f, joints i, then x y z
  f per joint in metres in the camera frame: x right, y down, z forward from the camera; the joint order is the
  model's joint set, ``models/joints.py``; a joint the model did not give is NaN).
- ``vmc`` (the Virtual Motion Capture protocol: VSeeFace, VMC4U/VMC4UE, Blender add-ons): per frame
  ``/VMC/Ext/Root/Pos`` ("root", pelvis position, identity rotation), ``/VMC/Ext/Bone/Pos`` (Unity humanoid bone
  name, local position, local rotation x y z w) per bone, ``/VMC/Ext/OK`` (1: loaded) and ``/VMC/Ext/T`` (time s).
  Rotations are ``bvh_solver``'s local joint rotations relative to a T-pose, in Unity's axes (left-handed: x right,
  y up, z forward; the avatar faces +z), metres. One person: the lowest track id (the first person if untracked).

The time is the source's media time when it has one, else seconds since the stream's first frame. Each frame goes out
as one bundle (one UDP datagram), so a receiver never sees half a frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.live.export.bvh_solver import BONE_NAMES, PARENTS, local_rotations, quaternion_xyzw, solve_rotations
from engine.live.stream.osc import OscArg, bundle, message
from models.registry import Registry

__all__ = ["StreamFrame", "VMC_BONES", "stream_format", "stream_formats", "unity_from_yup"]


@dataclass(frozen=True)
class StreamFrame:
    """The part of a live result the stream needs (copied on the inference thread; encoded on the sender's)."""

    model: str
    joint_set: str
    frame_id: int
    time_s: float
    track_ids: np.ndarray  # [P]
    joints_cam_mm: np.ndarray  # [P,J,3]


class StreamFormat:
    """A message set: ``packet(frame)`` -> one OSC packet (or None: nothing to send for that frame)."""

    kind = ""
    needs_body = False  # True: drives a skeleton, so the model needs a body joint set

    def packet(self, frame: StreamFrame) -> bytes | None:
        raise NotImplementedError


_FORMATS: Registry[type[StreamFormat]] = Registry("stream format", set_kind=True)


def register_stream_format(name: str):
    """Class decorator: a ``StreamFormat`` for ``--stream-format name``."""
    return _FORMATS.register(name)


def stream_formats() -> list[str]:
    return _FORMATS.known()


def stream_format(name: str) -> StreamFormat:
    if name not in _FORMATS.known():
        raise ValueError(f"unknown stream format {name!r}; available: {', '.join(_FORMATS.known())}")
    return _FORMATS[name]()


def _floats(a: np.ndarray) -> list[OscArg]:
    return [float(v) for v in np.asarray(a, dtype=np.float64).reshape(-1)]


@register_stream_format("plain")
class PlainJoints(StreamFormat):
    def packet(self, frame: StreamFrame) -> bytes | None:
        t = float(frame.time_s)
        msgs = [message("/posearena/frame", [frame.model, int(frame.frame_id), t, len(frame.track_ids)])]
        for tid, joints in zip(frame.track_ids, frame.joints_cam_mm, strict=True):
            msgs.append(message("/posearena/pose", [frame.model, int(tid), int(frame.frame_id), t, len(joints),
                                                    *_floats(joints / 1000.0)]))
        return bundle(msgs)


# Human3.6M-17 joint -> the Unity humanoid bone its rotation drives. The chest frame (our Neck joint) drives Chest,
# the head chain's swing (our Nose joint: nose -> head top) drives Head; Unity's UpperChest, Neck and shoulder
# (clavicle) bones are left at rest.
VMC_BONES: dict[str, str] = {
    "Pelvis": "Hips", "R_Hip": "RightUpperLeg", "R_Knee": "RightLowerLeg", "R_Ankle": "RightFoot",
    "L_Hip": "LeftUpperLeg", "L_Knee": "LeftLowerLeg", "L_Ankle": "LeftFoot", "Torso": "Spine", "Neck": "Chest",
    "Nose": "Head", "L_Shoulder": "LeftUpperArm", "L_Elbow": "LeftLowerArm", "L_Wrist": "LeftHand",
    "R_Shoulder": "RightUpperArm", "R_Elbow": "RightLowerArm", "R_Wrist": "RightHand",
}
_MIRROR_X = np.diag([-1.0, 1.0, 1.0])


def unity_from_yup(points: np.ndarray) -> np.ndarray:
    """Our Y-up frame (right-handed, the person's left +x, facing +z) -> Unity's (left-handed, the avatar's left -x,
    facing +z): x is mirrored."""
    return np.asarray(points) * [-1.0, 1.0, 1.0]


def yup_from_camera(cam: np.ndarray) -> np.ndarray:
    """Camera (x right, y down, z forward) -> Y up: (x, -y, -z), as the TRC/C3D/BVH exports."""
    return np.asarray(cam, dtype=np.float64) * [1.0, -1.0, -1.0]


def _person(frame: StreamFrame) -> np.ndarray | None:
    """The VMC person's [17,3] joints in camera mm (mapped to Human3.6M-17), or None when incomplete."""
    if len(frame.track_ids) == 0:
        return None
    ids = np.asarray(frame.track_ids)
    p = int(np.argmin(np.where(ids >= 0, ids, np.iinfo(np.int64).max))) if (ids >= 0).any() else 0
    pts = frame.joints_cam_mm[p]
    if frame.joint_set != "h36m18":
        from models.joint_mapping import to_joint_set

        pts = to_joint_set(pts, frame.joint_set, "h36m18")
    pts = pts[:len(BONE_NAMES)]
    return pts if np.isfinite(pts).all() else None


def vmc_bones(yup_m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For Y-up joints [17,3] in metres: (local rotations [17,4] x y z w, local positions [17,3], root position [3]),
    all in Unity's axes."""
    world = solve_rotations(yup_m[None])
    local = local_rotations(world)[0]
    pos = np.zeros((len(BONE_NAMES), 3))
    for j in range(1, len(BONE_NAMES)):
        pos[j] = world[0, PARENTS[j]].T @ (yup_m[j] - yup_m[PARENTS[j]])
    return quaternion_xyzw(_MIRROR_X @ local @ _MIRROR_X), unity_from_yup(pos), unity_from_yup(yup_m[0])


@register_stream_format("vmc")
class VmcBones(StreamFormat):
    needs_body = True

    def packet(self, frame: StreamFrame) -> bytes | None:
        msgs = []
        pts = _person(frame)
        if pts is not None:
            rot, pos, root = vmc_bones(yup_from_camera(pts) / 1000.0)
            msgs.append(message("/VMC/Ext/Root/Pos", ["root", *_floats(root), 0.0, 0.0, 0.0, 1.0]))
            for j, name in enumerate(BONE_NAMES):
                bone = VMC_BONES.get(name)
                if bone is not None:
                    msgs.append(message("/VMC/Ext/Bone/Pos", [bone, *_floats(pos[j]), *_floats(rot[j])]))
        msgs.append(message("/VMC/Ext/OK", [1]))
        t = float(frame.time_s)
        msgs.append(message("/VMC/Ext/T", [t if math.isfinite(t) else 0.0]))
        return bundle(msgs)
