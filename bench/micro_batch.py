"""What one forward costs per crop as the batch grows: the measurement behind ``INFERENCE.cpu_micro_batch`` = 0.

    python -m bench.micro_batch [--models a,b] [--profiles fp32,channels_last+bf16] [--batches 1,2,4,8,16,32]
                                [--iters 7] [--warmup 2] [--device auto] [--threads N] [--quick] [--note T] [--json OUT]

Each (model, profile) is prepared once through ``engine.inference.fast_paths.prepare`` with ``micro_batch=0`` (so
the batch really goes through in one call) and timed at every batch size, all in one run: per-crop median ms, its
ratio to batch 1 (what one more crop costs relative to a single one, the persons target's unit) and the batch with
the lowest per-crop cost. Then the largest batch in chunks of 4, the cap once tried as a default. Freed memory is
kept as in a CPU predictor (``engine.inference.cpu_memory``; without it, page faults made batches of 8+ cost more
per crop than 4). Weights are random (speed does not depend on them).
Writes ``bench/results/micro_batch/<device>.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch

from bench import common
from engine.defaults import INFERENCE

RESULTS_DIR = common.RESULTS_ROOT / "micro_batch"
CHUNK = 4  # the cap compared against the whole batch
DEFAULT_MODELS = ("mhp-lpski-w0.5", "mhp-lpski", "convnextpose-xs", "convnextpose-s", "rootnet-r50")


def time_call(fp, inputs: tuple[torch.Tensor, ...], iters: int, warmup: int) -> float:
    """Median wall ms of ``fp(*inputs)`` over ``iters`` calls after ``warmup``."""
    times = []
    for i in range(warmup + iters):
        t0 = time.perf_counter()
        fp(*inputs)
        fp.synchronize()
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def measure(name: str, profile: str, batches: list[int], iters: int, warmup: int, device: torch.device) -> dict:
    """Per-crop cost of model ``name`` under ``profile`` at each batch size, and at the largest through the default."""
    from engine.inference.fast_paths import default_micro_batch, prepare
    from engine.inference.net_io import dummy_inputs
    from models.loader import load_model

    lm = load_model(name, allow_untrained=True)
    fp = prepare(lm, lm.spec, device, profile, micro_batch=0)
    per_crop = {}
    for b in batches:
        per_crop[b] = time_call(fp, dummy_inputs(lm.spec, b, device=device), iters, warmup) / b
    best = min(per_crop, key=per_crop.get)
    big = max(batches)
    fp.micro_batch = CHUNK
    chunked = time_call(fp, dummy_inputs(lm.spec, big, device=device), iters, warmup) / big
    one = per_crop[min(batches)]
    return {
        "model": name, "profile": profile, "weights": lm.label,
        "per_crop_ms": {str(b): round(v, 2) for b, v in per_crop.items()},
        "ratio_to_batch1": {str(b): round(v / one, 3) for b, v in per_crop.items()},
        "best_batch": best, "default_micro_batch": default_micro_batch(device),
        f"per_crop_ms_at_{big}_in_chunks_of_{CHUNK}": round(chunked, 2),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.micro_batch", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS))
    ap.add_argument("--profiles", default="fp32,channels_last+bf16")
    ap.add_argument("--batches", default="1,2,4,8,16,32")
    common.add_timing_args(ap, iters=7, warmup=2)
    common.add_threads_arg(ap)
    ap.add_argument("--quick", action="store_true", help="smoke run: first model, fp32, batches 1,2,4, 2 iterations")
    common.add_note_json_args(ap)
    a = ap.parse_args(argv)
    common.set_threads(a.threads)
    from engine.inference.device import pick_device

    device = pick_device(a.device)
    common.like_the_app(device)
    names, profiles = common.csv_list(a.models), common.csv_list(a.profiles)
    batches = sorted(set(common.csv_list(a.batches, int)))
    if a.quick:
        names, profiles, batches, a.iters, a.warmup = names[:1], profiles[:1], [1, 2, 4], 2, 1
    if not batches or batches[0] < 1:
        ap.error("--batches: whole numbers >= 1")
    load0 = os.getloadavg()
    print(f"Per-crop forward cost by batch size on {common.device_name(device)} (torch {torch.__version__}, "
          f"load {load0[0]:.1f}); default CPU micro-batch {INFERENCE.cpu_micro_batch}")
    rows = []
    for name in names:
        for prof in profiles:
            r = measure(name, prof, batches, a.iters, a.warmup, device)
            rows.append(r)
            cells = " ".join(f"b{b} {r['per_crop_ms'][str(b)]:6.1f} ({r['ratio_to_batch1'][str(b)]:.2f})"
                             for b in batches)
            print(f"  {name:16s} {prof:20s} {cells}  best b{r['best_batch']}; b{max(batches)} in chunks of {CHUNK}: "
                  f"{r[f'per_crop_ms_at_{max(batches)}_in_chunks_of_{CHUNK}']:.1f} ms/crop", flush=True)
    result = {
        "what": "median forward ms per crop by batch size (one call, micro_batch=0), and ratio to batch 1",
        **common.machine_info(device, load0, a.note), "quick": a.quick, "batches": batches, "rows": rows,
        "cpu_micro_batch": INFERENCE.cpu_micro_batch,
    }
    common.save_result(result, a.json, RESULTS_DIR, common.device_slug(device), "-quick" if a.quick else "",
                       indent=1, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
