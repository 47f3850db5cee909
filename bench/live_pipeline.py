"""The live pipeline against its limit: pipeline FPS over the bare forwards of the same models on the same crops.

    python -m bench.live_pipeline [--quick] [--scenarios default,blazepose,three,persons4,persons8]
                                  [--loaded] [--rootnet] [--frames N] [--warmup W] [--json OUT]

Each scenario runs ``LiveEngine`` headless on ``assets/demo_person.mp4`` (every frame in lockstep, one in flight, no
RootNet) and times the bare forwards (``Predictor.infer_cells``) of its pose models on the very crops the pipeline
gave them, one at a time spread evenly through the measured frames on the inference thread (those pauses are not
counted as pipeline time), so both sides of the ratio meet the same drift of this machine's speed (up to 20 % between
minutes; bare forwards timed in blocks before and after the frames gave ratios 0.69-0.84 for the same code).
``limit_ratio = pipeline FPS / (1000 / sum of forward
medians)``: 1.0 would mean the pipeline costs nothing beyond the networks. Per stage: median and p95 of the
frame's latencies; ``p95_over_median`` of the busy time (take -> publish) says how steady the frames are, and
``bare_forward_p95_over_median`` how steady the network alone was in the same minutes (the machine's own jitter).

Scenarios: ``default`` (the first-run view: ``LIVE.models`` plus installed official models), ``blazepose``
(``blazepose-full`` alone), ``three`` (blazepose-full + two torch models, random weights: timing only), and
``personsK`` (blazepose-full on K persons: the clip tiled side by side; the detector runs on the first tile and its
boxes are repeated on every tile, so each tile holds the same person). The person detector is the app's (``auto``),
detecting only when needed (``DETECTOR.every``).

``--loaded`` runs every scenario a second time while another process keeps one core busy (``bench.load``);
``--rootnet`` adds ``blazepose`` with RootNet on its own thread (untrained weights unless installed: timing only)
to compare the pose model's p95/median with and without it. Writes ``bench/results/live/limit-<device>.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import RESULTS_ROOT, device_name, save_result, slugify
from bench.load import CoreLoad
from engine.live.detector import make_detector
from engine.live.detector_refresh import Finder, FindingDetector
from engine.live.source_base import EndOfSource, FrameSource, SourceInfo

RESULTS_DIR = RESULTS_ROOT / "live"
CLIP = Path(__file__).resolve().parent.parent / "assets" / "demo_person.mp4"
THREE = ("blazepose-full", "mhp-lpski-w0.5", "convnextpose-xs")
TILES = {1: (1, 1), 4: (2, 2), 8: (4, 2)}  # persons -> (columns, rows)


class TiledClip(FrameSource):
    """The clip's frames, each tiled ``cols x rows`` (one person per tile), looped to ``frames`` frames."""

    kind = "tiled-clip"

    def __init__(self, path: Path, cols: int, rows: int, frames: int) -> None:
        super().__init__(f"{path.name} x{cols * rows}")
        import cv2

        cap = cv2.VideoCapture(str(path))
        self._images: list[np.ndarray] = []
        while True:
            ok, img = cap.read()
            if not ok:
                break
            self._images.append(np.tile(img, (rows, cols, 1)) if cols * rows > 1 else img)
        cap.release()
        self._n, self._i = frames, 0

    def _open(self) -> SourceInfo:
        h, w = self._images[0].shape[:2]
        return SourceInfo(self.kind, self.name, w, h, None, False, self._n)

    def _grab(self) -> np.ndarray:
        if self._i >= self._n:
            raise EndOfSource
        self._i += 1
        return self._images[(self._i - 1) % len(self._images)]


class TiledDetector(FindingDetector):
    """The app's detector on the first tile, its boxes repeated on every tile (the tracker keeps tiles apart), with
    the app's detector's schedule: detection only when needed, the periodic one in the background."""

    def __init__(self, inner: FindingDetector, cols: int, rows: int) -> None:
        super().__init__(inner.every_n, "iou", inner.background)
        self.inner, self.cols, self.rows = inner, cols, rows
        self.label = inner.label if cols * rows == 1 else f"{inner.label} on tile 1 of {cols * rows}"

    def _tiled(self, find: Finder) -> Finder:
        def tiled(image_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            h, w = image_bgr.shape[0] // self.rows, image_bgr.shape[1] // self.cols
            boxes, scores = find(image_bgr[:h, :w])
            offsets = [(c * w, r * h) for r in range(self.rows) for c in range(self.cols)]
            return (np.concatenate([boxes + np.array([x, y, 0, 0], np.float32) for x, y in offsets]),
                    np.tile(scores, len(offsets)))

        return tiled

    def _find(self, image_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._tiled(self.inner._find)(image_bgr)

    def _background_finder(self) -> Finder:
        return self._tiled(self.inner._background_finder())


def default_view_models() -> tuple[str, ...]:
    """What the first run shows: ``LIVE.models`` plus installed official models (``default_live_models``)."""
    from engine.live.default_models import default_live_models
    from models.loader import WeightsMissingError, load_model

    def has_weights(name: str) -> bool:
        try:
            load_model(name)
            return True
        except (WeightsMissingError, FileNotFoundError):
            return False

    return tuple(default_live_models(has_weights))


def scenario(name: str) -> tuple[tuple[str, ...], int]:
    """(models, persons) of a scenario name."""
    if name == "default":
        return default_view_models(), 1
    if name == "three":
        return THREE, 1
    if name.startswith("default"):
        return default_view_models(), int(name.removeprefix("default"))
    if name.startswith("persons"):
        return ("blazepose-full",), int(name.removeprefix("persons"))
    if name in ("blazepose", "rootnet"):
        return ("blazepose-full",), 1
    raise ValueError(f"unknown scenario {name!r}")


def _med_p95(v: list[float]) -> dict[str, float]:
    a = np.asarray(v, np.float64)
    med = float(np.median(a))
    return {"median": round(med, 2), "p95": round(float(np.percentile(a, 95)), 2),
            "p95_over_median": round(float(np.percentile(a, 95)) / med, 3) if med > 0 else None}


def run_scenario(name: str, frames: int, warmup: int, iters: int) -> dict[str, Any]:
    from engine.defaults import ROOT
    from engine.live.engine import LiveConfig, LiveEngine

    models, persons = scenario(name)
    cols, rows = TILES.get(persons, (persons, 1))
    rootnet = ROOT.rootnet if name == "rootnet" else None
    cfg = LiveConfig(source="bench", models=models, allow_untrained=True, rootnet=rootnet, realtime=False,
                     drop_frames=False, device="cpu", max_frames=warmup + frames)
    inner = make_detector("auto")
    if not isinstance(inner, FindingDetector):
        raise SystemExit(f"bench.live_pipeline tiles the bundled detectors; 'auto' gave {inner.label}")
    det = TiledDetector(inner, cols, rows)
    engine = LiveEngine(cfg, source=TiledClip(CLIP, cols, rows, warmup + frames), detector=det, compare=False)
    engine.prepare()
    crops: dict[str, Any] = {}
    real = engine.predictor.infer_cells

    def keep_crops(model: str, x: Any) -> np.ndarray:
        crops[model] = x
        return real(model, x)

    engine.predictor.infer_cells = keep_crops  # the same crops for the bare forwards below
    lat: list[dict[str, float]] = []
    times: list[float] = []

    bare: dict[str, list[float]] = {m: [] for m in models}

    def time_bare(n: int) -> None:
        for m in models:
            for _ in range(n):
                t0 = time.perf_counter()
                real(m, crops[m])
                bare[m].append((time.perf_counter() - t0) * 1e3)

    stride = max(1, frames // max(1, iters))  # bare forwards spread through the measured frames
    paused = [0.0]  # seconds the bare forwards held the inference thread amid the frames (not pipeline time)

    def collect(r: Any) -> None:
        k = r.frame_id - warmup
        if k == -1:  # warm the bare path once on the crops the pipeline just made
            for m in models:
                real(m, crops[m])
        elif k >= 0 and k % stride == stride // 2 and len(next(iter(bare.values()))) < iters:
            t0 = time.perf_counter()
            time_bare(1)
            paused[0] += time.perf_counter() - t0
        if k >= 0:
            lat.append(dict(r.latencies_ms, busy=r.latencies_ms["end_to_end"] - r.latencies_ms["wait"],
                            persons=r.num_persons))
            times.append(r.result_ts)

    engine.subscribe(collect)
    with engine:
        engine.wait()
    if engine.error is not None:
        raise engine.error
    engine.predictor.infer_cells = real
    fps = (len(times) - 1) / (times[-1] - times[0] - paused[0]) if len(times) >= 2 else float("nan")
    time_bare(max(0, iters - len(next(iter(bare.values())))))  # a short run: the rest after it
    forwards = {m: round(float(np.median(t)), 2) for m, t in bare.items()}
    bare_jitter = {m: round(float(np.percentile(t, 95) / np.median(t)), 3) for m, t in bare.items()}
    # the pipeline's FPS is a mean over frames: a network whose own mean sits above its median caps the ratio below 1
    bare_mean = {m: round(float(np.mean(t) / np.median(t)), 3) for m, t in bare.items()}
    limit_fps = 1000.0 / sum(forwards.values())
    stages = sorted({k for row in lat for k in row} - {"persons", "capture", "wait", "end_to_end"})
    rootnet_stage = engine.stats().stages.get("rootnet")
    return {
        "scenario": name, "models": list(models), "persons": persons,
        "persons_posed_mean": round(float(np.mean([r["persons"] for r in lat])), 2),
        "trained": {m.name: m.trained for m in engine.models}, "detector": det.label, "rootnet": rootnet,
        "frames": len(lat), "fps": round(fps, 2), "forward_median_ms": forwards, "limit_fps": round(limit_fps, 2),
        "bare_forward_p95_over_median": bare_jitter, "bare_forward_mean_over_median": bare_mean,
        "limit_ratio": round(fps / limit_fps, 3),
        "stages": {k: _med_p95([r[k] for r in lat if k in r]) for k in stages},
        "rootnet_ms": {"median": round(rootnet_stage.p50, 1), "runs": rootnet_stage.count} if rootnet_stage else None,
        "detections": det.detections, "background_detections": det.refreshes,
        "background_detect_ms": _med_p95(det.refresh_ms) if det.refresh_ms else None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="CI smoke: blazepose only, a few frames")
    ap.add_argument("--scenarios", default="default,default4,blazepose,three,persons4,persons8")
    ap.add_argument("--loaded", action="store_true", help="each scenario again with one core kept busy")
    ap.add_argument("--rootnet", action="store_true", help="blazepose again with RootNet on its own thread")
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--iters", type=int, default=30, help="bare forwards per model")
    ap.add_argument("--note", default="")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    import torch

    frames, warmup, iters = (6, 2, 3) if a.quick else (a.frames, a.warmup, a.iters)
    names = ["blazepose"] if a.quick else [s for s in a.scenarios.split(",") if s]
    if a.rootnet and "rootnet" not in names:
        names.insert(names.index("blazepose") + 1 if "blazepose" in names else len(names), "rootnet")
    runs: list[dict[str, Any]] = []
    for loaded in ([False, True] if a.loaded else [False]):
        for name in names:
            with CoreLoad(on=loaded, seconds=600):
                res = run_scenario(name, frames, warmup, iters)
            res["loaded"] = loaded
            runs.append(res)
            busy = res["stages"].get("busy", {})
            print(f"{name:<10}{' loaded' if loaded else ' quiet ':<8} {res['fps']:6.1f} FPS, limit "
                  f"{res['limit_fps']:6.1f} -> limit_ratio {res['limit_ratio']:.2f}; busy median "
                  f"{busy.get('median', 0):.1f} ms p95/median {busy.get('p95_over_median')} (bare forward "
                  f"{max(res['bare_forward_p95_over_median'].values())}); persons {res['persons_posed_mean']}")
            for k, s in res["stages"].items():
                print(f"    {k:<20}{s['median']:>8.1f} ms  p95 {s['p95']:>7.1f}")
    out = {"device": device_name(torch.device("cpu")), "clip": CLIP.name, "note": a.note,
           "weights": "random (untrained) unless trained=true: speed only", "runs": runs,
           "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    save_result(out, a.json, RESULTS_DIR, "limit-" + slugify(out["device"]), "-quick" if a.quick else "", indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
