"""What one more person, and one more model, costs per frame: ``Predictor.predict_frame`` end to end.

    python -m bench.persons [--persons 1,2,4,8] [--models blazepose-full,mhp-lpski-w0.5,convnextpose-xs] [--profile P]
                            [--micro-batch N] [--detect IMGSZ]
                            [--iters 30] [--warmup 3] [--device auto] [--threads N] [--quick] [--note TEXT] [--json OUT]

Frames are real: ultralytics' bundled ``bus.jpg`` (four people, hand-given boxes; the BlazePose detector finds only
the nearest one, being made for near, large persons) and, for more than four persons, copies of it side by side
(8 persons = two copies, 10 = three copies, first ten boxes). The model sets grow one model at a time from the
``--models`` list (1, 2, 3, ... models). Per (models, persons): FPS (1000 / mean latency), median and p95 of the
end-to-end ``predict_frame`` latency (crops, every model's forward, decoding to camera mm), the median per model,
and the cost of one more person as a ratio to the one-person frame: ``(median(P) - median(1)) / (P - 1) / median(1)``
(target <= 0.6 on a CPU). No RootNet: roots are the default depth (a metric model places itself by its fit); the
live engine runs RootNet off the critical path. ``--detect 320`` adds the live frame's other step, a YOLO person
detector on the whole frame (random weights unless installed: the same work), so the ratio is then to a whole
one-person live frame.

How persons are batched (read from ``engine/inference/predictor.py``): crops are cut once per (input size,
normalisation) group and each model runs **one** batched forward over all persons of the frame (flip test in the
same batch); ``--micro-batch N`` caps the crops per forward (default none: ``INFERENCE.cpu_micro_batch``).
The bundled ``blazepose-full`` is a LiteRT model with a fixed ``[1,256,256,3]`` input, so its "batch" is a loop of
one-person invokes inside ``BlazePoseNet`` (a batch-resized interpreter gave the same numbers and cost no less:
XNNPACK is compute-bound on one crop already).

Weights: ``blazepose-full`` is the bundled trained model; the others run with random weights (labelled
"untrained": speed only). Writes ``bench/results/persons/<device>.json`` (``-quick`` suffix with ``--quick``).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench import common

RESULTS_DIR = common.RESULTS_ROOT / "persons"
DEFAULT_MODELS = ("blazepose-full", "mhp-lpski-w0.5", "convnextpose-xs")
# bus.jpg (810x1080): the four people, (x, y, w, h) in pixels, read off the image by hand
BUS_BOXES = np.array([[48, 398, 197, 504], [221, 405, 123, 452], [670, 380, 140, 495], [0, 550, 63, 323]],
                     dtype=np.float64)


def bus_image() -> np.ndarray:
    """ultralytics' bundled bus.jpg (BGR), found through the installed package (no network)."""
    import cv2
    import ultralytics

    path = Path(ultralytics.__file__).resolve().parent / "assets" / "bus.jpg"
    img = cv2.imread(str(path))
    if img is None:
        raise SystemExit(f"bench.persons: cannot read {path} (is ultralytics installed?)")
    return img


def frame_with_persons(n: int, image: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A BGR frame holding ``n`` real persons (bus.jpg copies side by side) and their [n,4] boxes (x, y, w, h)."""
    if n < 1:
        raise ValueError("at least one person")
    img = bus_image() if image is None else image
    copies = math.ceil(n / len(BUS_BOXES))
    frame = np.ascontiguousarray(np.concatenate([img] * copies, axis=1))
    w = img.shape[1]
    boxes = np.concatenate([BUS_BOXES + [k * w, 0, 0, 0] for k in range(copies)])[:n]
    return frame, boxes


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation (numpy's default)."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def time_frames(predictor, frame: np.ndarray, boxes: np.ndarray, iters: int, warmup: int, detector=None) -> dict:
    """End-to-end latency over ``iters`` frames after ``warmup``: FPS, median, p95, per part.

    A frame is ``predict_frame`` on the given boxes, after ``detector(frame)`` when a detector is given (its boxes
    are not used, so every frame holds exactly the persons asked for; the detector's work is the same)."""
    lat: list[float] = []
    parts: dict[str, list[float]] = {}
    for i in range(warmup + iters):
        t0 = time.perf_counter()
        if detector is not None:
            detector(frame)
        t_det = time.perf_counter()
        out = predictor.predict_frame(frame, boxes, None)
        dt = (time.perf_counter() - t0) * 1e3
        if i < warmup:
            continue
        lat.append(dt)
        if detector is not None:
            parts.setdefault("detect", []).append((t_det - t0) * 1e3)
        for k, v in out.timings_ms.items():
            parts.setdefault(k, []).append(v)
    if len(out.kept) != len(boxes):
        raise RuntimeError(f"predict_frame kept {len(out.kept)} of {len(boxes)} persons: {out.skipped}")
    return {
        "fps": round(1000.0 / statistics.fmean(lat), 2),
        "median_ms": round(statistics.median(lat), 2),
        "p95_ms": round(pct(lat, 95), 2),
        "max_ms": round(max(lat), 2),
        "parts_median_ms": {k: round(statistics.median(v), 2) for k, v in parts.items()},
        "iters": iters,
    }


def one_more_person(rows: list[dict]) -> dict[str, float]:
    """Per persons count P > 1: the cost of each person beyond the first as a fraction of the one-person frame."""
    base = next((r["median_ms"] for r in rows if r["persons"] == 1), None)
    if not base:
        return {}
    return {str(r["persons"]): round((r["median_ms"] - base) / (r["persons"] - 1) / base, 3)
            for r in rows if r["persons"] > 1}


def load(names: list[str]) -> list:
    from models.loader import load_model

    return [load_model(n, allow_untrained=True) for n in names]


def timing_detector(imgsz: int, device: str | None) -> Any:
    """A random-weight YOLO for the timing (the same work as trained weights), detecting every frame."""
    import tempfile

    from ultralytics import YOLO

    from engine.live.detector import YoloPersonDetector

    path = Path(tempfile.mkdtemp(prefix="posearena-bench-")) / "yolov8n-random.pt"
    YOLO("yolov8n.yaml").save(str(path))
    return YoloPersonDetector(path, imgsz=imgsz, tracker="iou", device=device, every_n=1)


def run(names: list[str], persons: list[int], iters: int, warmup: int, device: str, log=print,
        profile: str | None = None, micro_batch: int | None = None, detect_imgsz: int = 0) -> dict:
    from engine.inference.predictor import Predictor

    detector = None
    if detect_imgsz:
        detector = timing_detector(detect_imgsz, None if device == "auto" else device)
        log(f"  detector on every frame: {detector.label} (random weights: the same work as trained ones)")

    loaded = load(names)
    image = bus_image()
    frames = {p: frame_with_persons(p, image) for p in persons}
    sets = []
    for k in range(1, len(loaded) + 1):
        models = loaded[:k]
        pred = Predictor(models, None, device=device, profile=profile, micro_batch=micro_batch)
        used_micro_batch = pred.micro_batch
        rows = []
        for p in persons:
            frame, boxes = frames[p]
            r = {"persons": p, **time_frames(pred, frame, boxes, iters, warmup, detector)}
            rows.append(r)
            shown = [n for n in ("detect", *pred.models) if n in r["parts_median_ms"]]
            log(f"  {k} model(s) {p:2d} person(s): {r['fps']:7.2f} FPS  median {r['median_ms']:8.2f} ms  "
                f"p95 {r['p95_ms']:8.2f} ms  " + " ".join(f"{n}={r['parts_median_ms'][n]:.1f}" for n in shown))
        ratio = one_more_person(rows)
        per_model_ratio = {}
        for m in pred.models:
            ms = {r["persons"]: r["parts_median_ms"].get(m) for r in rows}
            if ms.get(1):
                per_model_ratio[m] = {str(p): round((v - ms[1]) / (p - 1) / ms[1], 3)
                                      for p, v in ms.items() if p > 1 and v is not None}
        sets.append({"models": [m.spec.name for m in models],
                     "weights": {m.spec.name: m.label for m in models},
                     "rows": rows, "one_more_person_ratio": ratio, "one_more_person_ratio_per_model": per_model_ratio})
        log(f"  {k} model(s): one more person costs {ratio} x the one-person frame (target <= 0.6)")
        del pred
    return {"sets": sets, "device": device, "profile": profile or "fp32", "micro_batch": used_micro_batch,
            "detector": detector.label if detector is not None else None}



def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.persons", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", default="1,2,4,8")
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS))
    common.add_timing_args(ap, iters=30, warmup=3)
    common.add_threads_arg(ap)
    ap.add_argument("--profile", default=None, metavar="NAME",
                    help="fast-path profile of the torch nets (engine.inference.fast_paths.PROFILES; default fp32)")
    ap.add_argument("--micro-batch", type=int, default=None, metavar="N",
                    help="most crops per forward (default: the device's, no cap; 0 = all persons in one call)")
    ap.add_argument("--detect", type=int, default=0, metavar="IMGSZ",
                    help="also run a YOLO person detector at this input size on every frame (the live critical path; "
                         "320 is the CPU default); 0 = models only")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1,2 persons, first model, 3 iterations")
    common.add_note_json_args(ap)
    a = ap.parse_args(argv)
    common.set_threads(a.threads)
    from engine.inference.device import pick_device

    device = pick_device(a.device)
    persons = common.csv_list(a.persons, int)
    names = common.csv_list(a.models)
    if a.quick:
        persons, names, a.iters, a.warmup = [1, 2], names[:1], 3, 1
    load0 = os.getloadavg()
    print(f"Persons per frame on {common.device_name(device)} (torch {torch.__version__}, load {load0[0]:.1f})")
    res = run(names, persons, a.iters, a.warmup, str(device), profile=a.profile, micro_batch=a.micro_batch,
              detect_imgsz=a.detect)
    result = {
        "what": "Predictor.predict_frame end-to-end latency by persons per frame and models per frame",
        "frames": "ultralytics bus.jpg (4 persons, hand-given boxes); more persons = copies side by side",
        "ratio": "one more person = (median(P) - median(1)) / (P - 1) / median(1); target <= 0.6",
        **common.machine_info(device, load0, a.note), "quick": a.quick, **res,
    }
    common.save_result(result, a.json, RESULTS_DIR, common.device_slug(device),
                       (f"-{a.profile}" if a.profile else "")
                       + (f"-mb{a.micro_batch}" if a.micro_batch is not None else "")
                       + (f"-detect{a.detect}" if a.detect else "") + ("-quick" if a.quick else ""),
                       indent=1, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
