"""Which inference fast path wins per model, and does it still give the same joints?

    python -m bench.fast_paths [--models a,b] [--profiles p,q] [--batches 1,8] [--compile] [--quick] [--json OUT]

For each model and each profile of ``engine.inference.fast_paths`` (fp32 eager, bf16 autocast, channels_last,
channels_last+bf16, onnxruntime; torch.compile with ``--compile``; fp16 and CUDA graphs on CUDA) this measures the
median latency at each batch size, the speed-up over fp32 eager, and the parity with fp32 eager in nominal mm
(``engine.inference.fast_paths.parity_mm``: a 1000 mm-wide box). The fastest profile whose parity is within its
threshold
(``parity_threshold_mm``: 0.1 mm for fp32 paths and onnxruntime, 5 mm for half precision, 20 mm for RootNet's depth)
is marked per model. Inputs are crops of ``assets/still_person.jpg``; weights are the user's checkpoint when
present, otherwise random (labelled "untrained": speed is meaningful, parity only roughly so).

Writes ``bench/results/fast_paths-<device>.json`` (``-quick`` suffix with ``--quick``; the Models tab ignores these
files: they have no ``fastest_batch1`` key). Numbers are never asserted; CI runs ``--quick`` to prove the script works.
"""

from __future__ import annotations

import argparse
import copy
import math
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from bench import common
from engine.inference.fast_paths import (
    FastPath,
    get_profile,
    parity_mm,
    parity_threshold_mm,
    prepare,
    profiles_for,
)
from engine.inference.net_io import dummy_inputs, torch_built
from models import get_spec
from models.spec import ModelSpec

IMAGE = Path(__file__).resolve().parents[1] / "assets" / "still_person.jpg"
QUICK_MODEL = "mhp-lpski-w0.5"


# ------------------------------------------------------------------------------------------------------ inputs


def crops(spec: ModelSpec, n: int) -> tuple[torch.Tensor, str]:
    """n normalised crops [n,3,H,W] of the still image (shifted, every other one mirrored); noise if unreadable."""
    h, w = spec.input_hw
    try:
        import cv2

        from engine.inference.geometry import normalise

        img = cv2.imread(str(IMAGE))
        if img is None:
            raise OSError(f"cannot read {IMAGE}")
        rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        ih, iw = rgb.shape[:2]
        ch = int(ih * 0.9)
        cw = min(iw, int(ch * w / h))
        patches = []
        for i in range(n):
            x0 = min(iw - cw, max(0, (iw - cw) // 2 + (i - n // 2) * 12))
            y0 = (ih - ch) // 2
            p = cv2.resize(rgb[y0:y0 + ch, x0:x0 + cw], (w, h), interpolation=cv2.INTER_LINEAR)
            patches.append(p[:, ::-1] if i % 2 else p)
        return normalise(np.stack(patches).astype(np.float32), spec.normalisation), f"crops of {IMAGE.name}"
    except Exception as exc:  # noqa: BLE001 - fall back to noise, and say so in the results
        g = torch.Generator().manual_seed(0)
        return torch.randn(n, 3, h, w, generator=g), f"seeded noise ({exc})"


# ------------------------------------------------------------------------------------------------------ timing


def time_path(fp: FastPath, inputs: tuple[torch.Tensor, ...], iters: int, warmup: int) -> dict:
    """Median latency (ms) of one batched call, inputs (as the spec declares them) already on the device."""
    times = []
    for i in range(warmup + iters):
        fp.synchronize()
        t0 = time.perf_counter()
        fp(*inputs)
        fp.synchronize()
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1000.0)
    med = statistics.median(times)
    b = inputs[0].shape[0]
    return {"ms": round(med, 3), "per_crop_ms": round(med / b, 3), "crops_per_s": round(1000.0 * b / med, 2)}


def _num(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else round(v, 4)


def bench_model(name: str, profiles: list[str], batches: list[int], iters: int, warmup: int, device: torch.device,
                cache_dir: str | None) -> dict:
    """All profiles of one model: per-batch timings, speed-ups, parity, fastest within threshold."""
    from models.loader import load_model

    spec = get_spec(name)
    loaded = load_model(name, allow_untrained=True)
    n = max(batches)
    x_all, source = crops(spec, n)
    inputs = dummy_inputs(spec, n, image=x_all, device=device)  # the crops, plus RootNet's k_value
    ref = prepare(copy.deepcopy(loaded.net), spec, device, "fp32")(*inputs)
    out: dict = {"weights": loaded.label, "trained": loaded.trained, "input": source, "profiles": {}}
    base: dict[int, float] = {}
    for prof in profiles:
        cfg = get_profile(prof)
        row: dict = {"label": cfg.label, "threshold_mm": parity_threshold_mm(cfg, spec)}
        try:
            t0 = time.perf_counter()
            fp = prepare(copy.deepcopy(loaded.net), spec, device, cfg, weights_sha256=loaded.sha256,
                         cache_dir=cache_dir)
            par = parity_mm(spec, ref, fp(*inputs))
            row["prepare_s"] = round(time.perf_counter() - t0, 2)
            if fp.providers:
                row["providers"] = fp.providers
            row["parity_mm"] = _num(par)
            row["within"] = bool(math.isfinite(par) and par <= row["threshold_mm"])
            w = max(warmup, 2) if (cfg.compile or cfg.cuda_graphs) else warmup  # compile/record on the first calls
            row["batches"] = {}
            for b in batches:
                r = time_path(fp, tuple(t[:b] for t in inputs), iters, w)
                if prof == "fp32":
                    base[b] = r["ms"]
                r["speedup"] = round(base[b] / r["ms"], 3) if b in base and r["ms"] > 0 else None
                row["batches"][str(b)] = r
            del fp
        except Exception as exc:  # noqa: BLE001 - one failing path must not hide the others
            row.update(error=f"{type(exc).__name__}: {exc}", within=False)
        out["profiles"][prof] = row
        print(_line(name, prof, row, batches), flush=True)
    out["fastest"] = fastest(out["profiles"], batches[0])
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return out


def fp32_first(profiles: list[str]) -> list[str]:
    """``profiles`` with fp32 (the speed-up baseline) first, when it is there, so that it is timed first."""
    return ["fp32", *[p for p in profiles if p != "fp32"]] if "fp32" in profiles else profiles


def bench_models(names: list[str], profiles: list[str], batches: list[int], iters: int, warmup: int,
                 device: torch.device, cache_dir: str | None) -> dict[str, dict]:
    """``bench_model`` for each name (one that cannot be benchmarked is reported and left out), then the summary."""
    models: dict[str, dict] = {}
    for name in names:
        try:
            models[name] = bench_model(name, profiles, batches, iters, warmup, device, cache_dir)
        except Exception as exc:  # noqa: BLE001 - report and go on with the others
            print(f"  {name}: cannot benchmark ({type(exc).__name__}: {exc})", file=sys.stderr)
    print()
    print(summary(models, batches))
    return models


def fastest(profiles: dict[str, dict], batch: int) -> str | None:
    """The profile with the lowest latency at ``batch`` among those within their parity threshold."""
    ok = [(row["batches"][str(batch)]["ms"], p) for p, row in profiles.items()
          if row.get("within") and str(batch) in row.get("batches", {})]
    return min(ok)[1] if ok else None


# ------------------------------------------------------------------------------------------------------ report


def _line(name: str, prof: str, row: dict, batches: list[int]) -> str:
    if "error" in row:
        return f"  {name:22s} {prof:20s} FAILED: {row['error'][:100]}"
    cells = []
    for b in batches:
        r = row["batches"][str(b)]
        sp = f"{r['speedup']:.2f}x" if r.get("speedup") else "  -  "
        cells.append(f"b{b}: {r['ms']:9.2f} ms {sp:>6s}")
    par = "nan" if row["parity_mm"] is None else f"{row['parity_mm']:.4f}"
    ok = "ok" if row["within"] else f"> {row['threshold_mm']:g}"
    return f"  {name:22s} {prof:20s} {'  '.join(cells)}  parity {par:>9s} mm {ok}"


def summary(models: dict[str, dict], batches: list[int]) -> str:
    lines = [f"{'model':22s} {'fastest (parity ok)':22s} " + " ".join(f"{'b' + str(b) + ' ms':>10s}" for b in batches)
             + f" {'speed-up':>9s} {'parity mm':>10s}  weights"]
    for name, m in models.items():
        best = m.get("fastest")
        if best is None:
            lines.append(f"{name:22s} {'(none)':22s}")
            continue
        row = m["profiles"][best]
        ms = " ".join(f"{row['batches'][str(b)]['ms']:10.2f}" for b in batches)
        sp = row["batches"][str(batches[0])].get("speedup") or 1.0
        lines.append(f"{name:22s} {best + ' *':22s} {ms} {sp:8.2f}x {row['parity_mm'] or 0.0:10.4f}  {m['weights']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="", help=common.TORCH_MODELS_HELP)
    ap.add_argument("--profiles", default="", help="comma-separated profiles (default: all for the device)")
    ap.add_argument("--batches", default="1,8")
    common.add_timing_args(ap, iters=10, warmup=2)
    common.add_threads_arg(ap, "torch/onnxruntime")
    ap.add_argument("--compile", action="store_true", help="also time torch.compile (slow to compile on CPU)")
    ap.add_argument("--cache-dir", default=None, help="ONNX export cache (default: the fast-path cache)")
    ap.add_argument("--quick", action="store_true", help=f"CI smoke mode: {QUICK_MODEL}, batch 1, one iteration")
    ap.add_argument("--json", default=None, help="output JSON (default bench/results/fast_paths-<device>.json)")
    a = ap.parse_args(argv)
    common.set_threads(a.threads)
    from engine.inference.device import pick_device

    device = pick_device(a.device)
    common.like_the_app(device)
    names = common.torch_model_names(a.models)
    batches = common.csv_list(a.batches, int)
    profiles = common.csv_list(a.profiles) or profiles_for(device, a.compile)
    for p in profiles:
        get_profile(p).validate(device)  # fail early, before any model is built
    profiles = fp32_first(profiles)
    if a.quick:
        names, batches, a.iters, a.warmup = (names[:1] if a.models else [QUICK_MODEL]), [1], 1, 0
    for n in names:
        if not torch_built(get_spec(n)):
            print(f"  {n}: not a torch model (backend {get_spec(n).backend}); skipped", file=sys.stderr)
    names = [n for n in names if torch_built(get_spec(n))]
    import onnxruntime

    print(f"Fast paths on {common.device_name(device)} (torch {torch.__version__}, onnxruntime "
          f"{onnxruntime.__version__}); parity = max joint drift vs fp32 eager in nominal mm (1000 mm-wide box)")
    models = bench_models(names, profiles, batches, a.iters, a.warmup, device, a.cache_dir)
    rows = [{"model": m, "profile": p, "batch": int(b), **r, "parity_mm": row.get("parity_mm"),
             "within": row.get("within", False)}
            for m, mr in models.items() for p, row in mr["profiles"].items()
            for b, r in row.get("batches", {}).items()]
    result = {
        "device": common.device_name(device),
        "device_type": device.type,
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "iters": a.iters,
        "batches": batches,
        "profiles": profiles,
        "parity": "max over crops and joints of the 3-D joint distance to fp32 eager after soft-argmax, in nominal "
                  "mm: x,y cells * 1000 / output width, z bins * depth_range_mm / depth_bins (RootNet: depth mm)",
        "models": models,
        "fastest": {m: mr["fastest"] for m, mr in models.items()},
        "rows": rows,
    }
    common.save_result(result, a.json, common.RESULTS_ROOT, f"fast_paths-{common.device_slug(device)}",
                       "-quick" if a.quick else "", indent=1, end="", allow_nan=False)
    return 0 if models or not names else 1


if __name__ == "__main__":
    sys.exit(main())
