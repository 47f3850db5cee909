"""A small synthetic Human3.6M in the exact 3DMPPE layout, so the benchmark path runs without the real data.

Skeletons with Human3.6M-like bone lengths walk a circle (leg/arm swing, knee flex, per-action style; the
sitting actions crouch); four cameras with real H36M parameter ranges (f ~ 1145 px, c ~ (512, 515), 1000x1002
images) stand 4-6 m away; every image is the projected skeleton drawn on a plain background. Test subjects S9 and
S11 get frames whose frame_idx % 64 == 0 (plus off-grid annotated frames without images, which the loader must skip);
the first 15 samples already cover all 15 actions. A matching RootNet result file (perturbed GT roots, processed
boxes) is written to ``bbox_root/bbox_root_human36m_output.json``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.h36m.layout import FPS, SAMPLING
from engine.h36m.outputs import output_errors
from models.fileio import atomic_write_json

__all__ = ["IMAGE_HW", "SyntheticInfo", "generate", "skeleton_world"]

IMAGE_HW = (1002, 1000)  # H36M cameras 1, 3, 4 record 1000x1002 (W x H)
TEST_SUBJECTS = (9, 11)
MARKER = "synthetic.json"  # its presence makes every benchmark title on this folder say "synthetic data"
_SUBJECT_SCALE = {1: 1.03, 5: 0.95, 6: 1.05, 7: 0.98, 8: 1.01, 9: 1.0, 11: 0.97}
_ID_BASE = {1: 100_000, 5: 200_000, 6: 300_000, 7: 400_000, 8: 500_000, 9: 1_000_000, 11: 2_000_000}
# bone lengths (mm) close to Human3.6M's average subject
_BONES = dict(hip_half=130.0, thigh=450.0, shin=445.0, pelvis_height=930.0, spine=235.0, neck=250.0, nose=110.0,
              head=115.0, shoulder_half=165.0, upper_arm=280.0, forearm=250.0)
_COLORS = {"L": (60, 200, 60), "R": (60, 60, 230), "C": (210, 160, 40)}  # BGR


@dataclass(frozen=True)
class SyntheticInfo:
    root: Path
    num_images: int  # images written (test frames of S9+S11, plus train subjects')
    num_protocol2: int  # S9+S11 test samples
    num_protocol1: int  # S11 test samples
    rootnet_file: Path
    seed: int


def _style(action_idx: int) -> dict[str, float]:
    """Per-action motion style, deterministic: cycle frequency, swing amplitudes, crouch for the sitting actions."""
    a = action_idx - 2
    sitting = action_idx in (9, 10)  # Sitting, SittingDown
    return dict(
        cycle_hz=0.6 + 0.05 * a,
        leg_amp=math.radians(8.0 + 2.0 * (a % 8)) * (0.3 if sitting else 1.0),
        arm_amp=math.radians(10.0 + 3.0 * (a % 6)),
        knee_amp=math.radians(25.0),
        crouch=330.0 if sitting else 0.0,
        sit_angle=math.radians(70.0) if sitting else 0.0,
        path_speed=(150.0 if sitting else 500.0 + 40.0 * (a % 5)),
        lean=0.05 * ((a % 3) - 1),
    )


def skeleton_world(t: float, subject: int, action_idx: int, subaction_idx: int) -> np.ndarray:
    """[17,3] world mm (z up) of the synthetic subject at time ``t`` seconds, Human3.6M joint order."""
    st = _style(action_idx)
    s = _SUBJECT_SCALE.get(subject, 1.0)
    b = {k: v * s for k, v in _BONES.items()}
    radius = 800.0
    ang0 = 0.7 * action_idx + 1.3 * subaction_idx + 0.3 * subject
    ang = ang0 + st["path_speed"] * t / radius
    phase = 2 * math.pi * st["cycle_hz"] * t + 0.5 * subaction_idx
    bob = 15.0 * math.cos(2 * phase)
    pelvis = np.array([radius * math.cos(ang), radius * math.sin(ang), b["pelvis_height"] - st["crouch"] + bob])
    heading = ang + math.pi / 2
    fwd = np.array([math.cos(heading), math.sin(heading), 0.0])
    left = np.array([-math.sin(heading), math.cos(heading), 0.0])
    up = np.array([0.0, 0.0, 1.0])

    def down_at(angle: float) -> np.ndarray:  # unit vector rotated from straight down towards forward
        return math.sin(angle) * fwd - math.cos(angle) * up

    def leg(hip: np.ndarray, ph: float) -> tuple[np.ndarray, np.ndarray]:
        a = st["leg_amp"] * math.sin(ph) + st["sit_angle"]
        flex = st["knee_amp"] * max(0.0, -math.cos(ph)) + st["sit_angle"]
        knee = hip + b["thigh"] * down_at(a)
        return knee, knee + b["shin"] * down_at(a - flex)

    r_hip, l_hip = pelvis - b["hip_half"] * left, pelvis + b["hip_half"] * left
    r_knee, r_ankle = leg(r_hip, phase)
    l_knee, l_ankle = leg(l_hip, phase + math.pi)
    spine_dir = up + st["lean"] * fwd
    spine_dir /= np.linalg.norm(spine_dir)
    torso = pelvis + b["spine"] * spine_dir
    neck = torso + b["neck"] * spine_dir
    nose = neck + b["nose"] * spine_dir + 0.45 * b["nose"] * fwd
    head = nose + b["head"] * spine_dir - 0.25 * b["head"] * fwd
    l_sh = neck + b["shoulder_half"] * left - 30.0 * s * up
    r_sh = neck - b["shoulder_half"] * left - 30.0 * s * up

    def arm(sh: np.ndarray, ph: float) -> tuple[np.ndarray, np.ndarray]:
        a = st["arm_amp"] * math.sin(ph)
        elbow = sh + b["upper_arm"] * down_at(a)
        return elbow, elbow + b["forearm"] * down_at(a + math.radians(20.0) + 0.5 * abs(a))

    r_el, r_wr = arm(r_sh, phase + math.pi)  # arms swing against the legs
    l_el, l_wr = arm(l_sh, phase)
    return np.stack([pelvis, r_hip, r_knee, r_ankle, l_hip, l_knee, l_ankle, torso, neck, nose, head,
                     l_sh, l_el, l_wr, r_sh, r_el, r_wr])


def _cameras(subject: int, rng: np.random.Generator) -> dict[int, dict[str, np.ndarray]]:
    """Four cameras around the capture area, 4.8-5.4 m from its centre, looking at the subject's hip height."""
    cams = {}
    target = np.array([0.0, 0.0, 900.0])
    for cam in (1, 2, 3, 4):
        az = math.radians(45.0 + 90.0 * (cam - 1) + rng.uniform(-8, 8))
        dist = rng.uniform(4800.0, 5400.0)
        centre = np.array([dist * math.cos(az), dist * math.sin(az), rng.uniform(1400.0, 1700.0)])
        z = target - centre
        z /= np.linalg.norm(z)
        x = np.cross(z, [0.0, 0.0, 1.0])
        x /= np.linalg.norm(x)
        y = np.cross(z, x)  # image y points down
        R = np.stack([x, y, z])
        cams[cam] = dict(R=R, t=-R @ centre, f=np.array([1145.0, 1144.0]) + rng.uniform(-3, 3, 2),
                         c=np.array([512.5, 515.5]) + rng.uniform(-3, 3, 2))
    return cams


def _render(joints_img: np.ndarray, depth: np.ndarray, cam: int, f: float) -> np.ndarray:
    import cv2

    from models.joints import H36M18

    h, w = IMAGE_HW
    img = np.empty((h, w, 3), np.uint8)
    img[:] = (96 + 6 * cam, 104, 112 - 4 * cam)
    cv2.line(img, (0, int(h * 0.78)), (w - 1, int(h * 0.78)), (80, 88, 92), 3, cv2.LINE_AA)
    scale = f / float(np.mean(depth))
    pts = [(int(round(x * 16)), int(round(y * 16))) for x, y in joints_img[:, :2]]
    for a, b in H36M18.skeleton:
        side = H36M18.side(b) if H36M18.side(b) != "C" else H36M18.side(a)
        cv2.line(img, pts[a], pts[b], _COLORS[side], max(2, int(45 * scale)), cv2.LINE_AA, shift=4)
    for j, p in enumerate(pts):
        cv2.circle(img, p, max(2, int(30 * scale)) * 16, _COLORS[H36M18.side(j)], -1, cv2.LINE_AA, shift=4)
    cv2.circle(img, pts[10], int(80 * scale) * 16, (200, 200, 215), 3, cv2.LINE_AA, shift=4)
    return img


def _sequences(subjects: Sequence[int]) -> list[tuple[int, int, int, int]]:
    """(subject, action, subaction, camera), ordered so the first 15 cover every action (subjects alternating)."""
    seqs = []
    for cam in (1, 2, 3, 4):
        for sub in (1, 2):
            for shift in range(len(subjects)):
                for act in range(2, 17):
                    subj = subjects[(act + shift) % len(subjects)]
                    if (subj, act, sub, cam) == (11, 2, 2, 1):  # does not exist in the real data either
                        continue
                    seqs.append((subj, act, sub, cam))
    return seqs


def _write_json(path: Path, obj) -> None:
    with output_errors(path):  # a full or read-only folder: OutputWriteError naming the file
        atomic_write_json(path, obj, indent=None, end="")  # compact: the real annotation files are large


def generate(out: str | os.PathLike, samples: int = 120, seed: int = 0, train_subjects: Sequence[int] = (),
             train_samples: int = 8, jpeg_quality: int = 90) -> SyntheticInfo:
    """Write a synthetic data set with ``samples`` test images over S9+S11 into ``out`` (created if needed)."""
    import cv2

    from engine.inference.geometry import cam2pixel, process_bbox, world2cam

    if samples < 1:
        raise ValueError("samples must be at least 1")
    out = Path(out)
    rng = np.random.default_rng(seed)
    test_seqs = _sequences(TEST_SUBJECTS)
    plan: dict[int, list[tuple[int, int, int, int]]] = {s: [] for s in (*TEST_SUBJECTS, *train_subjects)}
    for k in range(samples):
        subj, act, sub, cam = test_seqs[k % len(test_seqs)]
        plan[subj].append((act, sub, cam, SAMPLING * (k // len(test_seqs))))
    for s in train_subjects:
        seqs = _sequences((s,))
        for k in range(train_samples):
            act, sub, cam = seqs[k % len(seqs)][1:]
            plan[s].append((act, sub, cam, 5 * (k // len(seqs))))
    h, w = IMAGE_HW
    rootnet = []
    n_img = 0
    counts = {9: 0, 11: 0}
    for subj, frames in plan.items():
        cams = _cameras(subj, np.random.default_rng([seed, subj]))
        images, anns, joints3d = [], [], {}
        next_id = _ID_BASE[subj]
        with_off_grid = list(frames) + [(a, s_, c, fr + SAMPLING // 2) for a, s_, c, fr in frames
                                        if subj in TEST_SUBJECTS]
        for act, sub, cam, frame in with_off_grid:
            jw = skeleton_world(frame / FPS, subj, act, sub)
            joints3d.setdefault(str(act), {}).setdefault(str(sub), {})[str(frame)] = jw.round(4).tolist()
            p = cams[cam]
            jc = world2cam(jw, p["R"], p["t"])
            ji = cam2pixel(jc, p["f"], p["c"])
            x0, y0 = ji[:, 0].min(), ji[:, 1].min()
            bw, bh = ji[:, 0].max() - x0, ji[:, 1].max() - y0
            cx, cy = x0 + bw / 2, y0 + bh / 2
            bbox = [cx - bw * 0.6, cy - bh * 0.6, bw * 1.2, bh * 1.2]
            seq = f"s_{subj:02d}_act_{act:02d}_subact_{sub:02d}_ca_{cam:02d}"
            name = f"{seq}/{seq}_{frame + 1:06d}.jpg"
            image_id = next_id
            next_id += 1
            images.append(dict(id=image_id, file_name=name, width=w, height=h, subject=subj,
                               action_name=f"act_{act}", action_idx=act, subaction_idx=sub, cam_idx=cam,
                               frame_idx=frame))
            anns.append(dict(id=image_id, image_id=image_id, keypoints_vis=[True] * 17, bbox=bbox))
            on_grid = frame % SAMPLING == 0 or subj not in TEST_SUBJECTS
            if not on_grid:
                continue  # annotated, but no image: the test loader must skip it
            img = _render(ji, jc[:, 2], cam, float(p["f"][0]))
            path = out / "images" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
            if not ok:
                raise RuntimeError(f"could not encode {path}")
            with output_errors(path):
                path.write_bytes(buf.tobytes())
            n_img += 1
            if subj in TEST_SUBJECTS:
                counts[subj] += 1
                box = process_bbox(bbox, w, h)
                noise = rng.normal(0.0, [20.0, 20.0, 80.0])
                rootnet.append(dict(image_id=image_id, bbox=[float(v) for v in box],
                                    root_cam=[float(v) for v in jc[0] + noise]))
        ann_dir = out / "annotations"
        _write_json(ann_dir / f"Human36M_subject{subj}_data.json", {"images": images, "annotations": anns})
        _write_json(ann_dir / f"Human36M_subject{subj}_camera.json",
                    {str(k): {key: np.asarray(v).tolist() for key, v in p.items()} for k, p in cams.items()})
        _write_json(ann_dir / f"Human36M_subject{subj}_joint_3d.json", joints3d)
    rn_path = out / "bbox_root" / "bbox_root_human36m_output.json"
    _write_json(rn_path, rootnet)
    _write_json(out / MARKER, {
        "what": "PoseArena synthetic Human3.6M (3DMPPE layout); not real data, for testing only",
        "seed": seed, "test_samples": samples, "train_subjects": list(train_subjects),
    })
    return SyntheticInfo(root=out, num_images=n_img, num_protocol2=counts[9] + counts[11], num_protocol1=counts[11],
                         rootnet_file=rn_path, seed=seed)


def is_synthetic(root: str | os.PathLike) -> bool:
    """Whether the data set folder ``root`` was written by ``generate`` (not real Human3.6M)."""
    return (Path(root) / MARKER).is_file()
