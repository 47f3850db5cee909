"""Every default setting in one place, read by the engine, the CLI and the GUI.

A default that two layers need lives here and nowhere else: the live engine's config, the CLI's argparse defaults and
the GUI's widgets all take their starting values from these frozen dataclasses, so they can never disagree.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DetectorDefaults:
    """Person detector: YOLO input size and confidence tuned for a CPU; ByteTrack ids. Detection only when needed:
    between detections boxes come from the previous poses; a lost track or a pose confidence under
    ``min_pose_confidence`` detects at once, and ``every`` frames at the latest pick up newcomers (30: one second
    of a 30 fps camera; ``python -m bench.sparse_detection`` finds every person-frame and no more id switches than
    detecting every frame on both demo clips at 10 and 30, and ``bench.live_pipeline`` shows each background
    detection costs the pose models about 10 % of a frame's time while it runs, so fewer is steadier)."""

    kind: str = "auto"  # "auto" | .pt path | YOLO name | "none" (whole-frame box)
    imgsz: int = 320
    conf: float = 0.35
    every: int = 30
    min_pose_confidence: float = 0.5  # MediaPipe's own threshold on BlazePose's pose-present score
    # the bundled detectors' periodic detection runs on a background thread (engine.live.detector_refresh)
    background: bool = True
    # ... and at most once a second of wall time: a newcomer waits about a second whatever the frame rate, and a
    # pipeline faster than the camera (a file, 60 FPS) does not search more often than a 30 fps camera makes it
    search_every_s: float = 1.0
    tracker: str = "bytetrack"
    trackers: tuple[str, ...] = ("bytetrack", "botsort", "iou", "none")
    # The bundled NanoDet-g (offline "auto" without YOLO weights). Its scores are IoU-quality scores, lower than
    # YOLO's, so it has its own threshold: at 416 px, 0.3 finds all 4 persons of ultralytics' bus.jpg (0.35: 2) and
    # 6.4 per frame on demo_walk.mp4; 320 px loses people on the walk clip (4.9 at 0.35).
    nanodet_imgsz: int = 416
    nanodet_score: float = 0.3


@dataclass(frozen=True)
class RootDefaults:
    """Absolute depth: which RootNet runs, how often, and the fixed depth used when none can run."""

    rootnet: str = "rootnet-r50-muco"  # live: the MuCo-trained demo snapshot (multi-person scenes)
    benchmark_rootnet: str = "rootnet-r50"  # Human3.6M benchmark (root="rootnet-model"): the Protocol 2 snapshot
    every: int = 1
    default_root_mm: float = 4000.0
    bbox_real_mm: tuple[float, float] = (2000.0, 2000.0)  # RootNet's assumed real-world box size (its k-value)


@dataclass(frozen=True)
class CameraDefaults:
    """An uncalibrated webcam is assumed to have this horizontal field of view."""

    hfov_deg: float = 60.0


@dataclass(frozen=True)
class InferenceDefaults:
    device: str = "auto"
    precision: str = "fp32"
    flip_test: bool = False  # live: off (doubles the cost); the benchmark turns it on like the papers
    # The most crops one CPU forward takes (0 = the whole batch; GPUs always take it whole). No limit: once freed
    # memory is kept (``engine.inference.cpu_memory``) a larger batch costs no more per crop, usually less
    # (``python -m bench.micro_batch``); a positive value caps the activation memory of one call.
    cpu_micro_batch: int = 0
    # A CPU forward takes at most as many crops as fit this much activation memory (0 = no cap), so a benchmark of
    # any model stays well under 8 GiB resident (engine.inference.forward_cap; python -m bench.benchmark_memory).
    cpu_forward_budget_mb: int = 2048
    cpu_workspace_factor: float = 1.5  # a forward's memory over its declared peak activations (convolution buffers)
    cpu_crop_mb_default: float = 512.0  # per crop, for a model that declares no activation memory (ONNX files)
    # Which test-time conventions a Predictor runs (engine.inference.conventions.PROTOCOL_MODES): "common" runs every
    # model through the 3DMPPE crop and back-projection; the benchmark defaults to each model's "official" ones.
    protocol_mode: str = "common"


@dataclass(frozen=True)
class LiveDefaults:
    source: str = "demo"
    # bundled and trained: an arena offline (two sizes side by side; heavy is ~3x full per crop on 2 cores, so it is
    # offered, not defaulted)
    models: tuple[str, ...] = ("blazepose-lite", "blazepose-full")
    max_default_models: int = 3  # the default view adds installed official models up to this many in all
    max_persons: int = 8  # slots per frame in a recording
    stats_window: int = 120  # frames in the rolling latency statistics


@dataclass(frozen=True)
class BenchmarkDefaults:
    """The Human3.6M benchmark as the papers ran it: Protocol 2, GT root, flip test on."""

    protocol: int = 2
    root: str = "gt"  # gt | rootnet | rootnet-model
    flip: bool = True
    batch_size: int = 32
    num_workers: int = 2
    check_images: str = "exists"  # none | exists | all
    protocol_mode: str = "official"  # official: each model as its own test runs it | common: all through 3DMPPE's


@dataclass(frozen=True)
class StreamDefaults:
    """The live OSC stream (engine/live/stream): loopback and the VMC protocol's usual port unless the user sets
    another address; a few frames of queue so a slow receiver drops frames instead of holding them."""

    host: str = "127.0.0.1"
    port: int = 39539
    format: str = "plain"  # "plain" (/posearena/pose) | "vmc"
    queue_frames: int = 4


@dataclass(frozen=True)
class H36MSampling:
    """Human3.6M's test set as 3DMPPE defines it: every ``step``-th frame of videos filmed at ``fps``. A fact of the
    data, not a setting: the dataset reader and the Human3.6M compare measures both read it from here."""

    step: int = 64  # test frames: frame_idx % step == 0
    fps: float = 50.0  # the videos' frame rate (frame_idx counts frames at this rate)


DETECTOR = DetectorDefaults()
ROOT = RootDefaults()
CAMERA = CameraDefaults()
INFERENCE = InferenceDefaults()
LIVE = LiveDefaults()
BENCHMARK = BenchmarkDefaults()
STREAM = StreamDefaults()
H36M_SAMPLING = H36MSampling()
