"""End-to-end speed of the live pipeline, and how much the engine adds on top of the networks.

    python -m bench.live_pipeline [--quick] [--profile cpu|gpu] [--models a,b] [--frames N] [--json OUT]

Runs ``LiveEngine`` on the demo video as fast as possible (lockstep: every frame, one in flight, no drops) and
reports throughput FPS, end-to-end latency and, per frame, the busy time of the inference thread (take -> publish)
against the sum of the network forwards measured in the same run (detector + RootNet when it ran + every pose
model). ``overhead = busy - forwards`` is what the engine itself costs (crops, decoding, smoothing, bookkeeping);
``ratio = busy / forwards`` should stay close to 1.

Profiles: ``cpu`` (default without CUDA) = the lightest pose model, YOLO at 320 px, RootNet every 5 frames;
``gpu`` = PoseNet, ConvNeXtPose-L and MobileHumanPose-LPSKI, YOLO at 640, RootNet every frame.
Weights are random unless installed (the result says which): speed does not depend on them. Without YOLO weights,
a random-weight YOLO built from its yaml runs for the timing and a whole-frame box feeds the pose models, so the
work per frame is the same as with a real detector finding one person.

Writes JSON to ``bench/results/live/<device>[-quick].json`` (atomically).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import RESULTS_ROOT, device_name, save_result, slugify
from engine.live.detector import Detections, PersonDetector, WholeFrameDetector, YoloPersonDetector, make_detector

RESULTS_DIR = RESULTS_ROOT / "live"
PROFILES: dict[str, dict[str, Any]] = {
    "cpu": dict(models=None, imgsz=320, rootnet_every=5),  # None: the lightest registered pose model
    "gpu": dict(models=("posenet-r50", "convnextpose-l", "mhp-lpski"), imgsz=640, rootnet_every=1),
}


def lightest_pose_model() -> str:
    from engine.inference.net_io import torch_built
    from models import all_specs

    specs = [s for s in all_specs() if not s.is_root_model and torch_built(s)]  # torch pose nets
    return min(specs, key=lambda s: (s.gmacs or float("inf"), s.params or 0)).name


class TimingDetector(PersonDetector):
    """Random-weight YOLO for the timing + one whole-frame box for the persons (see the module docstring)."""

    def __init__(self, imgsz: int, device: str | None) -> None:
        super().__init__(1)
        from ultralytics import YOLO

        path = Path(tempfile.mkdtemp(prefix="posearena-bench-")) / "yolov8n-random.pt"
        YOLO("yolov8n.yaml").save(str(path))
        self.yolo = YoloPersonDetector(path, imgsz=imgsz, tracker="iou", device=device)
        self.whole = WholeFrameDetector()
        self.label = f"{self.yolo.label}, untrained (timing only) + whole-frame box"

    def _detect(self, image_bgr: np.ndarray) -> Detections:
        self.yolo(image_bgr)
        return self.whole(image_bgr)


def _device_name(device: str) -> str:
    """bench.common's device name, with the device's "CUDA " prefix on a GPU (as earlier result files have it)."""
    from engine.inference.device import pick_device

    d = pick_device(device)
    return f"CUDA {device_name(d)}" if d.type == "cuda" else device_name(d)


def run(profile: str, models: tuple[str, ...] | None, frames: int, warmup: int, device: str,
        precision: str) -> dict[str, Any]:
    from engine.live.engine import LiveConfig, LiveEngine

    prof = PROFILES[profile]
    names = models or prof["models"] or (lightest_pose_model(),)
    config = LiveConfig(source="demo", models=tuple(names), allow_untrained=True, imgsz=prof["imgsz"],
                        rootnet="rootnet-r50", rootnet_every=prof["rootnet_every"], realtime=False,
                        drop_frames=False, device=device, precision=precision, max_frames=warmup + frames)
    dev = None if device == "auto" else device
    detector = make_detector("auto", imgsz=prof["imgsz"], device=dev)
    if isinstance(detector, WholeFrameDetector):
        detector = TimingDetector(prof["imgsz"], dev)
    engine = LiveEngine(config, detector=detector)
    rows: list[dict[str, float]] = []
    t_first: list[float] = []

    def collect(r: Any) -> None:
        if r.frame_id < warmup:
            return
        if not t_first:
            engine.reset_stats()
            t_first.append(r.result_ts)
        lat = r.latencies_ms
        forwards = lat.get("detect", 0.0) + lat.get("rootnet", 0.0) + sum(lat.get(m, 0.0) for m in names)
        busy = lat["end_to_end"] - lat["wait"]
        rows.append(dict(busy=busy, forwards=forwards, e2e=lat["end_to_end"], t=r.result_ts,
                         persons=r.num_persons))

    engine.subscribe(collect)
    t0 = time.perf_counter()
    with engine:
        engine.wait()
    wall = time.perf_counter() - t0
    if engine.error is not None:
        raise engine.error
    stats = engine.stats()
    busy = np.array([r["busy"] for r in rows])
    fwd = np.array([r["forwards"] for r in rows])
    ts = np.array([r["t"] for r in rows])
    fps = (len(ts) - 1) / (ts[-1] - ts[0]) if len(ts) >= 2 and ts[-1] > ts[0] else float("nan")
    trained = {m.name: m.trained for m in engine.models}
    if engine.rootnet_info is not None:
        trained[engine.rootnet_info.name] = engine.rootnet_info.trained
    return {
        "device": _device_name(device), "profile": profile, "models": list(names), "precision": precision,
        "detector": engine.detector.label if engine.detector else "", "rootnet_every": config.rootnet_every,
        "imgsz": config.imgsz, "frames": len(rows), "warmup": warmup, "wall_s": round(wall, 2),
        "trained": trained, "weights": "random (untrained) unless trained=true: speed only",
        "fps": round(float(fps), 2),
        "busy_ms_mean": round(float(busy.mean()), 2) if len(busy) else None,
        "forwards_ms_mean": round(float(fwd.mean()), 2) if len(fwd) else None,
        "overhead_ms_mean": round(float((busy - fwd).mean()), 2) if len(busy) else None,
        "ratio_busy_over_forwards": round(float(busy.sum() / fwd.sum()), 3) if fwd.sum() > 0 else None,
        "end_to_end_ms_mean": round(float(np.mean([r["e2e"] for r in rows])), 2) if rows else None,
        "note": "lockstep run: end_to_end includes waiting for the previous frame; with a live source the "
                "latency is about capture + busy",
        "stages": {k: {"mean": round(s.mean, 2), "p50": round(s.p50, 2), "p95": round(s.p95, 2), "n": s.count}
                   for k, s in stats.stages.items()},
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="CI smoke: a few frames")
    ap.add_argument("--profile", choices=tuple(PROFILES), default=None, help="default: gpu with CUDA, else cpu")
    ap.add_argument("--models", default="", help="comma-separated pose models (overrides the profile)")
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precision", default="fp32", choices=("fp32", "fp16", "bf16"))
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--json", default=None, help="output path (default bench/results/live/<device>.json)")
    a = ap.parse_args(argv)
    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    profile = a.profile or ("gpu" if torch.cuda.is_available() and a.device != "cpu" else "cpu")
    frames, warmup = (4, 1) if a.quick else (a.frames, a.warmup)
    models = tuple(m for m in a.models.split(",") if m) or None
    res = run(profile, models, frames, warmup, a.device, a.precision)
    print(f"live pipeline on {res['device']} ({res['profile']} profile): {', '.join(res['models'])}; "
          f"detector {res['detector']}; RootNet every {res['rootnet_every']}")
    for k, s in res["stages"].items():
        print(f"  {k:<24}{s['mean']:>9.1f} ms  (p95 {s['p95']:.1f}, n={s['n']})")
    print(f"FPS {res['fps']:.2f} | busy {res['busy_ms_mean']:.1f} ms/frame vs network forwards "
          f"{res['forwards_ms_mean']:.1f} ms -> engine overhead {res['overhead_ms_mean']:.1f} ms, "
          f"ratio {res['ratio_busy_over_forwards']}")
    save_result(res, a.json, RESULTS_DIR, slugify(res["device"]), "-quick" if a.quick else "", indent=1, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
