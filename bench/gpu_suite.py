"""Every GPU measurement in one command, within a time budget.

    python -m bench.gpu_suite [--budget-s 480] [--models a,b] [--samples 8695] [--json OUT] [--cpu-smoke]

Steps, in order (each starts only while budget is left; the suite stops cleanly between steps, and between models
within the first, when the budget is spent, and records what it skipped):

1. ``fast_paths``: per torch model, every fast-path profile for the device (``bench.fast_paths.bench_model``) at
   batch 1 and 8 with parity vs fp32 eager in nominal mm, and the fastest profile within its parity threshold;
2. ``pipeline``: ``Predictor.predict_frame`` end to end with 5 pose models + RootNet at 1 and 10 persons per frame
   (``bench.persons``: real bus.jpg persons), FPS, median, p95 (the person detector is not included: its weights are
   not bundled);
3. ``full_testset``: the full-size synthetic Protocol 2 run (``bench.full_testset``): wall time, crops/s against the
   pure forward, peak memory.

Targets: bs1 <= 5 ms per model with its best fast path; >= 60 FPS at one person and >= 30 FPS at ten
persons for the pipeline; the whole Protocol 2 test set for one model in under 60 s. Weights are random unless a
checkpoint is present (labelled). Without a CUDA device the suite measures nothing and exits 0 with a message;
``--cpu-smoke`` runs every step on the CPU at tiny sizes to exercise the code path (its test: tests/bench/).
Writes ``bench/results/gpu_suite-<gpu>.json`` (not ``<gpu>.json``: that name is ``bench.model_speed``'s, read by the
Models tab).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

from bench.common import RESULTS_ROOT, device_name, device_slug
from models.fileio import atomic_write_json

PIPELINE_MODELS = ("posenet-r50", "convnextpose-xs", "mhp-lpski", "integral-r50", "mhp-lpski-w0.5")
ROOTNET = "rootnet-r50"
FAST_PATH_MODELS = ("posenet-r50", "convnextpose-xs", "convnextpose-s", "mhp-lpski", "mhp-lpski-w0.5",
                    "integral-r50", ROOTNET)
NO_CUDA = "no CUDA device: nothing measured (run it on a GPU machine; --cpu-smoke exercises the code on the CPU)"


class Budget:
    def __init__(self, seconds: float) -> None:
        self.seconds, self.t0 = float(seconds), time.perf_counter()

    @property
    def used(self) -> float:
        return time.perf_counter() - self.t0

    @property
    def left(self) -> float:
        return self.seconds - self.used


def step_fast_paths(device: torch.device, names: list[str], smoke: bool, budget: Budget, skipped: list[str]) -> dict:
    from bench.fast_paths import bench_model
    from engine.inference.fast_paths import profiles_for

    profiles = ["fp32"] if smoke else profiles_for(device)
    batches = [1] if smoke else [1, 8]
    iters, warmup = (1, 0) if smoke else (20, 3)
    out = {}
    for n in names:
        if budget.left <= 0:
            skipped.append(f"fast_paths/{n}")
            continue
        try:
            m = bench_model(n, profiles, batches, iters, warmup, device, None)
        except Exception as exc:  # noqa: BLE001 - one model must not stop the suite
            out[n] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        best = m.get("fastest")
        m["best_bs1_ms"] = m["profiles"][best]["batches"]["1"]["ms"] if best else None
        m["target_bs1_ms"] = 5.0
        out[n] = m
    return out


def step_pipeline(device: torch.device, names: list[str], smoke: bool, budget: Budget) -> dict:
    from bench.persons import frame_with_persons, time_frames
    from engine.inference.predictor import Predictor
    from models.loader import load_model

    persons = [1, 2] if smoke else [1, 10]
    iters, warmup = (2, 1) if smoke else (100, 10)
    models = [load_model(n, allow_untrained=True) for n in names]
    rootnet = load_model(ROOTNET, allow_untrained=True)
    pred = Predictor(models, rootnet, device=str(device))
    rows = []
    for p in persons:
        if budget.left <= 0:
            break
        frame, boxes = frame_with_persons(p)
        rows.append({"persons": p, **time_frames(pred, frame, boxes, iters, warmup)})
        print(f"  pipeline {len(models)} models + RootNet, {p:2d} persons: {rows[-1]['fps']:.1f} FPS, median "
              f"{rows[-1]['median_ms']} ms, p95 {rows[-1]['p95_ms']} ms", flush=True)
    return {"models": {m.spec.name: m.label for m in models}, "rootnet": rootnet.label, "detector": "not included",
            "rows": rows, "targets_fps": {"1": 60, "10": 30}}


def step_full_testset(device: torch.device, samples: int, smoke: bool) -> dict:
    from bench.full_testset import MODEL, run_full
    from bench.runner_throughput import forward_throughput
    from engine.h36m.synthetic import generate
    from engine.inference.predictor import Predictor
    from models.loader import load_model

    name = MODEL if smoke else "posenet-r50"
    batch = 4 if smoke else 64
    workers = 0 if smoke else max(1, min(8, (os.cpu_count() or 2) - 1))
    with tempfile.TemporaryDirectory(prefix="posearena-gpu-suite-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        info = generate(tmp / "data", samples=samples, seed=0)
        gen_s = time.perf_counter() - t0
        model = load_model(name, allow_untrained=True)
        fwd = forward_throughput(Predictor([model], None, device=str(device), flip_test=True), name, batch,
                                 0.3 if smoke else 3.0, device)
        run = run_full(tmp / "data", tmp / "out", model, batch, workers, str(device), True, info.num_protocol2)
    ratio = run["steady_samples_per_s"] / fwd if run["steady_samples_per_s"] else None
    return {"model": name, "weights": model.label, "batch_size": batch, "workers": workers, "flip": True,
            "synthetic_generation_s": round(gen_s, 2), "forward_crops_per_s": round(fwd, 2),
            "runner_vs_forward": round(ratio, 3) if ratio else None, "target_wall_s": 60, **run}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.gpu_suite", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget-s", type=float, default=480.0, help="total time budget in seconds (default 8 min)")
    ap.add_argument("--models", default="", help="fast-path models (default: the pipeline's five and RootNet)")
    ap.add_argument("--samples", type=int, default=8695, help="full-size run samples (default: the real count)")
    ap.add_argument("--cpu-smoke", action="store_true", help="run every step on the CPU at tiny sizes")
    ap.add_argument("--json", default=None, help="output (default bench/results/gpu_suite-<gpu>.json)")
    a = ap.parse_args(argv)
    if not a.cpu_smoke and not torch.cuda.is_available():
        print(NO_CUDA)
        return 0
    smoke = a.cpu_smoke
    device = torch.device("cpu" if smoke else "cuda")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    budget = Budget(a.budget_s)
    names = [n for n in a.models.split(",") if n] or (["mhp-lpski-w0.5"] if smoke else list(FAST_PATH_MODELS))
    pipe = ["mhp-lpski-w0.5"] if smoke else list(PIPELINE_MODELS)
    samples = min(a.samples, 8) if smoke else a.samples
    print(f"GPU suite on {device_name(device)}{' (CPU smoke: tiny sizes, numbers meaningless)' if smoke else ''}; "
          f"budget {a.budget_s:.0f} s", flush=True)
    result: dict = {"device": device_name(device), "device_type": device.type, "cpu_smoke": smoke,
                    "torch": torch.__version__, "python": platform.python_version(), "budget_s": a.budget_s,
                    "date": time.strftime("%Y-%m-%dT%H:%M:%S"), "steps": {}, "step_s": {}, "skipped": [],
                    "weights": "random (untrained) unless a checkpoint is present; labels per model"}
    steps = [("fast_paths", lambda: step_fast_paths(device, names, smoke, budget, result["skipped"])),
             ("pipeline", lambda: step_pipeline(device, pipe, smoke, budget)),
             ("full_testset", lambda: step_full_testset(device, samples, smoke))]
    for name, fn in steps:
        if budget.left <= 0:
            result["skipped"].append(name)
            print(f"  {name}: skipped, the {a.budget_s:.0f} s budget is spent", flush=True)
            continue
        t0 = time.perf_counter()
        print(f"{name} ...", flush=True)
        try:
            result["steps"][name] = fn()
        except Exception as exc:  # noqa: BLE001 - record it and go on: the other steps still count
            result["steps"][name] = {"error": f"{type(exc).__name__}: {exc}"}
            print(f"  {name} FAILED: {exc}", file=sys.stderr)
        result["step_s"][name] = round(time.perf_counter() - t0, 2)
    result["total_s"] = round(budget.used, 2)
    result["within_budget"] = budget.left >= 0
    from engine.h36m.exports import software_versions

    result["software_versions"] = software_versions()
    out = Path(a.json) if a.json else RESULTS_ROOT / f"gpu_suite-{device_slug(device)}{'-smoke' if smoke else ''}.json"
    atomic_write_json(out, result, indent=1, end="", allow_nan=False)
    print(f"total {result['total_s']} s; skipped: {', '.join(result['skipped']) or 'none'}; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
