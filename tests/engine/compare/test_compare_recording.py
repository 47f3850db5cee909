"""Offline comparison round trip: a small recording written by engine.live.recording.writer.LiveRecorder with synthetic
results (a good model, a MuCo-21 model, a collapsed untrained one; two tracks, one leaving half-way) ->
compare_recording -> compare.json / report.md / plots, which exist and parse."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from engine.compare import SCHEMA, compare_recording, render_report, write_all
from engine.compare.offline import recording_snapshot
from engine.compare.snapshot import describe_model
from engine.inference.camera import CameraIntrinsics
from engine.live.engine import ModelInfo
from engine.live.recording.writer import LiveRecorder, load_recording
from models.joint_mapping import to_joint_set
from models.joints import H36M18, MUCO21
from tests.engine.compare.test_compare_metrics import maxwell_mean, noisy_track, project

INFOS = [ModelInfo("good", "good", True, "h36m18", H36M18.names, H36M18.root),
         ModelInfo("muco", "muco", True, "muco21", MUCO21.names, MUCO21.root),
         ModelInfo("blob", "blob (untrained weights)", False, "h36m18", H36M18.names, H36M18.root)]
INTR = CameraIntrinsics.from_fov(640, 480)
FRAMES, FPS, SIGMA = 60, 30.0, 4.0


def _out(cam: np.ndarray) -> SimpleNamespace:
    return SimpleNamespace(joints_2d=project(cam), joints_rel_mm=cam - cam[:, :1], joints_cam_mm=cam)


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("cmp") / "session.h5"
    p1 = noisy_track(FRAMES, SIGMA, seed=1)
    p2 = noisy_track(FRAMES, SIGMA, seed=2) + [900.0, 0, 500]
    rng = np.random.default_rng(9)
    with LiveRecorder(path, INFOS, max_persons=3, attrs={"source": "synthetic"}) as rec:
        for i in range(FRAMES):
            persons = 2 if i < FRAMES // 2 else 1
            good = np.stack([p1[i], p2[i]])[:persons]
            muco = to_joint_set(good + rng.normal(0, SIGMA, good.shape), H36M18, MUCO21)
            muco = np.where(np.isnan(muco), 3000.0, muco)  # hands / toes: some value (not compared)
            blob = good[:, :1] + rng.normal(0, 2.0, (persons, 18, 3))
            outs = {"good": _out(good), "muco": _out(muco), "blob": _out(blob)}
            rec.write(SimpleNamespace(
                frame_id=i, capture_ts=50.0 + i / FPS, media_ts=i / FPS, result_ts=50.02 + i / FPS,
                boxes=np.full((persons, 4), 100.0), root_cam_mm=good[:, 0], track_ids=np.array([3, 8][:persons]),
                intrinsics=INTR, latencies_ms={"good": 20.0, "muco": 6.0, "blob": 5.0, "end_to_end": 40.0},
                outputs=outs, smoothed=outs))
    return path


def test_compare_recording_measures(recording):
    res = compare_recording(recording, window=20)
    assert res["schema"] == SCHEMA and res["source"]["frames"] == FRAMES and res["source"]["complete"]
    ov = res["overall"]
    assert ov["models"] == ["good", "muco", "blob"]
    good, blob = ov["stats"]["good"], ov["stats"]["blob"]
    assert good["frames"] == FRAMES + FRAMES // 2 and good["visibility"] == 1.0
    assert good["jitter_mm_s2"] == pytest.approx(maxwell_mean(SIGMA, 1 / FPS), rel=0.1)
    assert good["latency_mean_ms"] == 20.0 and not good["degenerate"]
    assert blob["degenerate"] and "collapsed" in blob["degenerate_reason"] and blob["trained"] is False
    assert sorted(t["track_id"] for t in ov["per_track"]["good"]) == [3, 8]
    assert {t["track_id"]: t["frames"] for t in ov["per_track"]["good"]} == {3: FRAMES, 8: FRAMES // 2}
    pair = next(p for p in ov["pairs"] if {p["a"], p["b"]} == {"good", "muco"})
    assert pair["mapped"] and pair["samples"] == FRAMES + FRAMES // 2 and len(pair["joints"]) == 17
    # independent noise σ per coordinate on both: root-aligned distance of order 2 sqrt(2) σ
    assert 0 < pair["root_aligned_mm"] < 6 * SIGMA
    m = np.array(ov["matrix"]["root_aligned_mm"], float)
    assert np.array_equal(m, m.T) and np.all(np.diag(m) == 0)
    v = ov["verdicts"]
    assert v["steadiest"] in ("good", "muco") and "blob" in v["excluded"]
    assert len(res["windows"]) == 3 and res["windows"][0]["frames"] == 20
    assert res["series"]["track_id"] == 3 and len(res["series"]["times"]) == FRAMES
    assert np.array(res["series"]["bone_length_mm"]["good"]).shape == (FRAMES, 16)
    json.dumps(res, allow_nan=False)


def test_writers_round_trip(recording, tmp_path):
    res = compare_recording(load_recording(recording))
    files = write_all(res, tmp_path / "out")
    assert set(files) == {"json", "report", "agreement_plot", "jitter_plot", "bone_plot"}
    back = json.loads((tmp_path / "out" / "compare.json").read_text())
    assert back["schema"] == SCHEMA and back["overall"]["verdicts"] == res["overall"]["verdicts"]
    report = (tmp_path / "out" / "report.md").read_text()
    assert report.startswith("# Model comparison: session.h5")
    assert "**DEGENERATE**: skeleton collapsed" in report and "untrained" in report
    assert "| good |" in report and "root-aligned, mm" in report and "Steadiest" in report
    assert render_report(back) == report  # the report can be rebuilt from compare.json alone
    import matplotlib.image as mpimg

    for key in ("agreement_plot", "jitter_plot", "bone_plot"):
        assert files[key].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert mpimg.imread(files[key]).shape[0] > 100
    assert not list((tmp_path / "out").glob(".*.tmp"))  # atomic writes leave no temp files


def test_snapshot_of_part_of_a_recording(recording):
    rec = load_recording(recording)
    descs = [describe_model(m) for m in rec.models.values()]
    snap = recording_snapshot(rec, descs, np.arange(FRAMES // 2, FRAMES))
    assert snap.frames == FRAMES // 2 and [t.track_id for t in snap.per_track["good"]] == [3]
    with pytest.raises(ValueError):
        compare_recording(rec, window=2)
