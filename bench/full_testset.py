"""The full-size Protocol 2 run: as many samples as the real test set, flip on, wall time, throughput, memory.

    python -m bench.full_testset [--samples 8695] [--model mhp-lpski-w0.5] [--batch-size 32] [--workers N]
                                 [--device auto] [--no-flip] [--note TEXT] [--json OUT]

Writes a synthetic Human3.6M (``engine.h36m.synthetic.generate``: 3DMPPE layout, JPEG images of H36M size) with
``--samples`` Protocol 2 test images (default 8,695, the real test set's count) into a temporary folder, then runs
``BenchmarkRunner`` over all of it with flip test on, and reports:

- wall time of the run (loading, validation, inference, scoring, export) and of the inference phase;
- steady crops/s of the runner (first batch excluded) against the pure forward of the same model at the same batch
  (``bench.runner_throughput.forward_throughput``: ``Predictor.infer_cells`` on ready tensors, flip included);
- peak resident memory (this process plus its loader workers, sampled every 50 ms) when 1k, 4k and all samples are
  saved, and at the end of scoring and export: it must stay flat (per-batch shards on disk, not in memory).

Weights are random (speed does not depend on them): labelled "untrained". Writes
``bench/results/full_testset/<device>.json`` (``-smoke`` suffix when ``--samples`` is below the full count).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import common

RESULTS_DIR = common.RESULTS_ROOT / "full_testset"
FULL = 8695  # Human3.6M Protocol 2 test samples (S9 + S11, every 64th frame)
MODEL = "mhp-lpski-w0.5"


class RssSampler:
    """Peak RSS (MiB) of this process and its children, sampled in a thread; ``mark(name)`` records the peak so far."""

    def __init__(self, period_s: float = 0.05) -> None:
        import psutil

        self._proc = psutil.Process()
        self.period_s = period_s
        self.peak = 0.0
        self.marks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="rss-sampler")

    def sample(self) -> float:
        import psutil

        total = self._proc.memory_info().rss
        for c in self._proc.children(recursive=True):
            try:
                total += c.memory_info().rss
            except psutil.Error:
                pass
        mb = total / 2**20
        self.peak = max(self.peak, mb)
        return mb

    def _loop(self) -> None:
        while not self._stop.wait(self.period_s):
            self.sample()

    def mark(self, name: str) -> None:
        self.sample()
        self.marks[name] = round(self.peak, 1)

    def __enter__(self) -> RssSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def checkpoints(total: int) -> list[int]:
    """1k, 4k and the whole set (those below ``total``), or fractions of a smaller set."""
    pts = [p for p in (1000, 4000) if p < total] or [max(1, total // 8), max(1, total // 2)]
    return sorted({*pts, total})


def run_full(data: Path, out: Path, model, batch: int, workers: int, device: str, flip: bool, total: int,
             log=print) -> dict:
    from engine.h36m.run.runner import BenchmarkConfig, BenchmarkRunner

    cfg = BenchmarkConfig(data_dir=data, models=[model.spec.name], out_dir=out, batch_size=batch,
                          num_workers=workers, device=device, flip=flip, allow_untrained=True, check_images="exists")
    pts = checkpoints(total)
    marks: list[tuple[float, int]] = []
    phases: dict[str, float] = {}
    with RssSampler() as rss:
        t0 = time.perf_counter()
        gen = BenchmarkRunner(cfg, loaded=[model]).run()
        while True:
            try:
                p = next(gen)
            except StopIteration as stop:
                res = stop.value
                break
            now = time.perf_counter()
            phases.setdefault(p.phase, now - t0)
            if p.phase == "infer" and p.done > 0:
                marks.append((now, p.done))
                while pts and p.done >= pts[0]:
                    rss.mark(f"{pts.pop(0)}_samples")
                    log(f"  {p.done:6d}/{p.total} saved  peak RSS {rss.peak:8.1f} MiB  {p.rate:7.1f} samples/s")
        wall = time.perf_counter() - t0
        rss.mark("after_score_export")
    if res.status != "finished":
        raise SystemExit(f"full_testset: the run ended {res.status}")
    (t1, d1), (t2, d2) = marks[0], marks[-1]
    infer_s = phases.get("score", wall) - phases.get("infer", 0.0)
    return {"wall_s": round(wall, 2), "infer_s": round(infer_s, 2),
            "score_export_s": round(wall - phases.get("score", wall), 2),
            "steady_samples_per_s": round((d2 - d1) / max(t2 - t1, 1e-9), 2) if d2 > d1 else None,
            "samples": res.total, "batches": len(marks), "peak_rss_mib": rss.marks,
            "rss_growth_1k_to_end_mib": round(max(rss.marks.values()) - min(rss.marks.values()), 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.full_testset", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=FULL, help=f"synthetic test images (default {FULL}, the real count)")
    ap.add_argument("--model", default=MODEL)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--workers", type=int, default=None, help="loader processes (default: min(8, cpus - 1))")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--flip", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--seconds", type=float, default=3.0, help="forward timing window")
    common.add_note_json_args(ap)
    a = ap.parse_args(argv)
    from bench.runner_throughput import forward_throughput
    from engine.h36m.synthetic import generate
    from engine.inference.device import pick_device
    from engine.inference.predictor import Predictor
    from models.loader import load_model

    device = pick_device(a.device)
    workers = a.workers if a.workers is not None else max(1, min(8, (os.cpu_count() or 2) - 1))
    load0 = os.getloadavg()
    print(f"Full-size Protocol 2 run on {common.device_name(device)}: {a.samples} samples, {a.model} (untrained), "
          f"batch {a.batch_size}, flip {a.flip}, {workers} workers (load {load0[0]:.1f})")
    with tempfile.TemporaryDirectory(prefix="posearena-full-testset-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        info = generate(tmp / "data", samples=a.samples, seed=0)
        gen_s = time.perf_counter() - t0
        print(f"  synthetic set: {info.num_protocol2} Protocol 2 images in {gen_s:.1f} s")
        model = load_model(a.model, allow_untrained=True)
        pred = Predictor([model], None, device=str(device), flip_test=a.flip)
        fwd = forward_throughput(pred, a.model, a.batch_size, a.seconds, device)
        del pred
        print(f"  pure forward: {fwd:.1f} crops/s")
        run = run_full(tmp / "data", tmp / "out", model, a.batch_size, workers, str(device), a.flip,
                       info.num_protocol2)
    ratio = run["steady_samples_per_s"] / fwd if run["steady_samples_per_s"] else None
    print(f"  wall {run['wall_s']} s (inference {run['infer_s']} s), runner {run['steady_samples_per_s']} crops/s = "
          f"{ratio:.3f} x pure forward; peak RSS {run['peak_rss_mib']} MiB")
    result = {
        "what": "full-size synthetic Protocol 2 benchmark run: wall time, crops/s vs pure forward, peak memory",
        "weights": "untrained (random): speed only", "model": a.model, "batch_size": a.batch_size, "flip": a.flip,
        "workers": workers, "requested_samples": a.samples, "synthetic_generation_s": round(gen_s, 2),
        "forward_crops_per_s": round(fwd, 2), "runner_vs_forward": round(ratio, 3) if ratio else None, **run,
        **common.machine_info(device, load0, a.note),
    }
    common.save_result(result, a.json, RESULTS_DIR, common.device_slug(device), "" if a.samples >= FULL else "-smoke",
                       indent=1, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
