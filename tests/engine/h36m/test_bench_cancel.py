"""Benchmark cancel answers between the models of one batch (not at the next batch), and the partial state says so."""

from __future__ import annotations

import json

import pytest

from engine.h36m.run.runner import PARTIAL, BenchmarkConfig, BenchmarkRunner, run_to_completion
from engine.h36m.synthetic import generate
from engine.inference.predictor import Predictor
from models.loader import load_model

MODELS = ("mhp-lpski-w0.5", "convnextpose-xs")

pytestmark = pytest.mark.usefixtures("one_thread")


def test_cancel_inside_a_batch_skips_the_remaining_models_and_marks_the_state(tmp_path, monkeypatch):
    data = generate(tmp_path / "syn", samples=8, seed=2).root
    loaded = [load_model(m, allow_untrained=True) for m in MODELS]
    runner = BenchmarkRunner(BenchmarkConfig(data_dir=data, models=list(MODELS), out_dir=tmp_path / "out",
                                             batch_size=4, num_workers=0, device="cpu", allow_untrained=True),
                             loaded=loaded)
    calls: list[str] = []
    real = Predictor.infer_cells

    def first_model_then_cancel(self, name, crops):
        calls.append(name)
        runner.cancel()  # the user presses Cancel while the first model of the first batch runs
        return real(self, name, crops)

    monkeypatch.setattr(Predictor, "infer_cells", first_model_then_cancel)
    res = run_to_completion(runner)
    assert res.status == "cancelled" and res.done == 0
    assert calls == [MODELS[0]]  # the second model of the batch never ran: cancel did not wait for the batch
    (state_file,) = (tmp_path / "out" / PARTIAL).glob("*/state.json")
    state = json.loads(state_file.read_text())
    assert state["status"] == "cancelled" and state["done"] == 0
