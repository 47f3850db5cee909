"""Live recording under load: the live engine records the demo while a benchmark runs in another process.

    python -m bench.soak_under_load [--minutes 10] [--models mhp-lpski-w0.5] [--device cpu] [--json OUT]

Writes a small synthetic Human3.6M (``python main.py h36m synthetic``) and keeps ``bench h36m`` running on it in a
child process (a fresh ``--out`` each round, so every round really infers), while this process runs
``bench.soak_live.run_soak`` on the looping demo with recording on for ``--minutes``. At the end it reads the
recording back and prints: the RSS slope after warm-up (MB/min), frames processed, recorded, dropped at capture and
corrupt, and whether every processed frame is in the recording (``lost`` = processed - recorded, must be 0), plus
the benchmark rounds completed meanwhile. Exit 0 when memory is flat, nothing was lost and the benchmark kept
running; 1 otherwise. Random ("untrained") weights: speed and memory do not depend on them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bench_loop(data: Path, work: Path, model: str, device: str, stop: threading.Event, rounds: list[int],
                errors: list[str]) -> None:
    k = 0
    while not stop.is_set():
        out = work / f"bench-{k}"
        cmd = [sys.executable, str(ROOT / "main.py"), "bench", "h36m", "--data", str(data), "--out", str(out),
               "--models", model, "--allow-untrained", "--device", device, "--workers", "1", "--batch-size", "8"]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        while proc.poll() is None:
            if stop.wait(0.5):
                proc.terminate()  # SIGTERM: the benchmark stops at its next batch (exit 143)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                return
        if proc.returncode == 0:
            rounds[0] += 1
        else:
            errors.append(f"round {k}: exit {proc.returncode}: {(proc.stderr.read() or '')[-400:]}")
            return
        k += 1


def main(argv: list[str] | None = None) -> int:
    from bench.soak_live import DEFAULT_MODEL, add_verdict_args, parse_models, run_soak, summary
    from engine.live.recording.reader import load_recording

    p = argparse.ArgumentParser(prog="python -m bench.soak_under_load", description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0, help="how long the live run lasts (default 10)")
    p.add_argument("--models", default=DEFAULT_MODEL, help="comma-separated pose models (random weights)")
    p.add_argument("--device", default="cpu", help="device of the live engine and the benchmark")
    p.add_argument("--samples", type=int, default=240, help="synthetic test images per benchmark round")
    add_verdict_args(p, "write the numbers as JSON", latency=False)
    args = p.parse_args(argv)
    if args.minutes <= 0:
        p.error("--minutes must be positive")
    models = parse_models(args.models)
    with tempfile.TemporaryDirectory(prefix="posearena-soak-load-") as tmp:
        work = Path(tmp)
        data = work / "h36m"
        gen = subprocess.run([sys.executable, str(ROOT / "main.py"), "h36m", "synthetic", "--out", str(data),
                              "--samples", str(args.samples)], cwd=ROOT, capture_output=True, text=True)
        if gen.returncode != 0:
            print(gen.stderr, file=sys.stderr)
            return 2
        stop = threading.Event()
        rounds, errors = [0], []
        bench = threading.Thread(target=_bench_loop, args=(data, work, models[0], args.device, stop, rounds, errors),
                                 daemon=True)
        bench.start()
        rec = work / "live.h5"
        t0 = time.monotonic()
        try:
            report = run_soak(args.minutes * 60.0, models=models, detector="none", device=args.device,
                              record=str(rec), max_rss_slope=args.max_rss_slope, log=lambda s: print(s, flush=True))
        finally:
            stop.set()
            bench.join(60)
        elapsed = time.monotonic() - t0
        last = report.samples[-1] if report.samples else None
        processed = last.frames if last else 0
        dropped = last.dropped if last else 0
        recorded = len(load_recording(rec)) if rec.is_file() else 0
    # samples are taken before engine.stop(); frames processed after the last sample are recorded too
    lost = max(0, processed - recorded)
    numbers = {
        "minutes": args.minutes, "elapsed_s": round(elapsed, 1),
        "rss_slope_mb_per_min": report.trends.get("rss_mb_per_min"),
        "rss_first_mb": report.samples[0].rss_mb if report.samples else None,
        "rss_last_mb": last.rss_mb if last else None,
        "frames_processed_at_last_sample": processed, "frames_recorded": recorded,
        "frames_dropped_at_capture": dropped, "frames_lost_from_recording": lost,
        "benchmark_rounds_finished": rounds[0], "benchmark_errors": errors,
        "verdicts": report.verdicts, "error": report.error,
    }
    print(summary(report))
    print(json.dumps(numbers, indent=1, default=float))
    if args.json:
        Path(args.json).write_text(json.dumps(numbers, indent=1, default=float) + "\n")
    ok = report.verdicts.get("memory_flat", False) and lost == 0 and not errors and report.error is None
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
