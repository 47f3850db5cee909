"""An ONNX-backed model runs in the live engine and the benchmark exactly like a PyTorch one, side by side.

A random-weight 21-joint MobileHumanPose is exported to ONNX under the PINTO file name, imported into a temporary
weights folder (so `mhp-onnx-working-well` has "trained" weights as far as the app can tell), then run beside the
torch model mhp-lpski-w0.5 (untrained) in the live engine on the demo video and in the Human3.6M runner, where its
MuCo joint set is scored on the mapped joints under a distinct label.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from engine.h36m.run.runner import BenchmarkConfig, BenchmarkRunner, run_to_completion
from engine.h36m.synthetic import generate
from engine.live.engine import LiveConfig, run_engine
from models.onnx.importer import import_onnx
from models.spec import build, get_spec

ONNX_MODEL, TORCH_MODEL = "mhp-onnx-working-well", "mhp-lpski-w0.5"


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("onnx-pipeline")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        net = build(replace(get_spec(TORCH_MODEL), arch={"backbone": "LPSKI", "width": 0.5, "joints": 21,
                                                         "embedding": 2048})).eval()
    path = d / "mobile_human_pose_working_well_256x256.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.zeros(1, 3, 256, 256),), str(path), dynamo=False, input_names=["image"],
                          output_names=["heatmaps"], dynamic_axes={"image": {0: "n"}, "heatmaps": {0: "n"}})
    wd = d / "weights"
    assert import_onnx(path, wd, convert=False)["model"] == ONNX_MODEL
    return wd


def test_live_engine_runs_onnx_and_torch_models_side_by_side(weights_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("POSEARENA_WEIGHTS", str(weights_dir))
    cfg = LiveConfig(source="demo", models=(ONNX_MODEL, TORCH_MODEL), allow_untrained=True, detector="none",
                     realtime=False, weights_dir=str(weights_dir))
    engine, results = run_engine(cfg, frames=3, timeout=120)
    assert engine.error is None and len(results) == 3
    r = results[-1]
    assert r.outputs[ONNX_MODEL].joints_cam_mm.shape == (1, 21, 3)  # MuCo joints, own skeleton
    assert r.outputs[TORCH_MODEL].joints_cam_mm.shape == (1, 18, 3)
    assert ONNX_MODEL not in r.untrained and TORCH_MODEL in r.untrained
    assert ONNX_MODEL in r.latencies_ms and TORCH_MODEL in r.latencies_ms


def test_benchmark_scores_an_onnx_model_on_mapped_joints(weights_dir: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("POSEARENA_WEIGHTS", str(weights_dir))
    data = tmp_path / "h36m"
    generate(data, samples=8, seed=0)
    out = tmp_path / "out"
    cfg = BenchmarkConfig(data_dir=data, models=(ONNX_MODEL, TORCH_MODEL), out_dir=out, limit=8, batch_size=4,
                          num_workers=0, allow_untrained=True, device="cpu", flip=False)
    run_to_completion(BenchmarkRunner(cfg))
    res = json.loads((out / ONNX_MODEL / "results.json").read_text())
    assert res["num_samples"] == 8 and res["trained"] is True
    assert "mapped" in json.dumps(res["labels"])  # a MuCo model is scored on the shared joints, labelled so
    assert json.loads((out / TORCH_MODEL / "results.json").read_text())["trained"] is False
