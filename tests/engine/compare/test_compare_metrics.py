"""engine.compare measures on trajectories whose answers are known (jitter of i.i.d. noise, bone CV, asymmetry,
root depth, visibility, latency, the degenerate-skeleton flag). Helpers here are shared by the other
tests/test_compare_*.py files."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.compare import CompareAccumulator, ModelFrame, acceleration
from engine.compare.metrics import summarise, track_sums
from engine.compare.skeleton import BONE_NAMES, BONES, MEASURE_JOINTS, make_adapter
from models.joints import H36M18

F, C = 1000.0, np.array([320.0, 240.0])
ROOT_Z = 3000.0

_POSE = {  # camera axes (x right, y down, z forward), mm, root at the origin
    "Pelvis": (0, 0, 0), "R_Hip": (-120, 0, 0), "R_Knee": (-120, 420, 30), "R_Ankle": (-120, 840, 0),
    "L_Hip": (120, 0, 0), "L_Knee": (120, 420, 30), "L_Ankle": (120, 840, 0), "Torso": (0, -250, 0),
    "Neck": (0, -500, 0), "Nose": (0, -600, -60), "Head": (0, -700, 0), "L_Shoulder": (180, -480, 0),
    "L_Elbow": (440, -480, 0), "L_Wrist": (690, -480, 0), "R_Shoulder": (-180, -480, 0),
    "R_Elbow": (-440, -480, 0), "R_Wrist": (-690, -480, 0), "Thorax": (0, -480, 0),
}


def pose() -> np.ndarray:
    """A fixed H36M18 skeleton [18, 3] in camera mm (root at depth ROOT_Z)."""
    return np.array([_POSE[n] for n in H36M18.names], np.float64) + [0.0, 0.0, ROOT_Z]


def bone_lengths(p: np.ndarray) -> np.ndarray:
    return np.array([np.linalg.norm(p[a] - p[b]) for a, b in BONES])


def project(cam: np.ndarray) -> np.ndarray:
    return cam[..., :2] / cam[..., 2:3] * F + C


def maxwell_mean(sigma: float, dt: float) -> float:
    """E|a| for i.i.d. N(0, σ²) noise per coordinate under (x[t+1] - 2x[t] + x[t-1]) / dt²: each coordinate of a
    is N(0, 6σ²/dt⁴), so |a| is chi-distributed with 3 dof (Maxwell): mean = 2 s sqrt(2/π), s = sqrt(6) σ / dt²."""
    s = math.sqrt(6.0) * sigma / dt ** 2
    return 2.0 * s * math.sqrt(2.0 / math.pi)


def noisy_track(frames: int, sigma: float, *, seed: int = 0, base: np.ndarray | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    b = pose() if base is None else base
    return b[None] + rng.normal(0.0, sigma, (frames, *b.shape))


def stats_of(track: np.ndarray, times: np.ndarray, smoothed: np.ndarray | None = None, **kw):
    """Pooled ModelStats of one H36M18 track [T, 18, 3]."""
    present = np.ones((len(times), 1), bool)
    s = track_sums(times, present, track[:, None], None if smoothed is None else smoothed[:, None],
                   tuple(range(18)), np.array([1]))
    return summarise(s, name="m", joint_set="h36m18", mapped=False, joints=tuple(range(18)), **kw)


def feed(acc: CompareAccumulator, streams: dict[str, np.ndarray], times: np.ndarray, *, px_shift=None,
         latency=None) -> None:
    """Feed one-person streams {model: [T, J, 3]} (2D = the projection, optionally shifted per model)."""
    for i, t in enumerate(times):
        frame = {}
        for name, s in streams.items():
            cam = s[i][None]
            px = project(cam) + (0 if px_shift is None else px_shift.get(name, 0))
            frame[name] = ModelFrame([1], cam, px, None, None if latency is None else latency[name][i])
        acc.update(float(t), frame)


def test_acceleration_uses_actual_timestamps():
    rng = np.random.default_rng(1)
    t = np.cumsum(rng.uniform(0.02, 0.06, 50))
    x = 0.5 * 3.0 * t ** 2 + 7.0 * t + 1.0  # constant acceleration 3
    assert np.allclose(acceleration(x, t), 3.0, rtol=1e-6)
    tt = np.arange(10) / 30.0
    y = rng.normal(size=10)
    assert np.allclose(acceleration(y, tt), (y[2:] - 2 * y[1:-1] + y[:-2]) * 900.0)
    assert np.isnan(acceleration(y, np.zeros(10))).all()  # repeated timestamps: no estimate


@pytest.mark.parametrize("sigma,fps", [(5.0, 30.0), (2.0, 60.0)])
def test_jitter_of_iid_noise_is_the_maxwell_mean(sigma, fps):
    frames = 4000
    times = np.arange(frames) / fps
    s = stats_of(noisy_track(frames, sigma), times)
    expected = maxwell_mean(sigma, 1.0 / fps)
    assert s.jitter_mm_s2 == pytest.approx(expected, rel=0.03)
    for j in MEASURE_JOINTS:
        assert s.jitter_per_joint[H36M18.names[j]] == pytest.approx(expected, rel=0.08)
    assert "Thorax" not in s.jitter_per_joint and len(s.joints) == 17


def test_jitter_in_the_live_window_and_smoothed_stream():
    fps, sigma = 30.0, 5.0
    times = np.arange(300) / fps
    raw = noisy_track(300, sigma, seed=3)
    acc = CompareAccumulator([make_desc("m")], window_frames=120, window_s=None)
    for i, t in enumerate(times):
        sm = raw[max(0, i - 4):i + 1].mean(axis=0)  # a moving average: steadier
        acc.update(float(t), {"m": ModelFrame([7], raw[i][None], project(raw[i][None]), sm[None], 20.0)})
    st = acc.snapshot().stats["m"]
    assert st.frames == 120 and st.valid_frames == 120
    assert st.jitter_mm_s2 == pytest.approx(maxwell_mean(sigma, 1 / fps), rel=0.06)
    assert st.jitter_smoothed_mm_s2 < 0.3 * st.jitter_mm_s2


def test_linear_motion_has_no_jitter_and_stable_bones():
    times = np.arange(100) / 25.0
    track = pose()[None] + times[:, None, None] * np.array([100.0, -20.0, 300.0])  # constant velocity
    s = stats_of(track, times)
    assert s.jitter_mm_s2 == pytest.approx(0.0, abs=1e-6)
    assert s.bone_cv_mean == pytest.approx(0.0, abs=1e-9)
    assert s.mean_bone_mm == pytest.approx(bone_lengths(pose()).mean())
    assert not s.degenerate


def test_bone_cv_matches_the_noise():
    sigma, frames = 5.0, 4000
    s = stats_of(noisy_track(frames, sigma, seed=2), np.arange(frames) / 30.0)
    lengths = bone_lengths(pose())
    for b, name in enumerate(BONE_NAMES):
        # the length changes by the noise's component along the bone: two endpoints -> std sqrt(2) σ
        assert s.bone_cv[name] == pytest.approx(math.sqrt(2.0) * sigma / lengths[b], rel=0.05), name
        assert s.bone_length_mm[name] == pytest.approx(lengths[b], rel=0.01)
    assert s.bone_cv_mean < 0.05


def test_limb_asymmetry():
    p = pose()
    le, lw = H36M18.index("L_Elbow"), H36M18.index("L_Wrist")
    p[lw] = p[le] + (p[lw] - p[le]) * 1.2  # left forearm 20 % longer
    s = stats_of(np.repeat(p[None], 20, axis=0), np.arange(20) / 30.0)
    assert s.asymmetry["forearm"] == pytest.approx(0.2 / 1.1)
    assert s.asymmetry["upper_arm"] == pytest.approx(0.0) and s.asymmetry["thigh"] == pytest.approx(0.0)
    assert s.asymmetry_mean == pytest.approx(0.2 / 1.1 / 4)


def test_root_depth_stability():
    times = np.arange(600) / 30.0
    dz = 50.0 * np.sin(2 * np.pi * 0.5 * times)  # std 50/sqrt(2); |z''| = 50 (2π 0.5)² |sin|
    track = pose()[None] + dz[:, None, None] * np.array([0.0, 0.0, 1.0])
    s = stats_of(track, times)
    assert s.root_z_std_mm == pytest.approx(50 / math.sqrt(2), rel=0.01)
    assert s.root_z_jitter_mm_s2 == pytest.approx(50 * math.pi ** 2 * 2 / math.pi, rel=0.02)  # mean |sin| = 2/π


def test_visibility_and_latency():
    times = np.arange(40) / 20.0
    track = noisy_track(40, 1.0)
    track[::2, 5] = np.nan  # every other frame misses a joint: not a finite pose
    lat = np.linspace(10, 30, 40)
    s = stats_of(track, times, latency_ms=lat)
    assert s.frames == 40 and s.valid_frames == 20 and s.visibility == 0.5
    assert s.latency_mean_ms == pytest.approx(20.0) and s.latency_p95_ms == pytest.approx(np.percentile(lat, 95))


def make_desc(name: str, joint_set: str = "h36m18", trained: bool | None = True):
    from engine.compare import ModelDesc

    return ModelDesc(name, make_adapter(joint_set), trained, name)


def test_collapsed_skeleton_is_degenerate_and_never_steadiest():
    times = np.arange(120) / 30.0
    good = noisy_track(120, 5.0, seed=1)
    rng = np.random.default_rng(4)
    collapsed = np.array([0.0, 0.0, ROOT_Z]) + rng.normal(0, 2.0, (120, 18, 3))  # random weights: a blob
    tiny = ((pose() - pose()[0]) * 0.05 + pose()[0])[None].repeat(120, 0)  # constant tiny bones, perfectly still
    acc = CompareAccumulator([make_desc("good"), make_desc("blob", trained=False), make_desc("tiny")])
    feed(acc, {"good": good, "blob": collapsed, "tiny": tiny}, times)
    snap = acc.snapshot()
    for name in ("blob", "tiny"):
        st = snap.stats[name]
        assert st.degenerate and "collapsed" in st.degenerate_reason, st.degenerate_reason
        assert st.jitter_mm_s2 < snap.stats["good"].jitter_mm_s2  # steadier in numbers ...
        assert name in snap.verdicts["excluded"] and name in snap.degenerate
    assert not snap.stats["good"].degenerate
    v = snap.verdicts
    assert v["steadiest"] == "good" and v["most_human_like"] == "good"  # ... but never called steady
    assert v["agrees_most"] is None  # only one non-degenerate model
    assert snap.per_track["blob"][0].degenerate


def test_degenerate_by_extent_and_by_size():
    from engine.compare.metrics import degenerate_reason

    assert "extent" in degenerate_reason(100.0, 50.0) and "mean bone" in degenerate_reason(40.0, 900.0)
    assert "large" in degenerate_reason(5000.0, 9000.0)
    assert degenerate_reason(250.0, 1800.0) == "" and degenerate_reason(float("nan"), float("nan")) == ""
