"""Soak test of the live engine: does a long session keep memory flat and its queues bounded?

    python -m bench.soak_live [--seconds 120] [--interval S] [--models mhp-lpski-w0.5] [--detector auto]
                              [--asap] [--record FILE.h5] [--json OUT] [--max-rss-slope 3.0]

Runs ``LiveEngine`` on the looping demo video with a small pose model on random ("untrained") weights for a
bounded time. Every few seconds it samples the process (RSS, Python objects, threads, open files) and the engine
(frames, FPS, end-to-end latency p50/p95, dropped frames, and the length of every buffer between the stages).
At the end it prints the samples, the trends (least-squares slope after the warm-up quarter) and verdicts:

- memory flat: RSS slope below ``--max-rss-slope`` MB/min, or a fitted growth over the steady part below 2 MB
  (short runs: the slope of a few seconds is allocator jitter). A leak of one 640x480 frame per second is ~55 MB/min;
- queues bounded: the capture mailbox never holds more than one frame, the recorder buffer never more than its
  flush interval's worth, the latency windows never more than their size;
- no leaked threads or file descriptors: their counts end where they started after warm-up;
- latency not growing: the p50 end-to-end slope below ``--max-latency-slope`` ms/min (a queue filling up shows
  here first).

Exit code 0 when every verdict holds, 1 otherwise, 2 when the engine failed. ``--json`` writes the samples and
verdicts (atomically). Speed does not depend on the weights, so random weights are fine here; they are labelled.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_MODEL = "mhp-lpski-w0.5"
MAILBOX_BOUND = 1  # the capture thread hands over the newest frame only (engine/capture.py)
RSS_NOISE_MB = 2.0  # RSS moves this much without any leak (allocator arenas, lazily touched pages)


@dataclass
class Sample:
    t_s: float  # seconds since the engine started
    frames: int
    fps: float
    e2e_p50_ms: float
    e2e_p95_ms: float
    dropped: int
    rss_mb: float
    py_objects: int
    threads: int
    open_files: int
    queues: dict[str, int]  # buffer name -> items held at the sample


@dataclass
class SoakReport:
    seconds: float
    interval_s: float
    config: dict[str, Any]
    samples: list[Sample] = field(default_factory=list)
    trends: dict[str, float] = field(default_factory=dict)  # per minute, after the warm-up
    bounds: dict[str, int] = field(default_factory=dict)  # queue name -> allowed maximum
    verdicts: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.verdicts) and all(self.verdicts.values())


def _slope_per_min(t: np.ndarray, y: np.ndarray) -> float:
    if len(t) < 2 or float(np.ptp(t)) <= 0:
        return 0.0
    return float(np.polyfit(t, y, 1)[0] * 60.0)


def _queue_sizes(engine: Any) -> dict[str, int]:
    """Items held by each buffer between the stages. Introspection for this soak only: each probe is optional, so
    a refactor of the engine's internals drops a probe instead of breaking the soak."""
    out: dict[str, int] = {}
    cap = getattr(engine, "capture", None)
    box = getattr(cap, "mailbox", None)
    if box is not None and hasattr(box, "_item"):
        out["capture_mailbox"] = int(box._item is not None)
    rec = getattr(engine, "recorder", None)
    if rec is not None and hasattr(rec, "_rows"):
        out["recorder_buffer"] = len(rec._rows)
    stats = getattr(engine, "_stats", None)
    data = getattr(stats, "_data", None)
    if isinstance(data, dict):
        out["latency_window_max"] = max((len(d) for d in data.values()), default=0)
    times = getattr(engine, "_result_times", None)
    if times is not None:
        out["fps_window"] = len(times)
    smoothers = getattr(engine, "_smoothers", None)
    if isinstance(smoothers, dict):
        tracks = 0
        for sm in smoothers.values():
            for part in ("_frel", "_froot"):
                filters = getattr(getattr(sm, part, None), "_filters", None)
                tracks += len(filters) if isinstance(filters, dict) else 0
        out["smoother_tracks"] = tracks
    return out


def _queue_bounds(engine: Any, fps_cap: float) -> dict[str, int]:
    window = int(getattr(engine.config, "stats_window", 120))
    flush_s = float(getattr(getattr(engine, "recorder", None), "flush_interval_s", 1.0) or 1.0)
    return {
        "capture_mailbox": MAILBOX_BOUND,
        "recorder_buffer": int(np.ceil(fps_cap * flush_s * 2)) + 2,  # a flush interval's frames, with slack
        "latency_window_max": window,
        "fps_window": window,
        "smoother_tracks": 2 * 2 * max(1, int(getattr(engine.config, "max_persons", 8))),  # rel + root per track
    }


def _sample(engine: Any, proc: Any, t0: float) -> Sample:
    st = engine.stats()
    e2e = st.stages.get("end_to_end")
    try:
        files = proc.num_fds()
    except (AttributeError, OSError):  # pragma: no cover (non-POSIX)
        files = len(proc.open_files())
    return Sample(
        t_s=round(time.monotonic() - t0, 2), frames=st.frames_processed, fps=round(st.fps, 2),
        e2e_p50_ms=round(e2e.p50, 1) if e2e else float("nan"), e2e_p95_ms=round(e2e.p95, 1) if e2e else float("nan"),
        dropped=st.frames_dropped, rss_mb=round(proc.memory_info().rss / 2**20, 1), py_objects=len(gc.get_objects()),
        threads=threading.active_count(), open_files=files, queues=_queue_sizes(engine))


def analyse(report: SoakReport, max_rss_slope: float, max_latency_slope: float) -> None:
    """Trends after the warm-up quarter and the verdicts (fills ``report.trends`` / ``verdicts``)."""
    s = report.samples
    if len(s) < 3:
        report.error = report.error or f"only {len(s)} samples: run longer or sample more often"
        return
    start = max(1, len(s) // 4)  # the first quarter (and at least the first sample) is warm-up
    steady = s[start:]
    t = np.array([x.t_s for x in steady])
    rss = np.array([x.rss_mb for x in steady])
    p50 = np.array([x.e2e_p50_ms for x in steady])
    report.trends = {
        "rss_mb_per_min": round(_slope_per_min(t, rss), 3),
        "rss_growth_mb": round(float(rss[-1] - rss[0]), 1),
        "py_objects_per_min": round(_slope_per_min(t, np.array([x.py_objects for x in steady], float)), 1),
        "e2e_p50_ms_per_min": round(_slope_per_min(t, p50), 2) if np.isfinite(p50).all() else float("nan"),
    }
    peaks = {k: max(x.queues.get(k, 0) for x in s) for k in {k for x in s for k in x.queues}}
    fitted_growth = report.trends["rss_mb_per_min"] * float(t[-1] - t[0]) / 60.0
    report.trends["rss_fitted_growth_mb"] = round(fitted_growth, 2)
    report.verdicts = {
        # a short run's slope is mostly allocator jitter: growth within the noise floor also counts as flat
        "memory_flat": report.trends["rss_mb_per_min"] <= max_rss_slope or fitted_growth <= RSS_NOISE_MB,
        "queues_bounded": all(peaks[k] <= report.bounds.get(k, peaks[k]) for k in peaks),
        "no_thread_leak": steady[-1].threads <= steady[0].threads,
        "no_fd_leak": steady[-1].open_files <= steady[0].open_files + 2,
        "latency_not_growing": not np.isfinite(report.trends["e2e_p50_ms_per_min"])
        or report.trends["e2e_p50_ms_per_min"] <= max_latency_slope,
        "frames_flowing": steady[-1].frames > steady[0].frames,
    }
    report.trends.update({f"peak_{k}": float(v) for k, v in sorted(peaks.items())})


def run_soak(seconds: float, interval: float | None = None, *, models: tuple[str, ...] = (DEFAULT_MODEL,),
             detector: str = "auto", device: str = "cpu", asap: bool = False, record: str | None = None,
             max_rss_slope: float = 3.0, max_latency_slope: float = 60.0, log=print) -> SoakReport:
    """Run the engine for ``seconds``, sampling every ``interval`` s; see the module docstring."""
    import psutil

    from engine.live.engine import LiveConfig, LiveEngine

    interval = interval or min(5.0, max(0.5, seconds / 12.0))
    cfg = LiveConfig(source="demo", models=tuple(models), allow_untrained=True, detector=detector, rootnet=None,
                     device=device, realtime=False if asap else None, loop=True, record=record)
    report = SoakReport(seconds, interval, {"models": list(models), "detector": detector, "device": device,
                                            "asap": asap, "record": record, "source": "demo (looping)"})
    errors: list[BaseException] = []
    engine = LiveEngine(cfg, on_error=errors.append)
    proc = psutil.Process()
    try:
        engine.start()
    except Exception as exc:  # missing demo video, bad model name...
        report.error = f"{type(exc).__name__}: {exc}"
        engine.stop()
        return report
    report.notes = list(engine.notes)
    src = engine.source
    fps_cap = (src.info.fps if src and src.info and src.info.fps else 30.0) if not asap else 200.0
    report.bounds = _queue_bounds(engine, fps_cap)
    t0 = time.monotonic()
    end = t0 + seconds
    try:
        while True:
            now = time.monotonic()
            if engine.wait(0) and not errors:
                report.error = "the engine stopped on its own (source ended?)"
                break
            if errors:
                break
            s = _sample(engine, proc, t0)
            report.samples.append(s)
            log(_row(s))
            if now >= end:
                break
            time.sleep(max(0.0, min(interval, end - time.monotonic())))
    finally:
        engine.stop()
    if errors:
        report.error = f"{type(errors[0]).__name__}: {errors[0]}"
    analyse(report, max_rss_slope, max_latency_slope)
    return report


def _row(s: Sample) -> str:
    q = " ".join(f"{k}={v}" for k, v in sorted(s.queues.items()))
    return (f"{s.t_s:7.1f}s frames {s.frames:6d} {s.fps:6.1f} FPS e2e p50 {s.e2e_p50_ms:7.1f} "
            f"p95 {s.e2e_p95_ms:7.1f} ms RSS {s.rss_mb:7.1f} MB "
            f"objs {s.py_objects:8d} thr {s.threads:2d} fds {s.open_files:3d} | {q}")


def summary(report: SoakReport) -> str:
    lines = [f"soak: {report.seconds:g} s, sample every {report.interval_s:.2g} s, {len(report.samples)} samples; "
             f"{', '.join(report.config['models'])} (untrained weights), detector {report.config['detector']}"]
    lines += [f"note: {n}" for n in report.notes]
    for k, v in report.trends.items():
        lines.append(f"  {k:<28}{v:>12}")
    for k, v in report.verdicts.items():
        lines.append(f"  {'PASS' if v else 'FAIL'}  {k}")
    if report.bounds:
        lines.append("  queue bounds: " + ", ".join(f"{k} <= {v}" for k, v in sorted(report.bounds.items())))
    if report.error:
        lines.append(f"error: {report.error}")
    lines.append("result: " + ("OK" if report.ok else "FAILED"))
    return "\n".join(lines)


def _write_json(path: Path, report: SoakReport) -> None:
    from engine.h36m.exports import atomic_write_text

    data = asdict(report) | {"ok": report.ok}
    atomic_write_text(path, json.dumps(data, indent=1, default=float) + "\n")


def add_verdict_args(p: argparse.ArgumentParser, json_help: str, *, latency: bool = True) -> None:
    """The soak's limits (``--max-rss-slope``, with ``latency`` ``--max-latency-slope``) and ``--json OUT``."""
    p.add_argument("--max-rss-slope", type=float, default=3.0, help="MB per minute allowed after warm-up")
    if latency:
        p.add_argument("--max-latency-slope", type=float, default=60.0, help="ms per minute allowed (p50 end-to-end)")
    p.add_argument("--json", default=None, metavar="OUT", help=json_help)


def parse_models(text: str) -> tuple[str, ...]:
    """``--models``: comma-separated names, blanks stripped and empty ones skipped."""
    return tuple(m.strip() for m in text.split(",") if m.strip())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.soak_live", description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=120.0, help="how long to run (default 120)")
    p.add_argument("--interval", type=float, default=None, help="seconds between samples (default: ~12 samples, "
                                                                 "at most every 5 s)")
    p.add_argument("--models", default=DEFAULT_MODEL, help="comma-separated pose models (random weights)")
    p.add_argument("--detector", default="auto", help="auto | none | YOLO .pt (auto without weights: whole frame)")
    p.add_argument("--device", default="cpu", help="cpu | cuda | auto")
    p.add_argument("--asap", action="store_true", help="process every frame as fast as possible (no 10 fps pacing)")
    p.add_argument("--record", default=None, metavar="FILE.h5", help="also record (soaks the recorder's buffer)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    add_verdict_args(p, "write samples and verdicts as JSON")
    args = p.parse_args(argv)
    if args.seconds <= 0:
        p.error("--seconds must be positive")
    import torch

    torch.set_num_threads(max(1, args.threads))
    if args.record and Path(args.record).exists():
        print(f"error: {args.record} exists; the soak does not overwrite recordings", file=sys.stderr)
        return 2
    models = parse_models(args.models)
    report = run_soak(args.seconds, args.interval, models=models, detector=args.detector, device=args.device,
                      asap=args.asap, record=args.record, max_rss_slope=args.max_rss_slope,
                      max_latency_slope=args.max_latency_slope)
    print(summary(report))
    if args.json:
        _write_json(Path(args.json), report)
        print(f"results: {args.json}", file=sys.stderr)
    if report.error:
        return 2
    return 0 if report.ok else 1


if __name__ == "__main__":
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    os.environ.setdefault("YOLO_VERBOSE", "false")
    sys.exit(main())
