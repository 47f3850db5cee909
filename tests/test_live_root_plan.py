"""The engine's root-depth decision as a record (``LiveEngine.root_plan``): RootNet, or a fixed depth and why; the
user-facing note is derived from it, so callers read the field instead of matching note text."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from engine.defaults import ROOT
from engine.live.engine import LiveConfig, LiveEngine
from engine.live.root_planner import DISABLED, NO_WEIGHTS, UNTRAINED, RootDepths, RootPlan, plan_root
from models.loader import WeightsMissingError
from tests.test_live_fakes import FakePredictor, FixedDetector, fake_loaded

MODEL = "mhp-lpski-w0.5"


def _prepared(rootnet, loader):
    cfg = LiveConfig(source="demo", models=(MODEL,), rootnet=rootnet, realtime=False, max_frames=1)
    engine = LiveEngine(cfg, detector=FixedDetector([[100, 80, 120, 300]], [1]), model_loader=loader,
                        predictor_factory=lambda models, rootnet, **kw: FakePredictor(models, rootnet, **kw))
    try:
        engine.prepare()
    finally:
        engine.stop()
    return engine


def test_no_rootnet_configured_is_a_fixed_plan_with_its_note():
    engine = _prepared(None, lambda name, allow_untrained=False: fake_loaded(name))
    plan = engine.root_plan
    assert engine.root_mode == "fixed" and plan.fixed and plan.reason == DISABLED and plan.rootnet is None
    assert plan.note == f"no RootNet: root depth fixed at {ROOT.default_root_mm:g} mm" and plan.note in engine.notes


def test_rootnet_without_weights_falls_back_to_a_fixed_plan():
    def loader(name, allow_untrained=False):
        if get_decoding(name) == "rootnet":
            raise WeightsMissingError(f"{name} has no weights")
        return fake_loaded(name)

    engine = _prepared("rootnet-r50", loader)
    plan = engine.root_plan
    assert engine.root_mode == "fixed" and plan.reason == NO_WEIGHTS and plan.rootnet == "rootnet-r50"
    assert plan.note.startswith("rootnet-r50 has no weights: root depth fixed") and plan.note in engine.notes
    assert engine.rootnet_info is None


def test_untrained_rootnet_runs_and_says_its_depth_is_meaningless():
    engine = _prepared("rootnet-r50", lambda name, allow_untrained=False: fake_loaded(name))
    plan = engine.root_plan
    assert engine.root_mode == "rootnet" and not plan.fixed and plan.reason == UNTRAINED
    assert plan.note == "rootnet-r50 (untrained weights): absolute depth is meaningless" and plan.note in engine.notes


def test_trained_rootnet_has_no_note():
    plan, lm = plan_root("rootnet-r50", lambda name, allow_untrained: fake_loaded(name, trained=True),
                         allow_untrained=False)
    assert plan == RootPlan("rootnet", "", "rootnet-r50", "rootnet-r50", ROOT.default_root_mm) and plan.note == ""
    assert lm.trained


def test_other_loading_errors_are_raised():
    def broken(name, allow_untrained):
        raise RuntimeError("corrupt checkpoint")

    with pytest.raises(RuntimeError, match="corrupt checkpoint"):
        plan_root("rootnet-r50", broken, allow_untrained=False)


def test_schedule_runs_rootnet_every_k_and_for_new_tracks():
    depths = RootDepths(RootPlan("rootnet"), every=3)
    ids = np.array([1])
    runs = []
    for k in range(6):
        run, given = depths.schedule(ids)
        runs.append(run)
        if run:
            out = SimpleNamespace(joints_cam_mm=np.zeros((1, 1, 3)), joints_2d=np.zeros((1, 1, 2)))
            depths.filter(ids, {"m": out}, np.array([[0.0, 0.0, 3000.0 + k]]), None, float(k), {"m": 0})
        else:
            assert given is not None and given.shape == (1,)
    assert runs == [True, False, False, True, False, False]
    assert depths.schedule(np.array([7])) == (True, None)  # a new person has no depth yet
    assert RootDepths(RootPlan("fixed", DISABLED)).schedule(ids) == (False, None)


def get_decoding(name: str) -> str:
    from models.spec import get_spec

    return get_spec(name).decoding
