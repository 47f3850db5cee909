"""The live loop's torch threads follow the cores other programs leave; the offline predictor's stay put."""

from __future__ import annotations

import threading

import numpy as np
import torch
from torch import nn

import engine.inference.cpu_threads as cpu_threads
from engine.inference.predictor import Predictor
from models.loader import LoadedModel
from models.spec import ModelSpec


def tiny_model() -> LoadedModel:
    spec = ModelSpec(name="tiny-threads", family="tiny", variant="", joint_set="h36m18", input_hw=(64, 64),
                     normalisation="imagenet_0_255", output_hw=(8, 8), depth_bins=8, decoding="3dmppe")
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, 4, 1), nn.ReLU(), nn.Conv2d(8, 18 * 8, 3, 2, 1)).eval()
    return LoadedModel(spec, net, False, None, None)


def run_on_fresh_thread(fn):
    """Each thread has its own OpenMP thread count: run where the test's setting cannot leak into others."""
    out: dict[str, object] = {}

    def body() -> None:
        torch.set_num_threads(2)
        out["value"] = fn()

    t = threading.Thread(target=body)
    t.start()
    t.join()
    return out["value"]


def test_live_predictor_runs_with_the_threads_the_free_cores_allow(monkeypatch):
    crops = torch.rand(2, 3, 64, 64) * 255
    allowed = {"n": 1}
    monkeypatch.setattr(cpu_threads, "threads_for", lambda wanted: min(wanted, allowed["n"]))

    def live() -> tuple[int, int, np.ndarray]:
        p = Predictor([tiny_model()], device="cpu", flip_test=False)
        p.follow_free_cores()
        busy = p.infer_cells("tiny-threads", crops)
        during_load = torch.get_num_threads()
        allowed["n"] = 8  # the other program ended
        quiet = p.infer_cells("tiny-threads", crops)
        np.testing.assert_allclose(busy, quiet, atol=1e-5)
        return during_load, torch.get_num_threads(), quiet

    during_load, after, _ = run_on_fresh_thread(live)
    assert during_load == 1  # another program held a core
    assert after == 2  # back to the count it started with, never above


def test_offline_predictor_keeps_its_thread_count(monkeypatch):
    monkeypatch.setattr(cpu_threads, "threads_for", lambda wanted: 1)

    def offline() -> int:
        p = Predictor([tiny_model()], device="cpu", flip_test=False)
        p.infer_cells("tiny-threads", torch.rand(1, 3, 64, 64) * 255)
        return torch.get_num_threads()

    assert run_on_fresh_thread(offline) == 2
    assert run_on_fresh_thread(lambda: (cpu_threads.FreeCoreThreads(4).apply(), torch.get_num_threads())) == (1, 1)


def test_the_live_engine_asks_its_predictor_to_follow_the_free_cores():
    from engine.live.engine import LiveConfig, LiveEngine
    from tests.engine.live.test_live_fakes import FakePredictor, FixedDetector, fake_loader

    asked: list[bool] = []

    class Following(FakePredictor):
        def follow_free_cores(self) -> None:
            asked.append(True)

    engine = LiveEngine(LiveConfig(source="demo", models=("mhp-lpski-w0.5",), max_frames=1, realtime=False),
                        detector=FixedDetector([[100, 80, 120, 300]], [1]), model_loader=fake_loader,
                        predictor_factory=lambda models, rootnet, **kw: Following(models, rootnet, **kw))
    with engine:
        assert engine.wait(30)
    assert asked == [True] and engine.error is None
