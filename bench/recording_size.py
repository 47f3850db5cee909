"""Recording size: MB per hour per model of a live recording (engine/live/recording/writer.py), uncompressed (the layout
before compression) and compressed (the default), at a given frame rate and number of people in view.

    python -m bench.recording_size [--seconds 120] [--fps 30] [--persons 1] [--models 1,2] [--json OUT]

Frames are synthetic but realistic for compression: a walking-like pose with sub-millimetre noise per joint (so the
floats do not compress away), the unused person slots NaN as in a real run, a flush every second of frames (as the
recorder does at ``fps``), so partial chunks are rewritten as in a real session. The hour figure is the measured
file size scaled linearly (the layout is per frame; headers are a few kB)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from engine.defaults import LIVE
from engine.live.recording.writer import LiveRecorder


def _infos(n_models: int) -> list[SimpleNamespace]:
    from models.joints import H36M18

    return [SimpleNamespace(name=f"model{k}", label=f"model{k}", trained=True, joint_set="h36m18",
                            joint_names=tuple(H36M18.names), root_index=0, num_joints=18, sha256=None,
                            checkpoint=None) for k in range(n_models)]


def _result(i: int, fps: float, persons: int, infos: list, rng: np.random.Generator) -> SimpleNamespace:
    t = i / fps
    base = rng.normal(0.0, 150.0, (1, 18, 3)) if i == 0 else None
    _result.base = base if base is not None else _result.base  # type: ignore[attr-defined]
    rel = _result.base + 40.0 * np.sin(t * 2.0 + np.arange(18)[None, :, None]) + rng.normal(0, 0.7, (persons, 18, 3))
    rel[:, 0] = 0.0
    root = np.array([[200.0 * np.sin(t / 3) + 600 * k, 100.0, 3500.0 + 50 * np.cos(t)] for k in range(persons)])
    cam = rel + root[:, None]
    j2d = cam[..., :2] / cam[..., 2:] * 550 + np.array([320.0, 240.0])
    outs = {m.name: SimpleNamespace(joints_2d=j2d, joints_rel_mm=rel, joints_cam_mm=cam) for m in infos}
    sm = {m.name: SimpleNamespace(joints_2d=j2d + 0.1, joints_rel_mm=rel + 0.1, joints_cam_mm=cam + 0.1)
          for m in infos}
    return SimpleNamespace(
        frame_id=i, capture_ts=1000.0 + t, media_ts=t, result_ts=1000.02 + t,
        boxes=np.array([[100.0 + 600 * k, 50.0, 200.0, 400.0] for k in range(persons)]),
        track_ids=np.arange(1, persons + 1), root_cam_mm=root,
        intrinsics=SimpleNamespace(fx=554.3, fy=554.3, cx=320.0, cy=240.0),
        latencies_ms={"capture": 1.0, "detect": 12.0 + rng.random(), "model0": 20.0 + rng.random(),
                      "smooth": 0.3, "end_to_end": 40.0 + rng.random()},
        outputs=outs, smoothed=sm)


def measure(seconds: float, fps: float, persons: int, n_models: int, compression: str | None) -> float:
    """File size in bytes after ``seconds`` of frames."""
    rng = np.random.default_rng(0)
    infos = _infos(n_models)
    n = int(round(seconds * fps))
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "rec.h5"
        rec = LiveRecorder(path, infos, max_persons=LIVE.max_persons, flush_interval_s=1e9, compression=compression)
        per_flush = max(1, int(round(fps)))
        for i in range(n):
            rec.write(_result(i, fps, persons, infos, rng))
            if (i + 1) % per_flush == 0:
                rec.flush()
        rec.close()
        return float(path.stat().st_size)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=120.0)
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--persons", type=int, default=1)
    p.add_argument("--models", default="1,2", help="model counts to measure (comma-separated)")
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    rows = []
    print(f"{a.seconds:g} s at {a.fps:g} FPS, {a.persons} person(s) of {LIVE.max_persons} slots; MB (1e6 bytes)")
    print(f"{'models':>6} {'compression':>12} {'file MB':>9} {'MB/hour':>9} {'MB/hour/model':>14}")
    for n_models in [int(x) for x in a.models.split(",")]:
        for comp in (None, "gzip", "lzf"):
            size = measure(a.seconds, a.fps, a.persons, n_models, comp)
            per_hour = size / a.seconds * 3600 / 1e6
            rows.append({"models": n_models, "compression": comp or "none", "file_mb": size / 1e6,
                         "mb_per_hour": per_hour, "mb_per_hour_per_model": per_hour / n_models})
            print(f"{n_models:>6} {comp or 'none':>12} {size / 1e6:>9.2f} {per_hour:>9.1f} "
                  f"{per_hour / n_models:>14.1f}")
    if a.json:
        from models.fileio import atomic_write_json

        atomic_write_json(a.json, {"seconds": a.seconds, "fps": a.fps, "persons": a.persons, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
