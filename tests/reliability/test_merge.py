"""Issue 28 items 4 and 13: ``bench merge --out`` never replaces another configuration's finished results without
``--overwrite`` and never writes into one of its own shards; a shard with a cut ``predictions.h5`` is one error
naming the file; a merge on a full disk leaves the output complete or absent."""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability.bench_runs import MODEL, bench_runs, copy_run, snapshot, syn_data  # noqa: F401
from tests.reliability.complete import assert_complete_or_absent, assert_folder_complete_or_absent
from tests.reliability.fault_helpers import cli, one_error


def _merge(shards: list[Path], out: Path, *extra: str, fsize: int = 0):
    return cli(["bench", "merge", *shards, "--out", out, *extra], fsize=fsize, timeout=240)


def test_merge_refuses_to_replace_another_configurations_results(bench_runs, tmp_path):  # noqa: F811
    out = copy_run(bench_runs["other"], tmp_path / "other")
    before = snapshot(out)
    proc = _merge([bench_runs["shard0"], bench_runs["shard1"]], out)
    assert proc.returncode == 1, proc.stderr
    one_error(proc.stderr, str(out), "another configuration", "--overwrite")
    assert snapshot(out) == before
    proc = _merge([bench_runs["shard0"], bench_runs["shard1"]], out, "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "run.json").read_text())["merged_from"]


def test_merge_again_into_its_own_output_is_allowed(bench_runs, tmp_path):  # noqa: F811
    shards = [bench_runs["shard0"], bench_runs["shard1"]]
    for _ in range(2):
        proc = _merge(shards, tmp_path / "merged")
        assert proc.returncode == 0, proc.stderr
    assert_folder_complete_or_absent(tmp_path / "merged")


def test_merge_into_one_of_its_shards_is_refused(bench_runs, tmp_path):  # noqa: F811
    s0 = copy_run(bench_runs["shard0"], tmp_path / "s0")
    before = snapshot(s0)
    proc = _merge([s0, bench_runs["shard1"]], s0, "--overwrite")
    assert proc.returncode == 1, proc.stderr
    one_error(proc.stderr, "is the shard folder", "choose another --out")
    assert snapshot(s0) == before


def test_merge_with_a_cut_predictions_file_is_one_error(bench_runs, tmp_path):  # noqa: F811
    s1 = copy_run(bench_runs["shard1"], tmp_path / "s1")
    pred = s1 / MODEL / "predictions.h5"
    pred.write_bytes(pred.read_bytes()[: pred.stat().st_size // 2])
    proc = _merge([bench_runs["shard0"], s1], tmp_path / "merged")
    assert proc.returncode == 1, proc.stderr
    one_error(proc.stderr, str(pred), "shard 1/2", "rerun that shard")
    assert not (tmp_path / "merged" / "run.json").exists()


def test_merge_on_a_full_disk_leaves_nothing_that_looks_finished(bench_runs, tmp_path):  # noqa: F811
    out = tmp_path / "merged"
    proc = _merge([bench_runs["shard0"], bench_runs["shard1"]], out, fsize=20_000)
    assert proc.returncode == 1, proc.stderr
    one_error(proc.stderr, "cannot write")
    for name in ("run.json", "results.json", "report.md", "results.csv", f"{MODEL}/results.json"):
        assert not assert_complete_or_absent(out / name), name
    assert_folder_complete_or_absent(out)
