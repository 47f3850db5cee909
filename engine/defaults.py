"""Every default setting in one place, read by the engine, the CLI and the GUI.

A default that two layers need lives here and nowhere else: the live engine's config, the CLI's argparse defaults and
the GUI's widgets all take their starting values from these frozen dataclasses, so they can never disagree.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DetectorDefaults:
    """Person detector: YOLO input size and confidence tuned for a CPU; detection every frame; ByteTrack ids."""

    kind: str = "auto"  # "auto" | .pt path | YOLO name | "none" (whole-frame box)
    imgsz: int = 320
    conf: float = 0.35
    every: int = 1
    tracker: str = "bytetrack"
    trackers: tuple[str, ...] = ("bytetrack", "botsort", "iou", "none")


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


@dataclass(frozen=True)
class LiveDefaults:
    source: str = "demo"
    models: tuple[str, ...] = ("blazepose-full",)  # bundled and trained: a real skeleton offline (issue 16)
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


DETECTOR = DetectorDefaults()
ROOT = RootDefaults()
CAMERA = CameraDefaults()
INFERENCE = InferenceDefaults()
LIVE = LiveDefaults()
BENCHMARK = BenchmarkDefaults()
