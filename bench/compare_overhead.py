"""Cost of the live model comparison (engine.compare.CompareAccumulator): ``python -m bench.compare_overhead``.

Prints the per-frame ``update`` cost (µs) and the ``snapshot`` cost (ms) for 2 and 5 models, 1 and 4 persons, and
what they add to a typical 50 ms live frame: the update every frame plus a snapshot twice a second, amortised over
the frames of that half second (``--fps``). Target: under 2 %. Why a bench and not a test: timings depend on the
machine and its load; the test suite only checks that this runs (``--quick``).
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

__all__ = ["main", "measure"]

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


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.compare_overhead", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="few frames (smoke test; numbers are rough)")
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
