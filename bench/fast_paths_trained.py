"""Fast paths with trained weights: what can be measured, and the measurement.

    python -m bench.fast_paths_trained [--threads 1,2] [--models a,b] [--profiles p,q] [--batches 1,8]
                                       [--iters 10] [--warmup 2] [--quick] [--note TEXT] [--json OUT]

The one trained model available offline is the bundled ``blazepose-full``, and it is **not a torch net**: it is a
LiteRT (``.tflite``) file with a fixed ``[1,256,256,3]`` input, run one crop at a time by ``BlazePoseNet``. The torch
fast paths of ``engine.inference.fast_paths`` (bf16 autocast, channels_last, torch.compile, CUDA graphs, onnxruntime
export) apply to torch nets only; the Predictor runs a non-torch model on the plain fp32 path whatever the profile.
What *can* be measured with its real weights is its one knob, the LiteRT interpreter's thread count: speed at each
count and the parity in nominal mm (``fast_paths.parity_mm`` on the heatmaps it encodes) against 2 threads, the
default. Part two measures every torch profile of the torch nets exactly as ``bench.fast_paths`` does (its
``bench_model``: median latency, speed-up over fp32 eager, parity vs fp32 eager in nominal mm), on real crops of
``assets/still_person.jpg``, with the user's checkpoint when present, else random weights, labelled "untrained"
(speed meaningful, parity only roughly so: random nets have flat heatmaps).

Writes ``bench/results/fast_paths_trained-<device>.json`` (``-quick`` suffix with ``--quick``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch

from bench import common
from bench.fast_paths import bench_models, crops, fp32_first

TRAINED = "blazepose-full"
TORCH_MODELS = ("mhp-lpski-w0.5", "convnextpose-xs")


def blazepose_threads(threads: list[int], batches: list[int], iters: int, warmup: int, log=print) -> dict:
    """Latency per LiteRT thread count at each batch (crops run one by one) and parity vs 2 threads in mm."""
    from engine.inference.fast_paths import parity_mm
    from models import get_spec
    from models.blazepose.net import BlazePoseNet
    from models.blazepose.runtime import BlazePoseLandmarker
    from models.loader import load_model

    spec = get_spec(TRAINED)
    lm = load_model(TRAINED)  # the bundled file: trained, no allow_untrained needed
    n = max(batches)
    x, source = crops(spec, n)
    arch = spec.arch

    def net(t: int) -> BlazePoseNet:
        return BlazePoseNet(BlazePoseLandmarker(num_threads=t), int(arch["depth_bins"]), float(arch["depth_range_mm"]),
                            tuple(arch["output_hw"]))

    with torch.inference_mode():
        ref = net(2)(x)
    out: dict = {"model": TRAINED, "weights": lm.label, "trained": bool(lm.trained), "backend": spec.backend,
                 "input": source, "reference": "2 LiteRT threads (the default)", "threads": {}}
    for t in threads:
        m = net(t)
        with torch.inference_mode():
            par = parity_mm(spec, ref, m(x))
            row: dict = {"parity_mm": round(par, 4), "batches": {}}
            for b in batches:
                times = []
                for i in range(warmup + iters):
                    t0 = time.perf_counter()
                    m(x[:b])
                    if i >= warmup:
                        times.append((time.perf_counter() - t0) * 1e3)
                med = statistics.median(times)
                row["batches"][str(b)] = {"ms": round(med, 3), "per_crop_ms": round(med / b, 3),
                                          "crops_per_s": round(1000.0 * b / med, 2)}
        out["threads"][str(t)] = row
        log(f"  {TRAINED} (trained, LiteRT) {t} thread(s): " + "  ".join(
            f"b{b}: {r['ms']:8.2f} ms" for b, r in row["batches"].items()) + f"  parity {par:.4f} mm vs 2 threads")
    b0 = str(batches[0])
    out["fastest_threads"] = min(out["threads"], key=lambda t: out["threads"][t]["batches"][b0]["ms"])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.fast_paths_trained", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", default="1,2", help="LiteRT thread counts for blazepose-full")
    ap.add_argument("--models", default=",".join(TORCH_MODELS), help="torch models (random weights unless present)")
    ap.add_argument("--profiles", default="", help="default: every profile for the device except compile")
    ap.add_argument("--batches", default="1,8")
    common.add_timing_args(ap, iters=10, warmup=2)
    ap.add_argument("--cache-dir", default=None, help="ONNX export cache (default: the fast-path cache)")
    ap.add_argument("--quick", action="store_true", help="smoke: 1 thread count, mhp-lpski-w0.5, fp32+bf16, b1")
    common.add_note_json_args(ap)
    a = ap.parse_args(argv)
    from engine.inference.device import pick_device
    from engine.inference.fast_paths import profiles_for

    device = pick_device(a.device)
    common.like_the_app(device)
    threads = common.csv_list(a.threads, int)
    names = common.csv_list(a.models)
    batches = common.csv_list(a.batches, int)
    profiles = fp32_first(common.csv_list(a.profiles) or profiles_for(device))
    if a.quick:
        threads, names, profiles, batches, a.iters, a.warmup = [1], names[:1], ["fp32", "bf16"], [1], 2, 0
    load0 = os.getloadavg()
    print(f"Fast paths with trained weights on {common.device_name(device)} (load {load0[0]:.1f})")
    print(f"1) {TRAINED}: the bundled trained model is LiteRT, not torch: torch fast paths do not apply; its thread "
          "count does")
    bp = blazepose_threads(threads, batches, a.iters, a.warmup)
    print("2) torch nets, every profile (weights: checkpoint if present, else random = untrained)")
    models = bench_models(names, profiles, batches, a.iters, a.warmup, device, a.cache_dir)
    info = common.machine_info(device, load0, a.note)
    info = {("torch_threads" if k == "threads" else k): v for k, v in info.items()}  # this file's name for it
    result = {
        "what": "fast-path speed and parity: the bundled trained model's LiteRT threads; torch profiles of torch nets",
        "trained_model": bp,
        "torch_models": models,
        "torch_weights_note": "untrained (random) unless a checkpoint is present: speed meaningful, parity rough",
        "not_applicable": f"{TRAINED} is a {bp['backend']} model: bf16, channels_last, compile, CUDA graphs and "
                          "onnxruntime are torch fast paths and do not change how it runs",
        **info, "iters": a.iters, "batches": batches, "profiles": profiles, "quick": a.quick,
    }
    common.save_result(result, a.json, common.RESULTS_ROOT, f"fast_paths_trained-{common.device_slug(device)}",
                       "-quick" if a.quick else "", indent=1, end="", allow_nan=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
