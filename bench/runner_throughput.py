"""Does the benchmark's data loading keep up with the network? Runner throughput vs pure forward throughput.

    python -m bench.runner_throughput [--quick] [--model NAME] [--batch-size B] [--workers N] [--samples N]
                                      [--device auto] [--flip/--no-flip] [--json OUT]

Writes a synthetic Human3.6M (3DMPPE layout, JPEG images of H36M size) to a temporary folder, then measures at one
batch size: (1) the forward throughput of the model on ready-made device tensors (``Predictor.infer_cells``, flip
test included when on), and (2) the steady-state throughput of ``BenchmarkRunner`` over the data set (image decoding
and cropping in worker processes, transfer, inference, decoding to camera mm, per-batch saving), first batch (worker
start-up) excluded. Prints the ratio (target >= 0.8) and writes JSON (default ``bench/results/runner/<device>.json``).
Weights are random: speed does not depend on them.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from bench.common import RESULTS_ROOT, device_name, slugify
from engine.defaults import BENCHMARK
from models.fileio import atomic_write_json

RESULTS_DIR = RESULTS_ROOT / "runner"


def forward_throughput(predictor, name: str, batch: int, seconds: float, device: torch.device) -> float:
    """Samples/s of infer_cells on a fixed normalised batch already on the device (the runner's inner call)."""
    spec = predictor.models[name].spec
    h, w = spec.input_hw
    x = torch.randn(batch, 3, h, w, device=device)
    for _ in range(3):
        predictor.infer_cells(name, x)  # returns numpy: synchronised
    best = 0.0
    for _ in range(3):  # best of three windows: the ratio errs on the strict side on a busy machine
        n, t0 = 0, time.perf_counter()
        while True:
            predictor.infer_cells(name, x)
            n += 1
            dt = time.perf_counter() - t0
            if dt >= seconds / 3 and n >= 2:
                break
        best = max(best, n * batch / dt)
    return best


def runner_throughput(data: Path, out: Path, model, batch: int, workers: int, device: str, flip: bool,
                      precision: str) -> dict:
    from engine.h36m.run.runner import BenchmarkConfig, BenchmarkRunner

    cfg = BenchmarkConfig(data_dir=data, models=[model.spec.name], out_dir=out, batch_size=batch, num_workers=workers,
                          device=device, flip=flip, allow_untrained=True, precision=precision, check_images="none")
    marks: list[tuple[float, int]] = []
    t_start = time.perf_counter()
    gen = BenchmarkRunner(cfg, loaded=[model]).run()
    for p in gen:
        if p.phase == "infer" and p.done > 0:
            marks.append((time.perf_counter(), p.done))
    if len(marks) < 3:
        raise SystemExit("runner_throughput: too few batches to measure; use more --samples")
    (t1, d1), (t2, d2) = marks[0], marks[-1]
    return {
        "steady_samples_per_s": (d2 - d1) / (t2 - t1),
        "overall_samples_per_s": d2 / (t2 - t_start),
        "batches": len(marks),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.runner_throughput", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny run (CI): small model, few samples")
    ap.add_argument("--model", default=None, help="default: posenet-r50 on CUDA, mhp-lpski-w0.5 on CPU/--quick")
    ap.add_argument("--batch-size", type=int, default=None, help=f"default {BENCHMARK.batch_size} (quick: 4)")
    ap.add_argument("--workers", type=int, default=None, help="loader processes (default: min(8, cpus - 1))")
    ap.add_argument("--samples", type=int, default=None, help="synthetic test images (default 640, quick 24)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precision", choices=("fp32", "fp16", "bf16"), default="fp32")
    ap.add_argument("--flip", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--seconds", type=float, default=None, help="forward timing window (default 5, quick 1)")
    ap.add_argument("--json", default=None, help="output JSON path")
    args = ap.parse_args(argv)

    from engine.h36m.exports import software_versions
    from engine.h36m.synthetic import generate
    from engine.inference.device import pick_device
    from engine.inference.predictor import Predictor
    from models.loader import load_model

    device = pick_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(max(1, min(4, (os.cpu_count() or 2) - 1)))
    quick = args.quick
    name = args.model or ("posenet-r50" if device.type == "cuda" and not quick else "mhp-lpski-w0.5")
    batch = args.batch_size or (4 if quick else BENCHMARK.batch_size)
    workers = args.workers if args.workers is not None else max(1, min(8, (os.cpu_count() or 2) - 1))
    samples = args.samples or (24 if quick else 640)
    seconds = args.seconds or (1.0 if quick else 5.0)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    with tempfile.TemporaryDirectory(prefix="posearena-runner-bench-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        generate(tmp / "data", samples=samples, seed=0)
        gen_s = time.perf_counter() - t0
        model = load_model(name, allow_untrained=True)
        predictor = Predictor([model], None, device=str(device), precision=args.precision, flip_test=args.flip)
        fwd = forward_throughput(predictor, name, batch, seconds, device)
        run = runner_throughput(tmp / "data", tmp / "out", model, batch, workers, str(device), args.flip,
                                args.precision)
    ratio = run["steady_samples_per_s"] / fwd
    result = {
        "what": "Human3.6M benchmark runner throughput vs pure forward throughput (same model, batch, device)",
        "weights": "untrained (random): speed only",
        "device": device_name(device), "device_type": device.type, "model": name, "batch_size": batch,
        "workers": workers, "flip": args.flip, "precision": args.precision, "samples": samples, "quick": quick,
        "cpu_count": os.cpu_count(),
        "forward_samples_per_s": round(fwd, 2),
        "runner_steady_samples_per_s": round(run["steady_samples_per_s"], 2),
        "runner_overall_samples_per_s": round(run["overall_samples_per_s"], 2),
        "ratio": round(ratio, 3),
        "target_ratio": 0.8,
        "synthetic_generation_s": round(gen_s, 2),
        "software_versions": software_versions(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    print(f"device {result['device']}, model {name}, batch {batch}, flip {args.flip}, {workers} loader workers")
    print(f"  forward only : {fwd:9.1f} samples/s")
    print(f"  runner       : {run['steady_samples_per_s']:9.1f} samples/s steady "
          f"({run['overall_samples_per_s']:.1f} overall, start-up included)")
    print(f"  ratio        : {ratio:9.3f}  (target >= 0.8)")
    slug = slugify(result["device"]) + ("-quick" if quick else "")
    path = Path(args.json) if args.json else RESULTS_DIR / f"{slug}.json"
    atomic_write_json(path, result, indent=2)
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
