"""H36M benchmark runner: cancel + resume equals a straight run, reuse, no silent overwrite, exports, CLI."""

from __future__ import annotations

import csv
import json
import shutil
import signal
from pathlib import Path

import h5py
import numpy as np
import pytest

import main
from engine.h36m.run.runner import BenchmarkConfig, BenchmarkRunner, ResultsExistError, run_to_completion
from engine.h36m.synthetic import generate
from models.loader import WeightsMissingError, load_model

MODEL = "mhp-lpski-w0.5"  # small: ~1.4M parameters
LIMIT, BATCH = 6, 2


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("h36m") / "syn", samples=30, seed=5).root


@pytest.fixture(scope="module")
def model():
    return load_model(MODEL, allow_untrained=True)


def _cfg(data: Path, out: Path, **kw) -> BenchmarkConfig:
    base = dict(data_dir=data, models=[MODEL], out_dir=out, limit=LIMIT, batch_size=BATCH, num_workers=0,
                device="cpu", allow_untrained=True)
    base.update(kw)
    return BenchmarkConfig(**base)


def _joints(out: Path) -> np.ndarray:
    with h5py.File(out / MODEL / "predictions.h5", "r") as h:
        return h["joints_cam"][()]


@pytest.fixture(scope="module")
def straight(data, model, tmp_path_factory):
    out = tmp_path_factory.mktemp("straight")
    res = run_to_completion(BenchmarkRunner(_cfg(data, out), loaded=[model]))
    assert res.status == "finished"
    return out, res


def test_cancel_after_first_batch_then_resume_equals_straight_run(data, model, straight, tmp_path):
    out_a, res_a = straight
    runner = BenchmarkRunner(_cfg(data, tmp_path), loaded=[model])

    def stop_after_first_batch(p):
        if p.phase == "infer" and p.done > 0:
            runner.cancel()

    res = run_to_completion(runner, stop_after_first_batch)
    assert res.status == "cancelled" and res.done == BATCH and res.total == LIMIT
    assert len(list(res.partial_dir.glob("shard_*.npz"))) == 1
    assert not (tmp_path / "run.json").exists()

    messages = []
    res_b = run_to_completion(BenchmarkRunner(_cfg(data, tmp_path), loaded=[model]), messages.append)
    assert res_b.status == "finished"
    assert any(p.phase == "infer" and f"{LIMIT - BATCH} samples to go" in p.message for p in messages)
    np.testing.assert_array_equal(_joints(tmp_path), _joints(out_a))
    a = json.loads((out_a / MODEL / "results.json").read_text())
    b = json.loads((tmp_path / MODEL / "results.json").read_text())
    for key in ("mpjpe_mm", "pa_mpjpe_mm", "pa_mpjpe_similarity_mm", "per_action_mpjpe_mm", "num_samples"):
        assert a[key] == b[key], key
    assert not (tmp_path / ".partial").exists()  # shards are removed once the results are written


def test_finished_run_is_reused_and_other_configs_do_not_overwrite(data, model, straight):
    out, res = straight
    again = run_to_completion(BenchmarkRunner(_cfg(data, out), loaded=[model]))
    assert again.status == "reused" and again.summary == res.summary
    with pytest.raises(ResultsExistError, match="another configuration"):
        run_to_completion(BenchmarkRunner(_cfg(data, out, flip=False), loaded=[model]))
    assert json.loads((out / "run.json").read_text())["fingerprint"]["flip"] is True


def test_overwrite_replaces_a_finished_run_when_asked(data, model, straight, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(straight[0], out)
    (out / "old-model").mkdir()
    (out / "old-model" / "results.json").write_text("{}")
    run = json.loads((out / "run.json").read_text())
    run["models"].append({"name": "old-model", "folder": "old-model", "trained": False})
    (out / "run.json").write_text(json.dumps(run))
    res = run_to_completion(BenchmarkRunner(_cfg(data, out, flip=False, overwrite=True), loaded=[model]))
    assert res.status == "finished"
    assert json.loads((out / "run.json").read_text())["fingerprint"]["flip"] is False
    assert json.loads((out / MODEL / "results.json").read_text())["flip"] is False
    assert not (out / "old-model").exists()  # results of the replaced configuration do not linger


def test_untrained_models_are_refused_unless_allowed(data, tmp_path, monkeypatch):
    monkeypatch.setenv("POSEARENA_WEIGHTS", str(tmp_path / "empty-weights"))
    with pytest.raises(WeightsMissingError, match=MODEL):
        run_to_completion(BenchmarkRunner(_cfg(data, tmp_path / "out", allow_untrained=False)))


def test_exports_exist_parse_and_say_untrained(straight):
    out, res = straight
    d = json.loads((out / MODEL / "results.json").read_text())
    for key in ("model", "protocol", "num_samples", "mpjpe_mm", "pa_mpjpe_mm", "per_action_mpjpe_mm", "flip", "root",
                "checkpoint_sha256", "software_versions", "pa_mpjpe_similarity_mm", "labels", "trained"):
        assert key in d, key
    assert d["model"] == MODEL and d["protocol"] == 2 and d["num_samples"] == LIMIT and d["trained"] is False
    assert set(d["per_action_mpjpe_mm"]) == {
        "Directions", "Discussion", "Eating", "Greeting", "Phoning", "Posing", "Purchases", "Sitting", "SittingDown",
        "Smoking", "Photo", "Waiting", "Walking", "WalkDog", "WalkTogether"}
    # a synthetic, partial set says so in every label its numbers carry
    assert d["dataset"].startswith("synthetic data, not Human3.6M; partial: ")
    assert all(label.endswith(f"({d['dataset']})") for label in d["labels"].values())
    assert d["labels"]["mpjpe"] == f"MPJPE, Protocol 2 test set S9+S11 ({d['dataset']})"
    assert "untrained weights" in d["label"] and "torch" in d["software_versions"]
    top = json.loads((out / "results.json").read_text())  # one shape whatever the number of models
    assert top["schema"] == "posearena.h36m.run-results/1"
    assert [{k: v for k, v in m.items() if k != "date"} for m in top["models"]] == [
        {k: v for k, v in d.items() if k != "date"}]
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len(rows) == 1 and float(rows[0]["mpjpe_mm"]) == pytest.approx(d["mpjpe_mm"], abs=1e-3)
    assert "untrained weights" in rows[0]["label"]
    actions = list(csv.DictReader((out / MODEL / "per_action.csv").open()))
    assert len(actions) == 15 and sum(int(r["num_samples"]) for r in actions) == LIMIT
    joints = list(csv.DictReader((out / "per_joint.csv").open()))
    assert len(joints) == 17
    with h5py.File(out / MODEL / "predictions.h5", "r") as h:
        assert h["joints_cam"].shape == (LIMIT, 18, 3) and h["image_id"].shape == (LIMIT,)
        assert h["root_cam"].shape == (LIMIT, 3) and h.attrs["trained"] == False  # noqa: E712
    report = (out / "report.md").read_text()
    assert "untrained weights" in report and "Protocol 2 test set S9+S11" in report
    for png in ("per_action.png", "per_joint.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert res.summary.count("untrained weights") >= 2


def test_rootnet_roots_give_mrpe(data, model, tmp_path):
    res = run_to_completion(BenchmarkRunner(_cfg(data, tmp_path, root="rootnet", limit=2, flip=False),
                                            loaded=[model]))
    d = json.loads((tmp_path / MODEL / "results.json").read_text())
    assert d["root"] == "rootnet" and d["root_file"].endswith("bbox_root_human36m_output.json")
    assert d["mrpe_mm"]["mrpe"] > 0 and set(d["mrpe_mm"]) == {"mrpe", "x", "y", "z"}
    assert "MRPE" in res.summary


def test_cli_ctrl_c_keeps_work_and_rerun_resumes(data, tmp_path, monkeypatch, capsys):
    import cli.bench_cmd as bench_cmd

    original = bench_cmd.BenchProgress.__call__
    sent = []

    def interrupting(self, p):  # a real SIGINT to this process once the first batch is saved
        original(self, p)
        if p.phase == "infer" and p.done > 0 and not sent:
            sent.append(p.done)
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(bench_cmd.BenchProgress, "__call__", interrupting)
    argv = ["bench", "h36m", "--data", str(data), "--models", MODEL, "--allow-untrained", "--limit", "4",
            "--batch-size", "2", "--workers", "0", "--device", "cpu", "--out", str(tmp_path)]
    assert main.main(argv) == 130
    err = capsys.readouterr().err
    assert "rerun the same command to resume" in err and "2/4 samples saved" in err
    monkeypatch.setattr(bench_cmd.BenchProgress, "__call__", original)
    assert main.main(argv) == 0
    out = capsys.readouterr()
    assert "MPJPE, Protocol 2 test set S9+S11" in out.out and (tmp_path / "run.json").is_file()
    assert main.main(argv) == 0
    assert "finished earlier with the same configuration" in capsys.readouterr().err
    assert main.main([*argv[:-2], "--no-flip", "--out", str(tmp_path)]) == 1
    assert "--overwrite" in capsys.readouterr().err


def test_runner_throughput_bench_quick(tmp_path, capsys):
    from bench import runner_throughput

    out = tmp_path / "rt.json"
    assert runner_throughput.main(["--quick", "--samples", "12", "--workers", "0", "--seconds", "0.3",
                                   "--device", "cpu", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["forward_samples_per_s"] > 0 and d["runner_steady_samples_per_s"] > 0
    assert d["ratio"] == pytest.approx(d["runner_steady_samples_per_s"] / d["forward_samples_per_s"], rel=1e-2)
    assert "ratio" in capsys.readouterr().out
