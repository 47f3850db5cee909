"""BVH export: read back with a maintained BVH reader (bvhio, a test dependency) and forward kinematics of our own
(quaternions from the reader, offsets from the file), the joints come back where they were recorded."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from engine.inference.camera import CameraIntrinsics
from engine.live.engine import ModelInfo
from engine.live.export import bvh_solver as S
from engine.live.export.mocap import ExportError, export_formats, export_recording, to_opensim_axes
from engine.live.recording.writer import LiveRecorder
from models.joints import H36M18

bvhio = pytest.importorskip("bvhio")
glm = pytest.importorskip("glm")

INFO = ModelInfo("m18", "m18", True, "h36m18", H36M18.names, H36M18.root)
INTR = CameraIntrinsics.from_fov(640, 480)

# a rigid T-pose skeleton in mm (Y up, left +X, facing +Z) with uneven hips, shoulders and a forward nose
_OFFSETS = {"R_Hip": (-120, -30, 10), "L_Hip": (120, -30, 10), "Torso": (0, 250, 20), "Neck": (0, 250, 0),
            "Nose": (0, 100, 80), "Head": (0, 120, 0), "R_Knee": (0, -440, 0), "L_Knee": (0, -440, 0),
            "R_Ankle": (0, -420, 0), "L_Ankle": (0, -420, 0), "L_Shoulder": (160, -20, 0),
            "R_Shoulder": (-160, -20, 0), "L_Elbow": (280, 0, 0), "R_Elbow": (-280, 0, 0), "L_Wrist": (250, 0, 0),
            "R_Wrist": (-250, 0, 0)}


def rigid_motion(n: int, seed: int = 0) -> np.ndarray:
    """[n,17,3] Y-up mm joints of the rigid skeleton under random rotations of every joint."""
    rng = np.random.default_rng(seed)
    off = np.zeros((17, 3))
    for name, v in _OFFSETS.items():
        off[S.BONE_NAMES.index(name)] = v
    eul = rng.uniform(-50, 50, (n, 17, 3))
    root = np.stack([rng.uniform(-300, 300, n), rng.uniform(-100, 100, n), -3000 + rng.uniform(-300, 300, n)], 1)
    return S.forward_kinematics(off, root, S.matrix_from_euler_zxy_deg(eul))


def _result(i: int, cam: np.ndarray | None, t: float) -> SimpleNamespace:
    """A recorded frame with one tracked person (``cam`` [18,3] camera mm) or none."""
    p = 0 if cam is None else 1
    joints = np.zeros((p, 18, 3)) if cam is None else cam[None]
    out = SimpleNamespace(joints_2d=np.zeros((p, 18, 2)), joints_rel_mm=joints - joints[:, :1], joints_cam_mm=joints)
    return SimpleNamespace(frame_id=i, capture_ts=100.0 + t, media_ts=t, result_ts=100.0 + t,
                           boxes=np.zeros((p, 4)), root_cam_mm=joints[:, 0], track_ids=np.arange(1, p + 1),
                           intrinsics=INTR, latencies_ms={"end_to_end": 1.0}, outputs={"m18": out},
                           smoothed={"m18": out})


def _record(path, yup_mm: list[np.ndarray | None], times: list[float]):
    with LiveRecorder(path, [INFO], max_persons=2) as rec:
        for i, (pts, t) in enumerate(zip(yup_mm, times, strict=True)):
            cam = None
            if pts is not None:
                cam = np.concatenate([to_opensim_axes(pts), to_opensim_axes(pts[8:9])])  # Thorax: any point
            rec.write(_result(i, cam, t))
    return path


def read_back_mm(path, units_per_mm: float) -> tuple[np.ndarray, float, list[str]]:
    """Y-up joints [K,17,3] in mm by forward kinematics over what bvhio read: (points, frame time, joint names)."""
    bvh = bvhio.readAsBvh(str(path))
    layout = [j for j, _, _ in bvh.Root.layout()]
    names = [j.Name for j in layout]
    k = bvh.FrameCount
    pos = {}

    def walk(joint, parent_rot, parent_pos, f):
        key = joint.Keyframes[f]
        rot = np.array(glm.mat3_cast(key.Rotation).to_list()).T  # glm lists columns
        offset = np.array(key.Position.to_list()) if joint is bvh.Root else np.array(joint.Offset.to_list())
        p = offset if parent_rot is None else parent_pos + parent_rot @ offset
        r = rot if parent_rot is None else parent_rot @ rot
        pos[(joint.Name, f)] = p
        for c in joint.Children:
            walk(c, r, p, f)

    for f in range(k):
        walk(bvh.Root, None, None, f)
    pts = np.array([[pos[(n, f)] for n in names] for f in range(k)]) / units_per_mm
    return pts, bvh.FrameTime, names


def test_bvh_is_a_registered_format():
    assert "bvh" in export_formats()


@pytest.mark.parametrize("units,per_mm", [("cm", 0.1), ("m", 0.001)])
def test_rigid_skeleton_comes_back_within_a_millimetre(tmp_path, units, per_mm):
    motion = rigid_motion(40)
    rec = _record(tmp_path / "r.h5", list(motion), [i / 25 for i in range(40)])
    out = export_recording(rec, "bvh", tmp_path / "a.bvh", units=units)
    assert out.note.startswith("m18, track 1: 40 frames") and "0 frame(s) hold" in out.note
    got, frame_time, names = read_back_mm(out, per_mm)
    assert names == list(S.BONE_NAMES)  # Human3.6M-17 order, rooted at the pelvis
    assert frame_time == pytest.approx(0.04, abs=1e-6)
    err = np.linalg.norm(got - motion, axis=-1)
    assert err.max() < 1.0, f"max joint error {err.max():.3f} mm"


def test_offsets_are_median_bone_lengths(tmp_path):
    motion = rigid_motion(10)
    bones = np.linalg.norm(motion[:, 1:] - motion[:, list(S.PARENTS[1:])], axis=-1)
    stretched = motion.copy()
    stretched[3, 2:4] += [0, 0, 80.0]  # one frame with a long right shin: the median ignores it
    rec = _record(tmp_path / "r.h5", list(stretched), [i / 30 for i in range(10)])
    out = export_recording(rec, "bvh", tmp_path / "a.bvh", units="mm")
    bvh = bvhio.readAsBvh(str(out))
    lengths = {j.Name: float(glm.length(j.Offset)) for j, _, _ in bvh.Root.layout()}
    for j in range(1, 17):
        assert lengths[S.BONE_NAMES[j]] == pytest.approx(np.median(bones[:, j - 1]), abs=0.01)


def test_gaps_and_dropped_frames_hold_the_last_pose(tmp_path):
    motion = rigid_motion(8, seed=3)
    poses: list[np.ndarray | None] = list(motion)
    poses[0] = None  # missing at the start: the clip starts at the first complete pose
    poses[4] = None  # missing inside: held
    times = [i / 10 for i in range(8)]
    times[6:] = [0.7, 0.8]  # a dropped frame (no slot at 0.6): held too, the clip keeps real speed
    rec = _record(tmp_path / "r.h5", poses, times)
    out = export_recording(rec, "bvh", tmp_path / "a.bvh", units="cm")
    got, frame_time, _ = read_back_mm(out, 0.1)
    assert frame_time == pytest.approx(0.1, abs=1e-6)
    assert "8 frames" in out.note and "2 frame(s) hold" in out.note
    expect = [motion[1], motion[2], motion[3], motion[3], motion[5], motion[5], motion[6], motion[7]]
    assert np.linalg.norm(got - np.array(expect), axis=-1).max() < 1.0


def test_refusals_name_the_recording(tmp_path):
    rec = _record(tmp_path / "r.h5", [None, None], [0.0, 0.1])
    with pytest.raises(ExportError, match="r.h5: no person"):
        export_recording(rec, "bvh", tmp_path / "a.bvh")
    rec2 = _record(tmp_path / "r2.h5", list(rigid_motion(2)), [0.0, 0.1])
    with pytest.raises(ExportError, match="units"):
        export_recording(rec2, "bvh", tmp_path / "b.bvh", units="inch")
    assert not (tmp_path / "a.bvh").exists() and not (tmp_path / "b.bvh").exists()


def test_twist_follows_the_hip_line_and_the_shoulder_line():
    """Turning the whole body about the vertical turns every joint's world rotation with it (the twist is defined by
    the hip and shoulder lines, not by the camera); a bent elbow keeps the upper arm's roll of the shoulder line."""
    base = rigid_motion(1, seed=5)[0]
    ang = np.radians(70)
    turn = np.array([[np.cos(ang), 0, np.sin(ang)], [0, 1, 0], [-np.sin(ang), 0, np.cos(ang)]])
    turned = (base - base[0]) @ turn.T + base[0]
    r0 = S.solve_rotations(base[None])[0]
    r1 = S.solve_rotations(turned[None])[0]
    assert np.allclose(r1, turn @ r0, atol=1e-9)
    local0 = S.local_rotations(r0[None])[0]
    local1 = S.local_rotations(r1[None])[0]
    assert np.allclose(local0[1:], local1[1:], atol=1e-9)  # only the root's rotation changed
