"""Per-model forward speed: latency and throughput at several batch sizes, fp32 vs autocast vs channels_last.

    python -m bench.model_speed [--models a,b] [--batches 1,8,32] [--iters N] [--quick] [--json OUT]

Prints a table and writes JSON (default ``bench/results/<device-slug>.json``), which ``python main.py models`` and
the GUI's Models tab read for their "speed" column. Weights are random (speed does not depend on them); results say
so. Numbers are not asserted anywhere: CI runs ``--quick`` only to prove the script works.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from contextlib import nullcontext

import torch

from bench import common
from engine.inference.net_io import dummy_inputs, torch_built
from models import build, get_spec


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _inputs(spec, batch: int, device: torch.device, channels_last: bool) -> tuple[torch.Tensor, ...]:
    """The spec's declared inputs (engine.inference.net_io), the image in the layout being timed."""
    x, *rest = dummy_inputs(spec, batch, device=device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return (x, *rest)


def time_forward(net, spec, batch: int, device: torch.device, mode: str, iters: int, warmup: int) -> dict:
    """Median latency (ms) of one batched forward in the given mode (fp32 | bf16 | fp16 | channels_last)."""
    cl = mode == "channels_last"
    if cl:
        net = net.to(memory_format=torch.channels_last)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(mode)
    ctx = torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()
    args = _inputs(spec, batch, device, cl)
    times = []
    with torch.inference_mode(), ctx:
        for i in range(warmup + iters):
            _sync(device)
            t0 = time.perf_counter()
            net(*args)
            _sync(device)
            if i >= warmup:
                times.append((time.perf_counter() - t0) * 1000.0)
    if cl:
        net.to(memory_format=torch.contiguous_format)
    med = statistics.median(times)
    return {"ms": round(med, 3), "per_crop_ms": round(med / batch, 3), "crops_per_s": round(1000.0 * batch / med, 2)}


def run(names: list[str], batches: list[int], modes: list[str], iters: int, warmup: int, device: torch.device) -> dict:
    rows = []
    for name in names:
        spec = get_spec(name)
        if not torch_built(spec):
            continue
        try:
            torch.manual_seed(0)
            net = build(spec).to(device).eval()
        except Exception as exc:  # noqa: BLE001 - report and go on with the others
            print(f"  {name}: cannot build ({exc})", file=sys.stderr)
            continue
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        for batch in batches:
            for mode in modes:
                if mode == "fp16" and device.type != "cuda":
                    continue
                r = time_forward(net, spec, batch, device, mode, iters, warmup)
                rows.append({"model": name, "batch": batch, "mode": mode, **r})
                print(f"  {name:24s} b{batch:<3d} {mode:13s} {r['ms']:9.2f} ms  {r['crops_per_s']:8.1f} crops/s",
                      flush=True)
        if device.type == "cuda":
            rows[-1]["peak_mem_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
        del net
    return {
        "device": common.device_name(device),
        "device_type": device.type,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "weights": "random (untrained): speed only",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "iters": iters,
        "rows": rows,
        "fastest_batch1": _fastest(rows),
    }


def _fastest(rows: list[dict]) -> dict:
    best: dict[str, dict] = {}
    for r in rows:
        if r["batch"] != 1:
            continue
        if r["model"] not in best or r["ms"] < best[r["model"]]["ms"]:
            best[r["model"]] = {"mode": r["mode"], "ms": r["ms"]}
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="", help=common.TORCH_MODELS_HELP)
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--modes", default="fp32,bf16,channels_last", help="fp32,bf16,fp16,channels_last")
    common.add_timing_args(ap, iters=10, warmup=2)
    ap.add_argument("--quick", action="store_true", help="CI smoke mode: one small model, batch 1, 1 iteration")
    ap.add_argument("--json", default=None, help="output JSON path (default bench/results/<device>.json)")
    a = ap.parse_args(argv)
    device = torch.device("cuda" if a.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if a.device == "auto" else a.device))
    common.like_the_app(device)
    names = common.torch_model_names(a.models)
    batches = [int(b) for b in a.batches.split(",")]
    modes = a.modes.split(",")
    if a.quick:
        names, batches, modes, a.iters, a.warmup = names[:1] if a.models else ["mhp-lpski-w0.5"], [1], ["fp32"], 1, 0
    print(f"Forward speed on {common.device_name(device)} (torch {torch.__version__}), random weights")
    result = run(names, batches, modes, a.iters, a.warmup, device)
    common.save_result(result, a.json, common.RESULTS_ROOT, common.device_slug(device), "-quick" if a.quick else "",
                       indent=1, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
