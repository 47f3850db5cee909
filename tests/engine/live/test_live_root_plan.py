"""The engine's root-depth decision as a record (``LiveEngine.root_plan``): RootNet, or a fixed depth and why; the
user-facing note is derived from it, so callers read the field instead of matching note text."""

from __future__ import annotations

import numpy as np
import pytest

from engine.defaults import ROOT
from engine.live.engine import LiveConfig, LiveEngine
from engine.live.root_planner import DISABLED, NO_WEIGHTS, UNTRAINED, RootDepths, RootPlan, plan_root
from models.loader import WeightsMissingError
from tests.engine.live.test_live_fakes import FakePredictor, FixedDetector, fake_loaded

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


def get_decoding(name: str) -> str:
    from models.spec import get_spec

    return get_spec(name).decoding


# ------------------------------------------------------------------------------------- RootNet on its own thread


def test_off_thread_depths_are_held_per_track_and_pending_before_the_first_run():
    depths = RootDepths(RootPlan("rootnet", default_root_mm=5000.0), every=3)
    keys = RootDepths.keys(np.array([4, -1, -1]))
    assert keys[0] == 4 and keys[1] != keys[2] and min(keys[1:]) > 4  # untracked: matched by order in the frame
    assert depths.want(keys)  # nothing measured yet
    depths.submitted()
    given, pending = depths.held(keys)
    assert pending and given.tolist() == [5000.0] * 3
    assert depths.want(keys)  # still nobody has a depth
    depths.add_run(keys, np.array([3000.0, np.nan, 3200.0]), 1.0)  # a box RootNet could not crop: NaN
    given, pending = depths.held(keys)
    assert pending and given.tolist() == [3000.0, 5000.0, 3200.0]
    depths.add_run(keys, np.array([3000.0, 3100.0, 3200.0]), 2.0)
    depths.submitted()
    given, pending = depths.held(keys)
    assert not pending and given.tolist() == pytest.approx([3000.0, 3100.0, 3200.0])
    assert [depths.want(keys) for _ in range(4)] == [False, False, True, True]  # due again every 3rd frame
    assert not RootDepths(RootPlan("fixed", DISABLED)).want(keys)


def test_rootnet_alone_gives_the_depths_predict_frame_gives():
    from engine.inference.predictor import Predictor
    from models.spec import get_spec
    from tests.engine.inference.test_predictor import (
        CAM,
        POSENET,
        FakePoseNet,
        FakeRootNet,
        boxes_for,
        loaded,
        make_frame,
    )

    p = Predictor([loaded(POSENET, FakePoseNet(POSENET))], rootnet=loaded(get_spec("rootnet-r50"), FakeRootNet()),
                  device="cpu")
    boxes = np.vstack([boxes_for([0, 1]), [[5.0, 5.0, 0.0, 10.0]]])  # the last box is empty: NaN, like a skip
    full = p.predict_frame(make_frame(), boxes, CAM)
    z = p.predict_roots(make_frame(), boxes, CAM)
    assert full.kept.tolist() == [0, 1] and z[:2] == pytest.approx(full.root_cam_mm[:, 2]) and np.isnan(z[2])


def test_an_off_thread_rootnet_error_ends_the_run():
    class BrokenRootNet(FakePredictor):
        def predict_roots(self, *a, **k):
            raise RuntimeError("stand-in RootNet failure")

    cfg = LiveConfig(source="demo", models=(MODEL,), rootnet="rootnet-r50", realtime=False, max_frames=200)
    errors = []
    engine = LiveEngine(cfg, detector=FixedDetector([[100, 80, 120, 300]], [1]),
                        model_loader=lambda name, allow_untrained=False: fake_loaded(name),
                        predictor_factory=lambda models, rootnet, **kw: BrokenRootNet(models, rootnet, **kw),
                        on_error=errors.append)
    with engine:
        assert engine.wait(30)
    assert len(errors) == 1 and "stand-in RootNet failure" in str(errors[0])
    assert engine.stats().frames_processed < 200


def test_one_vocabulary_for_where_depth_comes_from():
    from engine.live.root_planner import Placement, placement_of

    assert placement_of("given", pending=False) == Placement.ROOTNET == "placed by RootNet"
    assert placement_of("given", pending=True) == Placement.WAITING
    assert placement_of("fit", pending=True) == Placement.SELF == "self-placed from metric 3D"
    assert placement_of("default", pending=False) == Placement.FIXED == "fixed depth"
