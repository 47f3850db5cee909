"""Issue 28 items 3 and 8: ``evaluate --out`` never overwrites a finished benchmark folder (or earlier results)
without ``--overwrite``, and with it the benchmark's ``run.json`` goes, so the folder no longer claims the benchmark;
on a full disk evaluate leaves no results that look finished (all files appear together, or none)."""

from __future__ import annotations

import json

from tests.reliability.bench_runs import MODEL, bench_runs, copy_run, snapshot, syn_data  # noqa: F401
from tests.reliability.complete import assert_complete_or_absent, assert_folder_complete_or_absent
from tests.reliability.fault_helpers import cli, one_error

RESULTS = ("results.json", "results.csv", "per_action.csv", "per_joint.csv", "report.md")


def _evaluate(data, pred, out, *extra, fsize: int = 0):
    return cli(["evaluate", "--data", data, "--protocol", "2", "--predictions", pred, "--out", out, *extra],
               fsize=fsize, timeout=240)


def test_evaluate_refuses_a_finished_benchmark_folder(syn_data, bench_runs, tmp_path):  # noqa: F811
    out = copy_run(bench_runs["other"], tmp_path / "bench")
    pred = tmp_path / "p.h5"
    pred.write_bytes((out / MODEL / "predictions.h5").read_bytes())
    before = snapshot(out)
    proc = _evaluate(syn_data, pred, out)
    assert proc.returncode == 1, proc.stderr
    one_error(proc.stderr, str(out), "benchmark run", "--overwrite")
    assert snapshot(out) == before
    proc = _evaluate(syn_data, pred, out, "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert not (out / "run.json").exists()  # nothing left claiming the benchmark over evaluate's numbers
    assert json.loads((out / "results.json").read_text())
    rerun = _evaluate(syn_data, pred, out)
    assert rerun.returncode == 1
    one_error(rerun.stderr, "already holds results")


def test_evaluate_on_a_full_disk_leaves_no_results_without_plots(syn_data, bench_runs, tmp_path):  # noqa: F811
    pred = bench_runs["other"] / MODEL / "predictions.h5"
    out = tmp_path / "eval"
    proc = _evaluate(syn_data, pred, out, fsize=30_000)
    assert proc.returncode == 1, proc.stderr
    one_error(proc.stderr, "cannot write")
    for name in RESULTS:
        assert not assert_complete_or_absent(out / name), name
    assert_folder_complete_or_absent(out)
    assert not out.exists() or not any(p for p in out.rglob("*") if p.is_file())
