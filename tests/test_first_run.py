"""The first run, offline: the default live view is an arena of trained models on the built-in demo.

With no weights installed and no network, the bundled BlazePose sizes (lite and full, found by the bundled NanoDet
person detector) find the demo's walker in at least 90 % of frames, with human bone lengths, placed in the camera
by their own metric 3D (no RootNet); on the street clip the detector finds persons in at least 95 % of frames; and
the comparison of a recording names trained, non-degenerate models and their agreement.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.defaults import LIVE
from engine.live.default_models import default_live_models
from engine.live.engine import LiveConfig, run_engine
from models.joints import H36M18
from models.weights.store import find_weights

pytest.importorskip("ai_edge_litert")

FRAMES = 40
WALK_FRAMES = 30
ROOT = Path(__file__).resolve().parents[1]
BONES = {  # name -> (joint a, joint b, plausible adult range in mm)
    "thigh": (("R_Hip", "R_Knee"), ("L_Hip", "L_Knee"), (300.0, 550.0)),
    "upper arm": (("R_Shoulder", "R_Elbow"), ("L_Shoulder", "L_Elbow"), (220.0, 400.0)),
    "shin": (("R_Knee", "R_Ankle"), ("L_Knee", "L_Ankle"), (300.0, 550.0)),
}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    wdir = home / "weights"  # empty: nothing installed, only what ships with the app
    models = tuple(default_live_models(lambda m: find_weights(m, wdir) is not None))
    config = LiveConfig(source="demo", models=models, weights_dir=str(wdir), detector="auto",
                        rootnet=None, realtime=False, loop=False, device="cpu")
    engine, results = run_engine(config, frames=FRAMES, timeout=300)
    return engine, results


def test_defaults_offline_are_the_bundled_trained_models(tmp_path):
    assert default_live_models(lambda m: find_weights(m, tmp_path) is not None) == list(LIVE.models)
    assert LIVE.models == ("blazepose-lite", "blazepose-full") and default_live_models(()) == []  # never untrained
    picked = default_live_models({"blazepose-lite", "blazepose-full", "posenet-r50", "convnextpose-xs"})
    assert picked == ["blazepose-lite", "blazepose-full", "convnextpose-xs"]  # then installed ones, lightest first


@pytest.mark.parametrize("model", LIVE.models)
def test_each_bundled_model_finds_the_demo_walker_with_human_bones(demo_run, model):
    engine, results = demo_run
    assert engine._detector is not None and engine._detector.kind == "nanodet"  # no YOLO weights offline
    assert len(results) == FRAMES
    assert all(not r.untrained for r in results)
    found = [r for r in results if len(r.outputs[model].joints_cam_mm)
             and np.isfinite(r.outputs[model].joints_cam_mm[0]).all()]
    assert len(found) >= 0.9 * FRAMES, f"a person in {len(found)}/{FRAMES} frames"
    ix = {n: i for i, n in enumerate(H36M18.names)}
    joints = np.stack([r.outputs[model].joints_cam_mm[0] for r in found])
    for name, (right, left, (lo, hi)) in BONES.items():
        for a, b in (right, left):
            median = float(np.median(np.linalg.norm(joints[:, ix[a]] - joints[:, ix[b]], axis=-1)))
            assert lo <= median <= hi, f"{model} {name} {a}-{b}: median {median:.0f} mm outside {lo:.0f}-{hi:.0f}"


def test_street_clip_has_persons_in_nearly_every_frame_and_compare_names_trained_models(tmp_path):
    """The default view on demo_walk.mp4 (distant pedestrians): persons recorded in >= 95 % of frames, and the
    comparison of that recording reports both trained models, non-degenerate, with their agreement."""
    from engine.compare.offline import compare_recording
    from engine.live.recording.reader import load_recording

    wdir = tmp_path / "weights"
    models = tuple(default_live_models(lambda m: find_weights(m, wdir) is not None))
    rec = tmp_path / "walk.h5"
    config = LiveConfig(source=str(ROOT / "assets" / "demo_walk.mp4"), models=models, weights_dir=str(wdir),
                        detector="auto", rootnet=None, realtime=False, loop=False, device="cpu", record=str(rec))
    engine, results = run_engine(config, frames=WALK_FRAMES, timeout=600)
    assert engine._detector.kind == "nanodet"
    with_persons = sum(1 for r in results if len(r.boxes) > 0)
    assert len(results) == WALK_FRAMES and with_persons >= 0.95 * WALK_FRAMES, f"{with_persons}/{WALK_FRAMES}"
    assert max(len(r.boxes) for r in results) >= 3  # a multi-person scene, not one box
    recording = load_recording(rec)
    assert len(recording) == WALK_FRAMES
    result = compare_recording(recording)
    trained = [m["name"] for m in result["models"] if m["trained"]]
    assert sorted(trained) == sorted(LIVE.models)
    snap = result["overall"] if "overall" in result else result
    text = repr(snap)
    assert "agreement" in text or "root_aligned_mm" in text


def test_without_rootnet_the_bundled_model_places_itself(demo_run):
    engine, results = demo_run
    sources = {r.outputs["blazepose-full"].root_source for r in results
               if len(r.outputs["blazepose-full"].joints_cam_mm)}
    assert sources == {"fit"}
    depths = np.array([r.outputs["blazepose-full"].joints_cam_mm[0, 0, 2] for r in results
                       if len(r.outputs["blazepose-full"].joints_cam_mm)])
    assert np.all((depths > 1000.0) & (depths < 10000.0))  # a person a few metres away, not the 4 m default
    assert np.std(depths) > 1.0  # fitted per frame, not a constant
    assert any("placed by fitting its own metric 3D" in n for n in engine.notes)
