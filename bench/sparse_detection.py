"""How often the person detector must run: persons found and track-id switches against the detection interval.

    python -m bench.sparse_detection [--detectors blazepose,nanodet] [--every 1,5,10,20,30]
                                     [--clips assets/demo_walk.mp4,assets/demo_person.mp4] [--frames N] [--json OUT]

Between detections the live engine carries each person's box from its previous pose (``engine.live.detector``); it
detects when a track is lost, when the pose model's confidence drops, and at least every N frames. This bench runs
the real engine (``blazepose-full``, no RootNet, every frame of the clip in lockstep) per detector, clip and N, and
counts, over the clip:

- ``persons_found``: person-frames with a pose (the sum over frames of the persons posed);
- ``distinct_ids``: track ids ever given; ``id_switches``: frames where an id vanished and a new one appeared at
  once (the same person re-identified under a new id, as far as a count can tell);
- ``detections``: frames the detector actually ran, and the mean busy time per frame.

N = 1 (detect every frame) is the reference: a larger N must find at least as many persons with no more switches
(``ok``). Writes ``bench/results/live/sparse_detection.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import RESULTS_ROOT, csv_list, save_result

ROOT = Path(__file__).resolve().parent.parent
CLIPS = ("assets/demo_walk.mp4", "assets/demo_person.mp4")


def track_counts(frames_ids: list[list[int]]) -> dict[str, int]:
    """``persons_found``, ``distinct_ids`` and ``id_switches`` of a run from its per-frame track ids."""
    switches = 0
    prev: set[int] = set()
    for ids in frames_ids:
        now = set(ids)
        if prev - now and now - prev:
            switches += 1
        prev = now
    return {"persons_found": int(sum(len(i) for i in frames_ids)),
            "distinct_ids": len({i for ids in frames_ids for i in ids}), "id_switches": switches}


def run_one(detector: str, every: int, clip: Path, frames: int | None) -> dict[str, Any]:
    from engine.live.detector import make_detector
    from engine.live.engine import LiveConfig, LiveEngine

    det = make_detector(detector, every_n=every)
    cfg = LiveConfig(source=str(clip), models=("blazepose-full",), rootnet=None, realtime=False, drop_frames=False,
                     device="cpu", max_frames=frames, det_every=every)
    engine = LiveEngine(cfg, detector=det, compare=False)
    ids: list[list[int]] = []
    busy: list[float] = []

    def collect(r: Any) -> None:
        ids.append([int(i) for i in r.track_ids])
        busy.append(r.latencies_ms["end_to_end"] - r.latencies_ms["wait"])

    engine.subscribe(collect)
    with engine:
        engine.wait()
    if engine.error is not None:
        raise engine.error
    return {"detector": det.label, "every": every, "clip": clip.name, "frames": len(ids),
            **track_counts(ids), "detections": det.detections,
            "background_detections": getattr(det, "refreshes", 0), "busy_ms_mean": round(float(np.mean(busy)), 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--detectors", default="blazepose,nanodet")
    ap.add_argument("--every", default="1,5,10,20,30")
    ap.add_argument("--clips", default=",".join(CLIPS))
    ap.add_argument("--frames", type=int, default=None, help="at most this many frames per clip")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(min(2, torch.get_num_threads()))
    from engine.live.detector import detector_kinds

    rows: list[dict[str, Any]] = []
    for kind in csv_list(a.detectors):
        if kind not in detector_kinds():
            print(f"{kind}: not a registered detector here, skipped")
            continue
        for clip in csv_list(a.clips):
            ref: dict[str, Any] | None = None
            for every in csv_list(a.every, int):
                row = run_one(kind, every, ROOT / clip, a.frames)
                ref = ref or row
                row["ok"] = row["persons_found"] >= ref["persons_found"] and row["id_switches"] <= ref["id_switches"]
                rows.append(row)
                print(f"{kind:<10}{row['clip']:<18} every {every:>3}: persons {row['persons_found']:>4}, ids "
                      f"{row['distinct_ids']:>3}, switches {row['id_switches']:>3}, detections {row['detections']:>4}"
                      f"/{row['frames']} (+{row['background_detections']} in the background), "
                      f"busy {row['busy_ms_mean']:.1f} ms {'ok' if row['ok'] else 'WORSE'}")
    save_result({"rows": rows, "reference": "every = 1 (detect every frame)",
                 "date": time.strftime("%Y-%m-%d %H:%M:%S")}, a.json, RESULTS_ROOT / "live", "sparse_detection",
                indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
