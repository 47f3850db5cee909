"""The first run, offline: the default live view on the built-in demo shows a real, trained 3D skeleton.

Issue 16's acceptance: with no weights installed and no network, the bundled BlazePose model (found by its own
person detector) finds the demo's walker in at least 90 % of frames, with human bone lengths, placed in the camera
by its own metric 3D (no RootNet).
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.defaults import LIVE
from engine.live.default_models import default_live_models
from engine.live.engine import LiveConfig, run_engine
from models.joints import H36M18
from models.weights.store import find_weights

pytest.importorskip("ai_edge_litert")

FRAMES = 40
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


def test_defaults_offline_are_the_bundled_trained_model(tmp_path):
    assert default_live_models(lambda m: find_weights(m, tmp_path) is not None) == list(LIVE.models)
    assert LIVE.models == ("blazepose-full",) and default_live_models(()) == []  # never a model without weights
    picked = default_live_models({"blazepose-full", "posenet-r50", "convnextpose-xs"})
    assert picked == ["blazepose-full", "convnextpose-xs", "posenet-r50"]  # installed official ones, lightest first


def test_bundled_model_finds_the_demo_walker_with_human_bones(demo_run):
    engine, results = demo_run
    assert engine._detector is not None and engine._detector.kind == "blazepose"  # no YOLO weights offline
    assert len(results) == FRAMES
    assert all(not r.untrained for r in results)
    found = [r for r in results if len(r.outputs["blazepose-full"].joints_cam_mm)
             and np.isfinite(r.outputs["blazepose-full"].joints_cam_mm[0]).all()]
    assert len(found) >= 0.9 * FRAMES, f"a person in {len(found)}/{FRAMES} frames"
    ix = {n: i for i, n in enumerate(H36M18.names)}
    joints = np.stack([r.outputs["blazepose-full"].joints_cam_mm[0] for r in found])
    for name, (right, left, (lo, hi)) in BONES.items():
        for a, b in (right, left):
            median = float(np.median(np.linalg.norm(joints[:, ix[a]] - joints[:, ix[b]], axis=-1)))
            assert lo <= median <= hi, f"{name} {a}-{b}: median {median:.0f} mm outside {lo:.0f}-{hi:.0f}"


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
