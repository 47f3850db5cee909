"""Predictor ``profile=``: every network call goes through engine.inference.fast_paths, so onnxruntime and bf16 give
the fp32
answer within their tolerance, contradicting switches fail clearly, and the live engine, the live CLI and the H36M
benchmark pass the profile through to the Predictor.

The model is mhp-lpski-w0.5 with seeded random weights (~1.4M parameters) on the scene of test_predictor.py
(two persons, flip test). Each onnxruntime test exports into its own temporary ONNX cache, so "it ran through
onnxruntime" is checked by the exported file, not assumed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from torch import nn

from engine.inference.fast_paths import PROFILES, FastPathConfig
from engine.inference.predictor import Predictor, resolve_profile
from engine.live.engine import LiveConfig, LiveEngine
from main import main
from models.loader import load_model
from models.spec import get_spec
from tests.engine.inference.test_predictor import (
    CAM,
    POSENET,
    FakePoseNet,
    assert_recovers,
    boxes_for,
    depths_for,
    loaded,
    make_frame,
)
from tests.engine.live.test_live_fakes import FakePredictor, FixedDetector, fake_loader

MODEL = "mhp-lpski-w0.5"
ROOT = Path(__file__).resolve().parents[3]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def onnx_cache(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "onnx-cache"
    monkeypatch.setenv("POSEARENA_ONNX_CACHE", str(cache))
    return cache


def _joints(profile=None, **kw) -> tuple[np.ndarray, Predictor]:
    """Joints (camera mm) of the two-person scene; a fresh model each time (the predictor moves it in place)."""
    p = Predictor([load_model(MODEL, allow_untrained=True)], device="cpu", flip_test=True, profile=profile, **kw)
    pred = p.predict_frame(make_frame(), boxes_for([0, 1]), CAM, root_depth_mm=depths_for([0, 1]))
    return pred.outputs[MODEL].joints_cam_mm, p


@pytest.fixture(scope="module")
def fp32_joints() -> np.ndarray:
    joints, p = _joints()
    assert p.profile == FastPathConfig() and p.profile_label == "fp32"
    assert np.all(np.isfinite(joints)) and joints.shape == (2, 18, 3)
    return joints


# ------------------------------------------------------------------------------------------------- predictor


def test_fp32_profile_is_the_default_path(fp32_joints) -> None:
    joints, p = _joints("fp32")
    assert p.fast_paths[MODEL].cfg == PROFILES["fp32"]
    np.testing.assert_array_equal(joints, fp32_joints)


def test_onnxruntime_profile_matches_fp32_within_0_1_mm(fp32_joints, onnx_cache) -> None:
    joints, p = _joints("onnxruntime")
    fp = p.fast_paths[MODEL]
    assert p.profile_label == "onnxruntime" and fp.cfg.backend == "onnxruntime"
    assert fp.exported and fp.onnx_path is not None and fp.onnx_path.parent == onnx_cache and fp.onnx_path.is_file()
    assert "CPUExecutionProvider" in fp.providers
    diff = float(np.abs(joints - fp32_joints).max())
    print(f"\n{MODEL} (untrained) onnxruntime vs fp32: max joint difference {diff:.5f} mm (2 persons, flip test)")
    assert diff < 0.1
    # a second predictor finds the exported graph in the cache and gives the same answer
    again, q = _joints(PROFILES["onnxruntime"])
    assert not q.fast_paths[MODEL].exported and q.fast_paths[MODEL].onnx_path == fp.onnx_path
    np.testing.assert_allclose(again, joints, rtol=0, atol=1e-6)


def test_bf16_profile_runs_bf16_and_stays_close(fp32_joints) -> None:
    joints, p = _joints("bf16")
    assert p.precision == "bf16" and p.fast_paths[MODEL].cfg.precision == "bf16"
    diff = float(np.abs(joints - fp32_joints).max())
    print(f"\n{MODEL} (untrained) bf16 vs fp32: max joint difference {diff:.3f} mm (2 persons, flip test)")
    assert np.all(np.isfinite(joints))
    assert diff > 0.0  # bf16 really ran: an fp32 forward in disguise would match exactly
    # Loose on purpose: random weights give nearly flat heatmaps whose soft-argmax bf16 moves a lot; this catches
    # a broken path (NaN, wrong layout, wrong channel order), not bf16's accuracy on trained weights.
    assert diff < 100.0


def test_rootnet_goes_through_the_profile_too(onnx_cache) -> None:
    class TinyRoot(nn.Module):
        """RootNet's interface (crop, k) -> (x, y cells, depth = gamma * k) with a conv so the crop matters."""

        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(3)
            self.conv = nn.Conv2d(3, 2, 16, 16)
            self.gamma = nn.Parameter(torch.tensor(0.8))

        def forward(self, x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
            return torch.cat([32.0 + self.conv(x).mean((2, 3)), self.gamma * k.reshape(-1, 1)], dim=1)

    spec = get_spec("rootnet-r50")
    crops = torch.randn(2, 3, 256, 256, generator=torch.Generator().manual_seed(0))
    k = np.array([3000.0, 4500.0])
    ref = Predictor([], loaded(spec, TinyRoot()), device="cpu").infer_root(crops, k)
    p = Predictor([], loaded(spec, TinyRoot()), device="cpu", profile="onnxruntime")
    assert p.fast_paths[spec.name].cfg.backend == "onnxruntime" and p.fast_paths[spec.name].exported
    out = p.infer_root(crops, k)
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out[:, 2], 0.8 * k, rtol=1e-6)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-4)


def test_onnx_backed_models_keep_their_own_session_path() -> None:
    # a model that is already an ONNX file cannot be exported again: under any profile it takes the fp32 torch path
    spec = dataclasses.replace(POSENET, name="posenet-as-onnx", backend="onnx")
    p = Predictor([loaded(spec, FakePoseNet(spec))], device="cpu", profile="onnxruntime")
    assert p.profile_label == "onnxruntime" and p.fast_paths[spec.name].cfg == FastPathConfig()
    pred = p.predict_frame(make_frame(), boxes_for([0]), CAM, root_depth_mm=depths_for([0]))
    assert_recovers(pred, spec.name, [0])


def test_profile_resolution_and_clear_refusals() -> None:
    # no profile: precision + channels_last build the equivalent torch profile
    assert resolve_profile(None, "bf16", True) == PROFILES["channels_last+bf16"]
    assert resolve_profile(None) == PROFILES["fp32"]
    # a profile with agreeing switches is fine; contradicting ones are refused, naming both
    assert resolve_profile("channels_last+bf16", "bf16", True) == PROFILES["channels_last+bf16"]
    with pytest.raises(ValueError, match="precision 'bf16' contradicts profile 'onnxruntime'"):
        resolve_profile("onnxruntime", "bf16")
    with pytest.raises(ValueError, match="channels_last contradicts profile 'bf16'"):
        resolve_profile("bf16", channels_last=True)
    with pytest.raises(ValueError, match="unknown fast-path profile 'turbo'"):
        resolve_profile("turbo")
    with pytest.raises(TypeError, match="profile must be"):
        resolve_profile(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="precision"):
        Predictor([], device="cpu", precision="int8", profile="fp32")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda_graphs needs a CUDA device"):
            Predictor([loaded(POSENET, FakePoseNet(POSENET))], device="cpu", profile="cuda_graphs")


# ------------------------------------------------------------------------------------------------- pass-through


def _live_engine(**cfg) -> tuple[LiveEngine, dict]:
    box: dict = {}

    def factory(models, rootnet, **kw):
        box["p"] = FakePredictor(models, rootnet, **kw)
        return box["p"]

    config = LiveConfig(source="demo", models=(MODEL,), max_frames=1, realtime=False, **cfg)
    return LiveEngine(config, detector=FixedDetector([[100, 80, 120, 300]], [1]), model_loader=fake_loader,
                      predictor_factory=factory), box


def test_live_engine_passes_the_profile_to_the_predictor() -> None:
    engine, box = _live_engine(profile="bf16")
    with engine:
        assert engine.wait(30)
    assert engine.error is None and box["p"].kwargs["profile"] == "bf16"
    engine, box = _live_engine()  # no profile: the factory is called as before (no new keyword)
    with engine:
        assert engine.wait(30)
    assert "profile" not in box["p"].kwargs and box["p"].kwargs["precision"] == "fp32"


def test_live_cli_help_lists_the_profiles_and_rejects_unknown_ones(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["live", "--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    i = text.index("--profile NAME ")
    help_text = text[i:i + 600]
    assert all(name in help_text for name in PROFILES) and "default" in help_text
    with pytest.raises(SystemExit) as e:
        main(["live", "--profile", "turbo"])
    assert e.value.code == 2 and "invalid choice: 'turbo'" in capsys.readouterr().err


def test_live_cli_runs_headless_with_onnxruntime(tmp_path) -> None:
    stats = tmp_path / "stats.json"
    cache = tmp_path / "onnx-cache"
    env = {**os.environ, "POSEARENA_ONNX_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(ROOT / "main.py"), "live", "--source", "demo", "--frames", "3", "--allow-untrained",
           "--asap", "--profile", "onnxruntime", "--models", MODEL, "--rootnet", "none", "--detector", "none",
           "--device", "cpu", "--headless", "--json", str(stats)]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "3 frames processed" in r.stdout and "profile: onnxruntime" in r.stdout
    assert [p.name.startswith(MODEL) and p.suffix == ".onnx" for p in cache.iterdir()] == [True]
    assert json.loads(stats.read_text())["profile"] == "onnxruntime"


def test_live_cli_refuses_a_profile_contradicting_precision(capsys) -> None:
    rc = main(["live", "--source", "demo", "--frames", "1", "--allow-untrained", "--profile", "onnxruntime",
               "--precision", "bf16", "--models", MODEL, "--rootnet", "none", "--detector", "none", "--device", "cpu",
               "--headless"])
    assert rc == 2 and "contradicts profile 'onnxruntime'" in capsys.readouterr().err


def test_bench_cli_profile_reaches_the_predictor(tmp_path, onnx_cache) -> None:
    from engine.h36m.run.runner import BenchmarkConfig, BenchmarkRunner, run_to_completion
    from engine.h36m.synthetic import generate

    data = generate(tmp_path / "syn", samples=8, seed=5).root
    common = ["--data", str(data), "--models", MODEL, "--limit", "2", "--batch-size", "2", "--workers", "0",
              "--device", "cpu", "--allow-untrained"]
    assert main(["bench", "h36m", *common, "--out", str(tmp_path / "onnx"), "--profile", "onnxruntime"]) == 0
    assert len(list(onnx_cache.glob(f"{MODEL}-*.onnx"))) == 1  # the benchmark exported and ran the ONNX graph
    ref = run_to_completion(BenchmarkRunner(BenchmarkConfig(
        data_dir=data, models=[MODEL], out_dir=tmp_path / "fp32", limit=2, batch_size=2, num_workers=0,
        device="cpu", allow_untrained=True)))
    assert ref.status == "finished"
    with h5py.File(tmp_path / "onnx" / MODEL / "predictions.h5") as a, \
            h5py.File(tmp_path / "fp32" / MODEL / "predictions.h5") as b:
        diff = float(np.abs(a["joints_cam"][()] - b["joints_cam"][()]).max())
    print(f"\nH36M runner, {MODEL} (untrained): onnxruntime vs fp32 max joint difference {diff:.5f} mm")
    assert diff < 0.1
