"""The benchmark runner backs off on out-of-memory errors (inference.oom) instead of ending the run: the numbers equal a
plain run's, the smaller batch is kept for the rest of the run, the back-off is reported, and running out of memory
even at batch size 1 is one clear error that says the saved batches are kept."""

from __future__ import annotations

import io

import h5py
import numpy as np
import pytest

from engine.h36m.run.runner import BenchmarkConfig, BenchmarkRunner, Progress, run_to_completion
from engine.h36m.synthetic import generate
from engine.inference.oom import OutOfMemoryBackoffError
from engine.inference.predictor import Predictor
from models.loader import load_model

MODEL = "mhp-lpski-w0.5"  # small: ~1.4M parameters
LIMIT, BATCH = 8, 4  # two loader batches of 4
OOM = "DefaultCPUAllocator: can't allocate memory: you tried to allocate 123456789 bytes"


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("h36m-oom") / "syn", samples=12, seed=7).root


@pytest.fixture(scope="module")
def model():
    return load_model(MODEL, allow_untrained=True)


def _cfg(data, out) -> BenchmarkConfig:
    return BenchmarkConfig(data_dir=data, models=[MODEL], out_dir=out, limit=LIMIT, batch_size=BATCH, num_workers=0,
                           device="cpu", flip=False, allow_untrained=True)


def _predictions(out) -> dict[str, np.ndarray]:
    with h5py.File(out / MODEL / "predictions.h5", "r") as h:
        return {k: h[k][()] for k in ("coords_cells", "joints_cam")}


def _oom_above(limit: int, calls: list[int], monkeypatch) -> None:
    """Predictor.infer_cells runs out of memory on more than ``limit`` crops; records every call's size."""
    real = Predictor.infer_cells

    def infer_cells(self, name, crops):
        calls.append(int(crops.shape[0]))
        if crops.shape[0] > limit:
            raise RuntimeError(OOM)
        return real(self, name, crops)

    monkeypatch.setattr(Predictor, "infer_cells", infer_cells)


def test_out_of_memory_backs_off_and_equals_a_plain_run(data, model, tmp_path, monkeypatch):
    plain = run_to_completion(BenchmarkRunner(_cfg(data, tmp_path / "plain"), loaded=[model]))
    assert plain.status == "finished" and plain.warnings == []

    calls: list[int] = []
    _oom_above(2, calls, monkeypatch)
    seen: list[Progress] = []
    res = run_to_completion(BenchmarkRunner(_cfg(data, tmp_path / "oom"), loaded=[model]), seen.append)
    assert res.status == "finished" and res.done == LIMIT
    # batch 1: 4 fails, then 2 + 2; batch 2 starts at the smaller size at once (no second failure)
    assert calls == [4, 2, 2, 2, 2]
    assert len(res.warnings) == 1
    assert res.warnings[0] == f"{MODEL}: out of memory at batch size 4 (items from 0); retrying with batch size 2"
    assert [p.message for p in seen if p.phase == "infer" and p.message.startswith(MODEL)] == res.warnings

    ref, got = _predictions(tmp_path / "plain"), _predictions(tmp_path / "oom")
    for key in ref:  # per-sample inference: the same numbers (bit-identical here; a tolerance for other BLAS)
        np.testing.assert_allclose(got[key], ref[key], rtol=1e-5, atol=1e-4, err_msg=key)
    assert res.summary.splitlines()[0] == plain.summary.splitlines()[0]


def test_out_of_memory_at_batch_size_one_is_one_clear_error(data, model, tmp_path, monkeypatch):
    calls: list[int] = []
    _oom_above(0, calls, monkeypatch)
    runner = BenchmarkRunner(_cfg(data, tmp_path / "out"), loaded=[model])
    with pytest.raises(OutOfMemoryBackoffError) as info:
        run_to_completion(runner)
    msg = str(info.value)
    assert calls == [4, 2, 1]
    assert msg.startswith(f"{MODEL}: out of memory even at batch size 1")
    assert "the 0 samples saved so far are kept" in msg and "rerun the same command to resume" in msg
    assert "\n" not in msg


def test_cli_progress_prints_a_backoff_as_a_warning_line():
    from cli.bench_cmd import BenchProgress

    stream = io.StringIO()
    bar = BenchProgress("H36M", stream)
    bar(Progress(0, 8, None, "infer", message="8 samples to go on cpu"))
    bar(Progress(4, 8, 1.0, "infer", rate=4.0, message="m: out of memory at batch size 4; retrying with batch size 2"))
    bar(Progress(8, 8, 0.0, "infer", rate=4.0))
    lines = stream.getvalue().splitlines()
    assert lines[0] == "H36M: 8 samples to go on cpu"
    assert lines[1] == "H36M: warning: m: out of memory at batch size 4; retrying with batch size 2"
    assert lines[2].startswith("H36M [") and "4/8" in lines[2]
    assert lines[-1].startswith("H36M [") and "8/8" in lines[-1]
