"""Issue-20 benches run: the GPU suite's no-CUDA exit and CPU smoke path, the persons frames and ratios (fast)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bench import gpu_suite, persons

pytestmark = pytest.mark.usefixtures("one_thread")


def test_gpu_suite_without_cuda_says_so_and_exits_0(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_suite.main(["--json", str(tmp_path / "x.json")]) == 0
    assert "no CUDA device" in capsys.readouterr().out
    assert not (tmp_path / "x.json").exists()


def test_gpu_suite_cpu_smoke_runs_every_step(tmp_path):
    out = tmp_path / "suite.json"
    assert gpu_suite.main(["--cpu-smoke", "--samples", "8", "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["cpu_smoke"] and r["device_type"] == "cpu"
    assert set(r["steps"]) == {"fast_paths", "pipeline", "full_testset"}, r["skipped"]
    for step in r["steps"].values():
        assert "error" not in step, step
    assert r["steps"]["fast_paths"]["mhp-lpski-w0.5"]["best_bs1_ms"] > 0
    assert [row["persons"] for row in r["steps"]["pipeline"]["rows"]] == [1, 2]
    assert r["steps"]["full_testset"]["samples"] == 8


def test_gpu_suite_stops_cleanly_when_the_budget_is_spent(tmp_path):
    out = tmp_path / "suite.json"
    assert gpu_suite.main(["--cpu-smoke", "--budget-s", "0", "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["steps"] == {} and {"fast_paths", "pipeline", "full_testset"} <= set(r["skipped"])


def test_persons_frames_hold_real_persons():
    for n in (1, 4, 8, 10):
        frame, boxes = persons.frame_with_persons(n)
        assert boxes.shape == (n, 4)
        assert np.all(boxes[:, 0] + boxes[:, 2] <= frame.shape[1])
        assert np.all(boxes[:, 1] + boxes[:, 3] <= frame.shape[0])


def test_one_more_person_ratio():
    rows = [{"persons": 1, "median_ms": 10.0}, {"persons": 2, "median_ms": 15.0}, {"persons": 5, "median_ms": 30.0}]
    assert persons.one_more_person(rows) == {"2": 0.5, "5": 0.5}


def test_persons_quick_writes_json(tmp_path):
    out = tmp_path / "p.json"
    assert persons.main(["--quick", "--models", "mhp-lpski-w0.5", "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["sets"][0]["models"] == ["mhp-lpski-w0.5"] and "2" in r["sets"][0]["one_more_person_ratio"]


def test_persons_micro_batch_and_detector_reach_the_frames(tmp_path):
    out = tmp_path / "p.json"
    assert persons.main(["--quick", "--models", "mhp-lpski-w0.5", "--micro-batch", "1", "--detect", "160",
                         "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["micro_batch"] == 1 and "YOLO" in r["detector"]
    assert all(row["parts_median_ms"]["detect"] > 0 for row in r["sets"][0]["rows"])


def test_micro_batch_quick_writes_per_crop_costs(tmp_path):
    from bench import micro_batch

    out = tmp_path / "mb.json"
    assert micro_batch.main(["--quick", "--models", "mhp-lpski-w0.5", "--device", "cpu", "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    row = r["rows"][0]
    assert row["model"] == "mhp-lpski-w0.5" and row["profile"] == "fp32" and "untrained" in row["weights"]
    assert set(row["per_crop_ms"]) == {"1", "2", "4"} and row["ratio_to_batch1"]["1"] == 1.0
    assert row["best_batch"] in (1, 2, 4) and row["default_micro_batch"] == r["cpu_micro_batch"]
