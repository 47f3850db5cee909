"""CompareAccumulator as the live engine uses it: a bounded window (frames and seconds), tracks that come and go,
untracked persons, feeding a LiveResult, plain-JSON snapshots, and the overhead bench's smoke run."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from engine.compare import CompareAccumulator, ModelFrame
from engine.live.engine import ModelInfo
from models.joints import H36M18, MUCO21
from tests.engine.compare.test_compare_metrics import make_desc, noisy_track, project


def _frame(cam: np.ndarray, ids) -> ModelFrame:
    return ModelFrame(ids, cam, project(cam), cam, 12.0)


def test_window_is_bounded_by_frames_and_seconds():
    s = noisy_track(500, 2.0)
    acc = CompareAccumulator([make_desc("a")], window_frames=120, window_s=4.0)
    for i in range(500):
        acc.update(i / 60.0, {"a": _frame(s[i][None], [1])})  # 60 FPS: 120 frames = 2 s < 4 s
    snap = acc.snapshot()
    assert acc.frames == 500 and snap.frames == 120 and snap.stats["a"].frames == 120
    assert snap.t_end == pytest.approx(499 / 60) and snap.t_start == pytest.approx(380 / 60)
    slow = CompareAccumulator([make_desc("a")], window_frames=120, window_s=4.0)
    for i in range(200):
        slow.update(i / 10.0, {"a": _frame(s[i][None], [1])})  # 10 FPS: 4 s = 41 frames
    assert slow.snapshot().frames == 41


def test_tracks_come_and_go_without_growing_the_buffer():
    s = noisy_track(400, 2.0)
    acc = CompareAccumulator([make_desc("a")], window_frames=30, window_s=None)
    for i in range(400):
        ids = [i // 50 + 1, i // 50 + 100]  # two persons, new ids every 50 frames
        acc.update(i / 30.0, {"a": _frame(np.stack([s[i], s[i] + [500, 0, 0]]), ids)})
    snap = acc.snapshot()
    assert sorted(t.track_id for t in snap.per_track["a"]) == [8, 107]
    assert acc._present.shape[1] <= 8  # columns are reused once a track has left the window
    assert all(t.frames == 30 and t.visibility == 1.0 for t in snap.per_track["a"])
    assert snap.stats["a"].frames == 60


def test_reused_column_forgets_the_old_track():
    s = noisy_track(100, 2.0)
    acc = CompareAccumulator([make_desc("a")], window_frames=10, window_s=None)
    for i in range(10):
        acc.update(i / 30, {"a": _frame(s[i][None], [1])})
    for i in range(10, 40):
        acc.update(i / 30, {"a": _frame(s[i][None] + 1000.0, [2])})
    snap = acc.snapshot()
    assert [t.track_id for t in snap.per_track["a"]] == [2] and snap.stats["a"].frames == 10
    acc.reset()
    assert acc.frames == 0 and acc.snapshot().frames == 0 and acc.window_frames == 10


def test_untracked_persons_and_missing_models():
    s = noisy_track(60, 2.0)
    acc = CompareAccumulator([make_desc("a"), make_desc("b")])
    for i in range(60):
        two = np.stack([s[i], s[i] + [800, 0, 0]])
        acc.update(i / 30, {"a": _frame(two, [-1, -1]), "b": None if i % 3 else _frame(two, [-1, -1])})
    snap = acc.snapshot()
    assert sorted(t.track_id for t in snap.per_track["a"]) == [-2, -1]  # kept apart by their position
    assert snap.stats["a"].visibility == 1.0
    assert snap.stats["b"].visibility == pytest.approx(20 / 60)
    assert math.isnan(snap.stats["b"].jitter_mm_s2)  # never three frames in a row
    pair = snap.pairs[0]
    assert pair.samples == 40 and pair.root_aligned_mm == 0.0


def test_empty_and_no_pose_snapshots():
    acc = CompareAccumulator([make_desc("a"), make_desc("b")])
    snap = acc.snapshot()
    assert snap.frames == 0 and snap.stats["a"].valid_frames == 0
    assert snap.verdicts["steadiest"] is None and set(snap.verdicts["excluded"]) == {"a", "b"}
    json.dumps(snap.to_dict(), allow_nan=False)
    acc.update(0.0, {"a": _frame(np.zeros((0, 18, 3)), [])})
    acc.update(0.1, {"a": _frame(np.full((1, 18, 3), np.nan), [3])})
    snap = acc.snapshot()
    assert snap.stats["a"].frames == 1 and snap.stats["a"].visibility == 0.0 and not snap.stats["a"].degenerate


def test_update_from_live_result():
    infos = [ModelInfo("m18", "m18", True, "h36m18", H36M18.names, H36M18.root),
             ModelInfo("mu", "mu (untrained weights)", False, "muco21", MUCO21.names, MUCO21.root)]
    acc = CompareAccumulator(infos)
    s = noisy_track(30, 3.0)
    rng = np.random.default_rng(0)
    for i in range(30):
        cam18 = s[i][None]
        cam21 = rng.normal(0, 100, (1, 21, 3)) + [0, 0, 3000]
        out = {"m18": SimpleNamespace(joints_cam_mm=cam18, joints_2d=project(cam18)),
               "mu": SimpleNamespace(joints_cam_mm=cam21, joints_2d=project(cam21))}
        sm = {k: SimpleNamespace(joints_cam_mm=v.joints_cam_mm) for k, v in out.items()}
        res = SimpleNamespace(capture_ts=100 + i / 30, track_ids=np.array([5]), outputs=out, smoothed=sm,
                              latencies_ms={"m18": 8.0, "mu": 4.0, "end_to_end": 40.0})
        acc.update_from_result(res)
    snap = acc.snapshot()
    assert snap.stats["m18"].latency_mean_ms == 8.0 and snap.stats["mu"].latency_p95_ms == 4.0
    assert snap.stats["mu"].trained is False and snap.stats["mu"].mapped
    assert snap.stats["m18"].jitter_smoothed_mm_s2 == pytest.approx(snap.stats["m18"].jitter_mm_s2)
    d = snap.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["stats"]["mu"]["label"] == "mu (untrained weights)" and d["pairs"][0]["mapped"] is True


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        CompareAccumulator([make_desc("a"), make_desc("a")])
    with pytest.raises(ValueError):
        CompareAccumulator([make_desc("a")], window_frames=2)
    acc = CompareAccumulator([make_desc("a")])
    with pytest.raises(ValueError, match="18 joints"):
        acc.update(0.0, {"a": _frame(np.full((1, 17, 3), 3000.0), [1])})


def test_overhead_bench_runs(capsys):
    from bench.compare_overhead import main, measure

    r = measure(2, 1, frames=130, snapshots=1)
    assert r["update_us"] > 0 and r["snapshot_ms"] > 0 and r["overhead_pct"] > 0
    assert main(["--quick"]) == 0
    assert "snapshot ms" in capsys.readouterr().out
