"""Cost of the live model comparison (engine.compare.CompareAccumulator): ``python -m bench.compare_overhead``.

Prints the per-frame ``update`` cost (µs) and the ``snapshot`` cost (ms) for 2 and 5 models, 1 and 4 persons, and
what they add to a typical 50 ms live frame: the update every frame plus a snapshot twice a second, amortised over
the frames of that half second (``--fps``). Target: under 2 %. Why a bench and not a test: timings depend on the
machine and its load; the test suite only checks that this runs (``--quick``).

``--live`` also runs the real ``LiveEngine`` on the demo clip (every frame, not paced; no detector, no RootNet,
random-weight models unless installed: speed does not depend on them) with the comparison on and off, alternating
runs, and prints the throughput ratio and the engine's own "compare" stage time against the busy time per frame,
plus a snapshot taken twice a second from another thread during the "on" runs (as the GUI panel does).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from types import SimpleNamespace

import numpy as np

from engine.compare import CompareAccumulator, ModelFrame
from models.joints import H36M18, MUCO21

__all__ = ["live_overhead", "main", "measure"]

FRAME_MS = 50.0  # a typical live frame (20 FPS end to end)
SNAPSHOTS_PER_S = 2.0


def _models(n: int) -> list[SimpleNamespace]:
    """n models; every third one predicts MuCo-21 joints so the mapped path is timed too."""
    return [SimpleNamespace(name=f"m{i}", joint_set="muco21" if i % 3 == 2 else "h36m18",
                            joint_names=(MUCO21 if i % 3 == 2 else H36M18).names, trained=True, label=f"m{i}")
            for i in range(n)]


def measure(n_models: int, persons: int, *, frames: int = 600, window: int = 120, snapshots: int = 20,
            seed: int = 0) -> dict[str, float]:
    """{update_us (mean), snapshot_ms (median), snapshot_min_ms, overhead_pct} with the window full (steady
    state). The median and the minimum tell a busy machine's noise from the real cost."""
    rng = np.random.default_rng(seed)
    models = _models(n_models)
    acc = CompareAccumulator(models, window_frames=window)
    feeds = []
    for i in range(frames):
        fr = {}
        for m in models:
            j = len(m.joint_names)
            cam = rng.normal(0, 300, (persons, j, 3)) + [0, 0, 3000]
            fr[m.name] = ModelFrame(np.arange(1, persons + 1), cam, cam[..., :2] / 5 + 300, cam + 1, 20.0)
        feeds.append((i / 20.0, fr))
    for t, fr in feeds[:window]:  # fill the window first
        acc.update(t, fr)
    t0 = time.perf_counter()
    for t, fr in feeds[window:]:
        acc.update(t, fr)
    update_us = (time.perf_counter() - t0) / (frames - window) * 1e6
    acc.snapshot()  # warm-up
    took = []
    for _ in range(snapshots):
        t0 = time.perf_counter()
        acc.snapshot()
        took.append((time.perf_counter() - t0) * 1e3)
    snapshot_ms = float(np.median(took))
    fps = 1000.0 / FRAME_MS
    per_frame_ms = update_us / 1e3 + snapshot_ms * SNAPSHOTS_PER_S / fps
    return {"update_us": update_us, "snapshot_ms": snapshot_ms, "snapshot_min_ms": float(min(took)),
            "overhead_pct": 100.0 * per_frame_ms / FRAME_MS}


def _live_run(models: tuple[str, ...], frames: int, compare: bool) -> dict[str, float]:
    import threading

    from engine.live.engine import LiveConfig, LiveEngine

    cfg = LiveConfig(source="demo", models=models, allow_untrained=True, detector="none", rootnet=None,
                     realtime=False, loop=True, device="cpu", max_frames=frames + 5)
    engine = LiveEngine(cfg, compare=compare)
    ts: list[float] = []
    busy: list[float] = []

    def collect(r: object) -> None:
        if r.frame_id >= 5:  # type: ignore[attr-defined]  # after warm-up
            ts.append(r.result_ts)  # type: ignore[attr-defined]
            lat = r.latencies_ms  # type: ignore[attr-defined]
            busy.append(lat["end_to_end"] - lat["wait"])

    engine.subscribe(collect)
    stop = threading.Event()
    snaps: list[float] = []

    def poll() -> None:  # the GUI panel's timer, on its own thread
        while not stop.wait(0.5):
            t0 = time.perf_counter()
            engine.compare_snapshot()
            snaps.append((time.perf_counter() - t0) * 1e3)

    poller = threading.Thread(target=poll, daemon=True)
    with engine:
        if compare:
            poller.start()
        engine.wait()
        stop.set()
    if engine.error is not None:
        raise engine.error
    st = engine.stats().stages.get("compare")
    fps = (len(ts) - 1) / (ts[-1] - ts[0]) if len(ts) >= 2 and ts[-1] > ts[0] else float("nan")
    return {"fps": fps, "busy_ms": float(np.mean(busy)) if busy else float("nan"),
            "compare_ms": st.mean if st else 0.0, "snapshot_ms": float(np.median(snaps)) if snaps else float("nan")}


def live_overhead(models: tuple[str, ...] = ("blazepose-full", "mhp-lpski-w0.5"), frames: int = 60,
                  reps: int = 2) -> dict[str, float]:
    """The live engine with and without the comparison (alternating ``reps`` times): FPS of each, their ratio, and
    the per-frame cost of the feed (stage "compare") as a share of the busy time per frame."""
    on, off = [], []
    for _ in range(reps):
        off.append(_live_run(models, frames, False))
        on.append(_live_run(models, frames, True))
    fps_on, fps_off = float(np.median([r["fps"] for r in on])), float(np.median([r["fps"] for r in off]))
    feed = float(np.mean([r["compare_ms"] for r in on]))
    busy = float(np.mean([r["busy_ms"] for r in on]))
    snap = float(np.nanmedian([r["snapshot_ms"] for r in on]))
    return {"fps_on": fps_on, "fps_off": fps_off, "fps_cost_pct": 100.0 * (1.0 - fps_on / fps_off),
            "feed_ms": feed, "busy_ms": busy, "feed_pct": 100.0 * feed / busy, "snapshot_ms": snap}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.compare_overhead", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="few frames (smoke test; numbers are rough)")
    ap.add_argument("--live", action="store_true", help="also time the live engine with and without the comparison")
    ap.add_argument("--live-models", default="blazepose-full,mhp-lpski-w0.5", help="models for --live")
    ap.add_argument("--live-frames", type=int, default=60, help="frames per --live run")
    args = ap.parse_args(argv)
    kw = {"frames": 160, "snapshots": 2} if args.quick else {}
    print(f"{'models':>6} {'persons':>7} {'update µs':>10} {'snapshot ms':>12} {'(min)':>7} {'of a 50 ms frame':>17}")
    worst = 0.0
    for n_models in (2, 5):
        for persons in (1, 4):
            r = measure(n_models, persons, **kw)
            worst = max(worst, r["overhead_pct"])
            print(f"{n_models:>6} {persons:>7} {r['update_us']:>10.1f} {r['snapshot_ms']:>12.2f} "
                  f"{r['snapshot_min_ms']:>7.2f} {r['overhead_pct']:>16.2f}%")
    print(f"update every frame + {SNAPSHOTS_PER_S:g} snapshots/s at {1000 / FRAME_MS:g} FPS; worst {worst:.2f}% "
          f"(target < 2%)")
    if args.live:
        models = tuple(m for m in args.live_models.split(",") if m)
        r = live_overhead(models, 8 if args.quick else args.live_frames, 1 if args.quick else 2)
        print(f"live engine ({', '.join(models)}, demo, every frame, CPU): {r['fps_off']:.2f} FPS without the "
              f"comparison, {r['fps_on']:.2f} FPS with it (cost {r['fps_cost_pct']:+.1f}%, run-to-run noise "
              f"included); feed {r['feed_ms'] * 1e3:.0f} µs of a {r['busy_ms']:.1f} ms frame = {r['feed_pct']:.2f}% "
              f"(target < 2%); snapshot from another thread {r['snapshot_ms']:.2f} ms twice a second")
    return 0


if __name__ == "__main__":
    sys.exit(main())
