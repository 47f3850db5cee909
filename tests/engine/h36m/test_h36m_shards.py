"""Shards of one benchmark run, merged, equal the whole run exactly; what is not one run is refused by name."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from engine.h36m.run.runner import BenchmarkConfig, BenchmarkRunner, run_to_completion
from engine.h36m.shards import MergeError, merge_runs, parse_shard, run_shard, shard_indices
from engine.h36m.synthetic import generate
from models.loader import load_model

MODEL = "mhp-lpski-w0.5"  # small: ~1.4M parameters
SAMPLES, BATCH = 10, 2

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("n", [0, 1, 7, 10, 33])
@pytest.mark.parametrize("count", [1, 2, 3, 5])
@pytest.mark.parametrize("align", [1, 2, 4])
def test_shard_indices_are_contiguous_disjoint_and_cover(n, count, align):
    parts = [shard_indices(n, i, count, align) for i in range(count)]
    np.testing.assert_array_equal(np.concatenate(parts), np.arange(n))  # in order: contiguous, disjoint, covering
    for p in parts:
        if p.size:  # boundaries on multiples of align (the end of the set excepted)
            assert p[0] % align == 0
            assert (p[-1] + 1) % align == 0 or p[-1] + 1 == n
    sizes = [p.size for p in parts]
    assert max(sizes) - min(sizes) <= align


def test_shard_arguments_are_checked():
    with pytest.raises(ValueError, match="index"):
        shard_indices(10, 2, 2)
    with pytest.raises(ValueError, match="count"):
        shard_indices(10, 0, 0)
    assert parse_shard("1/4") == (1, 4)
    for bad in ("4/4", "x/2", "1"):
        with pytest.raises(ValueError):
            parse_shard(bad)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("h36m") / "syn", samples=SAMPLES, seed=3).root


@pytest.fixture(scope="module")
def model():
    return load_model(MODEL, allow_untrained=True)


def _cfg(data: Path, out: Path, **kw) -> BenchmarkConfig:
    base = dict(data_dir=data, models=[MODEL], out_dir=out, batch_size=BATCH, num_workers=0, device="cpu",
                allow_untrained=True)
    base.update(kw)
    return BenchmarkConfig(**base)


@pytest.fixture(scope="module")
def runs(data, model, tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    whole = run_to_completion(BenchmarkRunner(_cfg(data, base / "whole"), loaded=[model]))
    assert whole.status == "finished" and whole.total == SAMPLES
    shards = []
    for i in (1, 0):  # any order
        r = run_shard(_cfg(data, base / f"shard{i}"), i, 2, loaded=[model])
        assert r.status == "finished"
        shards.append(base / f"shard{i}")
    merged = merge_runs(shards, base / "merged")
    return base, whole, merged


def _h5(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as h:
        return {k: h[k][()] for k in h.keys()}


def test_shards_split_the_set(runs):
    base, _, _ = runs
    sizes = [json.loads((base / f"shard{i}" / "run.json").read_text())["num_samples"] for i in (0, 1)]
    assert sum(sizes) == SAMPLES and all(s > 0 for s in sizes)


def test_merged_predictions_equal_the_whole_run(runs):
    base, _, _ = runs
    a, b = _h5(base / "whole" / MODEL / "predictions.h5"), _h5(base / "merged" / MODEL / "predictions.h5")
    assert set(a) == set(b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_merged_scores_equal_the_whole_run(runs):
    base, whole, merged = runs
    a = json.loads((base / "whole" / MODEL / "results.json").read_text())
    b = json.loads((base / "merged" / MODEL / "results.json").read_text())
    for k in ("num_samples", "mpjpe_mm", "pa_mpjpe_mm", "pa_mpjpe_similarity_mm", "per_action_mpjpe_mm",
              "per_action_pa_mpjpe_mm", "per_action_pa_mpjpe_similarity_mm", "per_action_num_samples",
              "per_joint_mpjpe_mm", "per_joint_pa_mpjpe_mm", "notes", "label", "trained", "flip", "root"):
        assert a[k] == b[k], k
    for f in ("per_action.csv", "per_joint.csv"):
        assert (base / "whole" / f).read_text() == (base / "merged" / f).read_text(), f
    assert merged.config_hash == whole.config_hash and merged.summary == whole.summary
    run = json.loads((base / "merged" / "run.json").read_text())
    assert run["status"] == "finished" and len(run["merged_from"]) == 2


def test_merged_folder_is_reused_by_the_same_whole_run(runs, data, model):
    base, _, _ = runs
    res = run_to_completion(BenchmarkRunner(_cfg(data, base / "merged"), loaded=[model]))
    assert res.status == "reused"


def test_merge_refuses_another_configuration_naming_the_field(runs, data, model, tmp_path):
    base, _, _ = runs
    r = run_shard(_cfg(data, tmp_path / "noflip", flip=False), 1, 2, loaded=[model])
    assert r.status == "finished"
    with pytest.raises(MergeError, match="flip"):
        merge_runs([base / "shard0", tmp_path / "noflip"], tmp_path / "out")


def test_merge_refuses_missing_and_repeated_shards(runs, tmp_path):
    base, _, _ = runs
    with pytest.raises(MergeError, match="missing"):
        merge_runs([base / "shard0"], tmp_path / "out")
    with pytest.raises(MergeError, match="twice"):
        merge_runs([base / "shard0", base / "shard0", base / "shard1"], tmp_path / "out")
    with pytest.raises(MergeError, match="not a finished shard run"):
        merge_runs([base / "shard0", tmp_path], tmp_path / "out")


def test_cli_shards_and_merge_equal_the_whole_run(data, tmp_path):
    """``bench h36m --shard I/N`` twice and ``bench merge`` give the whole run's numbers exactly."""
    from cli.app import main

    common = ["bench", "h36m", "--data", str(data), "--models", MODEL, "--batch-size", str(BATCH), "--workers", "0",
              "--device", "cpu", "--allow-untrained"]
    assert main([*common, "--out", str(tmp_path / "whole")]) == 0
    for i in range(2):
        assert main([*common, "--shard", f"{i}/2", "--out", str(tmp_path / f"s{i}")]) == 0
    assert main(["bench", "merge", str(tmp_path / "s1"), str(tmp_path / "s0"), "--out", str(tmp_path / "merged")]) == 0
    whole = json.loads((tmp_path / "whole" / MODEL / "results.json").read_text())
    merged = json.loads((tmp_path / "merged" / MODEL / "results.json").read_text())
    for key in ("mpjpe_mm", "per_action_mpjpe_mm", "per_joint_mpjpe_mm", "num_samples"):
        assert merged[key] == whole[key], key
    assert main(["bench", "merge", "--out", str(tmp_path / "m2")]) != 0  # no folders: a clear error, no traceback
