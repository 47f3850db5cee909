"""Benchmark outputs: the official 3DMPPE predictions JSON is written beside each model's results.json and
``posearena evaluate`` on it reproduces the run's own numbers exactly; the run-level results.json has one shape."""

from __future__ import annotations

import json

import pytest

import main
from engine.h36m.exports import OFFICIAL_JSON, RUN_RESULTS_SCHEMA, load_run_results
from engine.h36m.run.runner import BenchmarkConfig, BenchmarkRunner, run_to_completion

MODEL = "mhp-lpski-w0.5"
KEYS = ("mpjpe_mm", "pa_mpjpe_mm", "pa_mpjpe_similarity_mm", "per_action_mpjpe_mm", "per_action_pa_mpjpe_mm",
        "per_joint_mpjpe_mm", "num_samples")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("h36m") / "syn"
    assert main.main(["h36m", "synthetic", "--out", str(root), "--samples", "24", "--seed", "3"]) == 0
    return root


def _bench(data, out, protocol, models=(MODEL,)):
    cfg = BenchmarkConfig(data_dir=data, models=list(models), out_dir=out, limit=6, batch_size=3, num_workers=0,
                          device="cpu", allow_untrained=True, flip=False, protocol=protocol)
    run_to_completion(BenchmarkRunner(cfg))
    return out


@pytest.mark.parametrize("protocol", [2, 1])
def test_official_json_round_trips_through_evaluate_exactly(data, tmp_path, protocol, capsys):
    out = _bench(data, tmp_path / "bench", protocol)
    official = out / MODEL / OFFICIAL_JSON
    entries = json.loads(official.read_text())
    assert len(entries) == 6
    e = entries[0]
    assert set(e) == {"image_id", "joint_cam", "bbox", "root_cam"}
    assert len(e["joint_cam"]) == 18 and all(len(j) == 3 for j in e["joint_cam"])
    assert e["joint_cam"][0] == [0.0, 0.0, 0.0]  # root-relative
    assert len(e["bbox"]) == 4 and len(e["root_cam"]) == 3
    bench = json.loads((out / MODEL / "results.json").read_text())
    ev = tmp_path / "eval"
    assert main.main(["evaluate", "--data", str(data), "--protocol", str(protocol), "--predictions", str(official),
                      "--out", str(ev), "--model", MODEL]) == 0
    capsys.readouterr()
    got = json.loads((ev / MODEL / "results.json").read_text())
    for key in KEYS:
        assert got[key] == bench[key], key  # exactly, not approximately
    assert got["root"] == bench["root"] == "gt"


def test_run_results_json_has_one_shape(data, tmp_path):
    one = _bench(data, tmp_path / "one", 2)
    two = _bench(data, tmp_path / "two", 2, models=(MODEL, "mhp-lpski"))
    for out, n in ((one, 1), (two, 2)):
        d = json.loads((out / "results.json").read_text())
        assert set(d) == {"schema", "models"} and d["schema"] == RUN_RESULTS_SCHEMA
        assert [m["model"] for m in d["models"]][:1] == [MODEL] and len(d["models"]) == n
        assert load_run_results(out) == d["models"]
        for m in d["models"]:
            own = json.loads((out / m["model"] / "results.json").read_text())
            assert {k: v for k, v in m.items() if k != "date"} == {k: v for k, v in own.items() if k != "date"}
            assert (out / m["model"] / OFFICIAL_JSON).is_file()
