"""Per-model forward speed: latency and throughput at several batch sizes, fp32 vs autocast vs channels_last.

    python -m bench.model_speed [--models a,b] [--batches 1,8,32] [--iters N] [--quick] [--json OUT]

Prints a table and writes JSON (default ``bench/results/<device-slug>.json``), which ``python main.py models`` and
the GUI's Models tab read for their "speed" column. Weights are random (speed does not depend on them); results say
so. Numbers are not asserted anywhere: CI runs ``--quick`` only to prove the script works.
"""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import torch

from engine.inference.net_io import dummy_inputs, torch_built
from models import all_specs, build, get_spec
from models.fileio import atomic_write_json

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU x{torch.get_num_threads()} threads"


def slugify(name: str) -> str:
    """A device name as a file-name stem: lower case, runs of other characters as one dash."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def device_slug(device: torch.device) -> str:
    return slugify(device_name(device))


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
        "device": device_name(device),
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
    ap.add_argument("--models", default="", help="comma-separated names (default: every torch model)")
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--modes", default="fp32,bf16,channels_last", help="fp32,bf16,fp16,channels_last")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--quick", action="store_true", help="CI smoke mode: one small model, batch 1, 1 iteration")
    ap.add_argument("--json", default=None, help="output JSON path (default bench/results/<device>.json)")
    a = ap.parse_args(argv)
    device = torch.device("cuda" if a.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if a.device == "auto" else a.device))
    names = [n for n in a.models.split(",") if n] or [s.name for s in all_specs() if torch_built(s)]
    batches = [int(b) for b in a.batches.split(",")]
    modes = a.modes.split(",")
    if a.quick:
        names, batches, modes, a.iters, a.warmup = names[:1] if a.models else ["mhp-lpski-w0.5"], [1], ["fp32"], 1, 0
    print(f"Forward speed on {device_name(device)} (torch {torch.__version__}), random weights")
    result = run(names, batches, modes, a.iters, a.warmup, device)
    out = Path(a.json) if a.json else RESULTS_DIR / f"{device_slug(device)}{'-quick' if a.quick else ''}.json"
    atomic_write_json(out, result, indent=1, end="")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
