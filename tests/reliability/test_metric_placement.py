"""Issue 28 item 7: a model that predicts metric 3D (BlazePose) keeps its own shape whatever places it; a random
RootNet may move it (its translation), never scale it. A trained model placed by an untrained RootNet says so."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.inference.fit_translation import with_own_shape
from engine.live.engine import LiveConfig, LiveEngine
from engine.live.root_planner import Placement

POSE = "blazepose-lite"


def _thighs(joints: np.ndarray) -> np.ndarray:
    """Hip-knee lengths (mm) of [N,18,3] h36m18 joints, both legs."""
    return np.concatenate([np.linalg.norm(joints[:, 1] - joints[:, 2], axis=-1),
                           np.linalg.norm(joints[:, 4] - joints[:, 5], axis=-1)])


def test_with_own_shape_moves_but_never_scales():
    rng = np.random.default_rng(0)
    world = rng.normal(0, 300, (2, 18, 3))
    world -= world[:, :1]
    decoded = world * 1000.0 + np.array([1e5, -2e5, 6e8])  # a skeleton blown up by an absurd depth
    placed = with_own_shape(decoded, world, 0)
    np.testing.assert_allclose(placed - placed[:, :1], world, atol=1e-6)  # the shape is the model's own
    np.testing.assert_allclose(placed[:, 0], decoded[:, 0])  # the root stays where placement put it


@pytest.fixture(scope="module")
def random_rootnet_run():
    torch.set_num_threads(1)
    cfg = LiveConfig(source="demo", models=(POSE,), rootnet="rootnet-r50-muco", allow_untrained=True,
                     detector="none", device="cpu", max_frames=90, realtime=False, rootnet_every=1, loop=False)
    engine = LiveEngine(cfg)
    results = []
    engine.subscribe(results.append)
    with engine:
        assert engine.wait(240)
    assert engine.error is None, engine.error
    return engine, results


def test_random_rootnet_never_scales_a_metric_model(random_rootnet_run):
    engine, results = random_rootnet_run
    assert not engine.rootnet_info.trained
    by_rootnet = (Placement.ROOTNET, Placement.UNTRAINED_ROOTNET)
    placed = [r for r in results if r.placement[POSE] in by_rootnet and len(r.track_ids)]
    assert placed, [r.placement for r in results]
    thighs = np.concatenate([_thighs(r.outputs[POSE].joints_rel_mm) for r in placed])
    assert 200.0 < float(np.median(thighs)) < 700.0, thighs  # a person's thigh, whatever depth RootNet invented


def test_untrained_rootnet_placing_a_trained_model_is_labelled(random_rootnet_run):
    _, results = random_rootnet_run
    words = {r.placement[POSE] for r in results}
    assert Placement.ROOTNET not in words  # never the plain "placed by RootNet" for a random RootNet's depth
    assert Placement.UNTRAINED_ROOTNET in words
