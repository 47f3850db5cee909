"""``LiveConfig``: what one live run uses (source, models, detector, root depth, inference, outputs). Every default
comes from ``engine.defaults``, which the CLI and the GUI read too, so the three can never disagree."""

from __future__ import annotations

from dataclasses import dataclass

from engine.defaults import CAMERA, DETECTOR, INFERENCE, LIVE, ROOT, STREAM
from engine.inference.camera import CameraIntrinsics
from engine.live.smoothing import DEFAULT_POSE, DEFAULT_ROOT_DEPTH, OneEuroParams

__all__ = ["LiveConfig"]


@dataclass
class LiveConfig:
    source: str = LIVE.source
    models: tuple[str, ...] = LIVE.models  # the CPU profile: lightest model with published weights
    allow_untrained: bool = False
    weights_dir: str | None = None
    # detector
    detector: str | None = DETECTOR.kind  # "auto" | .pt path | YOLO name | "none" (whole-frame box)
    imgsz: int = DETECTOR.imgsz
    det_conf: float = DETECTOR.conf
    det_every: int = DETECTOR.every
    tracker: str = DETECTOR.tracker
    # root depth
    rootnet: str | None = ROOT.rootnet  # None: fixed default depth
    rootnet_every: int = ROOT.every
    root_filter: OneEuroParams | None = DEFAULT_ROOT_DEPTH  # None: RootNet depth used as is
    default_root_mm: float = ROOT.default_root_mm
    # inference
    device: str = INFERENCE.device
    precision: str = INFERENCE.precision
    channels_last: bool = False
    profile: str | None = None  # engine.inference.fast_paths.PROFILES name; None: precision + channels_last decide
    flip_test: bool = INFERENCE.flip_test
    smoothing: OneEuroParams | None = DEFAULT_POSE
    intrinsics: CameraIntrinsics | str | None = None  # None: from_fov(frame size, hfov_deg); or a calibration file
    hfov_deg: float = CAMERA.hfov_deg
    # source behaviour
    realtime: bool | None = None  # True: pace files at their fps (drops frames when behind, like a camera);
    # None: the kind's default: video files and image folders every frame in lockstep, the demo paced (a webcam
    # stand-in); False: everything as fast as possible. Cameras and streams always keep only the newest frame.
    drop_frames: bool | None = None  # None: newest-frame policy for live/realtime sources, lockstep otherwise
    loop: bool | None = None
    max_frames: int | None = None  # stop after this many processed frames
    # output
    record: str | None = None  # HDF5 path
    max_persons: int = LIVE.max_persons  # slots per frame in the recording
    stats_window: int = LIVE.stats_window
    stream: str | None = None  # "osc://HOST:PORT": send each result there (engine.live.stream); None: no stream
    stream_format: str = STREAM.format  # "plain" | "vmc"
    stream_model: str | None = None  # the model streamed; None: the first
