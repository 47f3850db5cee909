"""PoseArena's one-person BlazePose pipeline against MediaPipe's own, on the same clip, in one run.

    python -m bench.mediapipe_peer [--python /tmp/mpvenv/bin/python] [--rounds 3] [--loops 2] [--no-load] [--json OUT]

MediaPipe runs the same landmark network (``pose_landmark_full.tflite``) in its own graph: the legacy
``mp.solutions.pose.Pose(model_complexity=1)`` in tracking mode (``static_image_mode=False``: it detects only when
its landmark-derived region is lost). It needs numpy<2, so it runs from a throw-away virtual environment
(``--python``; never an app dependency; recipe in ``docs/performance.md``) as a child process that decodes
``assets/demo_person.mp4`` itself and prints its timing. PoseArena runs ``LiveEngine`` (``blazepose-full``, the
app's detector, no RootNet, every frame in lockstep) on the same clip.

The two alternate ``--rounds`` times, first on a quiet machine, then while another process keeps one core busy
(``bench.load``). FPS = frames after the first 5 / their wall time (decoding included on both sides); the ratio is
PoseArena / MediaPipe (>= 1: at least MediaPipe's pace). Writes ``bench/results/live/mediapipe_peer.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import RESULTS_ROOT, save_result
from bench.load import CoreLoad

CLIP = Path(__file__).resolve().parent.parent / "assets" / "demo_person.mp4"
WARMUP = 5
CHILD = r"""
import json, sys, time
import cv2
import mediapipe as mp
path, loops, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
times, found = [], 0
with mp.solutions.pose.Pose(model_complexity=1, static_image_mode=False) as pose:
    for _ in range(loops):
        cap = cv2.VideoCapture(path)
        while True:
            ok, img = cap.read()
            if not ok:
                break
            res = pose.process(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            found += res.pose_landmarks is not None
            times.append(time.perf_counter())
        cap.release()
t = times[warmup:]
print(json.dumps({"frames": len(times), "fps": (len(t) - 1) / (t[-1] - t[0]), "found": found,
                  "version": mp.__version__}))
"""


def run_mediapipe(python: str, loops: int) -> dict[str, Any]:
    out = subprocess.run([python, "-c", CHILD, str(CLIP), str(loops), str(WARMUP)], capture_output=True, text=True,
                         timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"MediaPipe ({python}) failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_posearena(loops: int) -> dict[str, Any]:
    from engine.live.engine import LiveConfig, LiveEngine

    n = loops * 119
    cfg = LiveConfig(source=str(CLIP), models=("blazepose-full",), rootnet=None, realtime=False, drop_frames=False,
                     loop=loops > 1, max_frames=n, device="cpu")
    engine = LiveEngine(cfg, compare=False)
    times: list[float] = []
    found = [0]

    def collect(r: Any) -> None:
        times.append(r.result_ts)
        found[0] += r.num_persons > 0

    engine.subscribe(collect)
    with engine:
        engine.wait()
    if engine.error is not None:
        raise engine.error
    t = times[WARMUP:]
    det = engine.detector
    return {"frames": len(times), "fps": (len(t) - 1) / (t[-1] - t[0]), "found": found[0],
            "detector": det.label if det else "", "detections": getattr(det, "detections", None)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", default="/tmp/mpvenv/bin/python", help="the throw-away venv with mediapipe 0.10.21")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--loops", type=int, default=2, help="times through the clip per measurement")
    ap.add_argument("--no-load", action="store_true", help="skip the loaded half")
    ap.add_argument("--note", default="")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    if not Path(a.python).exists():
        print(f"{a.python}: no such interpreter; make the MediaPipe venv first (docs/performance.md)")
        return 2
    result: dict[str, Any] = {"clip": CLIP.name, "note": a.note, "rounds": a.rounds, "loops": a.loops}
    for loaded in ([False] if a.no_load else [False, True]):
        key = "loaded" if loaded else "quiet"
        rows = []
        with CoreLoad(on=loaded, seconds=900):
            for i in range(a.rounds):
                mp_run = run_mediapipe(a.python, a.loops)
                pa_run = run_posearena(a.loops)
                rows.append({"mediapipe": mp_run, "posearena": pa_run})
                print(f"{key} round {i + 1}: MediaPipe {mp_run['fps']:.1f} FPS, PoseArena {pa_run['fps']:.1f} FPS "
                      f"(ratio {pa_run['fps'] / mp_run['fps']:.2f}; person in {pa_run['found']}/{pa_run['frames']} "
                      f"vs {mp_run['found']}/{mp_run['frames']} frames)")
        mp_fps = statistics.median(r["mediapipe"]["fps"] for r in rows)
        pa_fps = statistics.median(r["posearena"]["fps"] for r in rows)
        result[key] = {"rounds": rows, "mediapipe_fps": round(mp_fps, 2), "posearena_fps": round(pa_fps, 2),
                       "ratio": round(pa_fps / mp_fps, 3)}
        print(f"{key}: MediaPipe {mp_fps:.1f} FPS, PoseArena {pa_fps:.1f} FPS (median of {a.rounds}), ratio "
              f"{pa_fps / mp_fps:.2f}")
    result["date"] = time.strftime("%Y-%m-%d %H:%M:%S")
    save_result(result, a.json, RESULTS_ROOT / "live", "mediapipe_peer", indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
