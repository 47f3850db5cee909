"""``python main.py live``: run the live pipeline headless and report per-stage latency and FPS (a video file or an
image folder: every frame, unless ``--realtime``; ``--record`` HDF5, ``--save-video`` overlay MP4);
``python main.py live export REC.h5 --format csv|trc|c3d|jsonl|mp4|bvh``: export a recording (docs/outputs.md);
``--stream osc://HOST:PORT``: send each frame's pose over OSC while it runs."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from cli import command
from cli.console import number
from engine.defaults import CAMERA, DETECTOR, INFERENCE, LIVE, ROOT, STREAM

if TYPE_CHECKING:
    from engine.live.config import LiveConfig
    from engine.live.engine import LiveEngine
    from engine.live.results import EngineStats, LiveResult
    from engine.live.source_base import SourceEvent

DEFAULT_MODELS = ",".join(LIVE.models)
PRECISIONS = ("fp32", "fp16", "bf16")


class _ProfileNames:
    """``engine.inference.fast_paths.PROFILES`` names, imported on first use: building the parser must not import torch
    (every subcommand's parser is built on each start, including ``--help``)."""

    def _names(self) -> tuple[str, ...]:
        from engine.inference.fast_paths import PROFILES

        return tuple(PROFILES)

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


PROFILE_NAMES = _ProfileNames()


def _positive_int(text: str) -> int:
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def add_engine_args(p: argparse.ArgumentParser | argparse._ArgumentGroup, *, tuning: bool = True) -> None:
    """The detector, RootNet and device arguments of ``live`` (``compare`` records with them too). ``tuning``: also
    ``--conf``, ``--det-every``, ``--tracker`` and ``--rootnet-every``."""
    p.add_argument("--detector", default=DETECTOR.kind,
                   help="auto | YOLO .pt path | YOLO model name | none (whole-frame box)")
    p.add_argument("--imgsz", type=_positive_int, default=DETECTOR.imgsz,
                   help="detector input size (default %(default)s: for a CPU; 640 suits a GPU)")
    if tuning:
        p.add_argument("--conf", type=number(low=0.0, high=1.0), default=DETECTOR.conf,
                       help="detector confidence threshold (default %(default)s)")
        p.add_argument("--det-every", type=_positive_int, default=DETECTOR.every,
                       help="detect every N frames; boxes follow the poses in between")
        p.add_argument("--tracker", default=DETECTOR.tracker, choices=DETECTOR.trackers,
                       help="person ids across frames (default %(default)s)")
    p.add_argument("--rootnet", default=ROOT.rootnet,
                   help="RootNet model for absolute depth, or 'none' (default %(default)s)")
    if tuning:
        p.add_argument("--rootnet-every", type=_positive_int, default=ROOT.every, help="run RootNet every K frames")
    p.add_argument("--device", default=INFERENCE.device, help="auto | cpu | cuda | cuda:N")


@command("live", help="run the live pipeline (source -> detector -> models) headless; 'live export' converts a "
                      "recording to CSV/TRC/C3D/JSON lines/MP4/BVH")
class LiveCommand:
    @staticmethod
    def configure(p: argparse.ArgumentParser) -> None:
        p.add_argument("--source", default=LIVE.source, help="demo | camera INDEX | video file | image folder | URL")
        p.add_argument("--models", default=None, help=f"comma-separated model names (default: {DEFAULT_MODELS}, "
                                                      "the bundled trained model, plus installed official models)")
        p.add_argument("--frames", type=_positive_int, default=None, help="stop after N processed frames")
        p.add_argument("--duration", type=number(), default=None,  # finite here; positive: checked in _config
                       help="stop after S seconds")
        p.add_argument("--record", metavar="FILE.h5", default=None,
                       help="record results to HDF5 (an existing file is refused unless --overwrite)")
        p.add_argument("--save-video", metavar="FILE.mp4", default=None,
                       help="write the overlay video (each model's 2D skeletons over the frames, mp4v) during the run")
        p.add_argument("--overwrite", action="store_true", help="let --record / --save-video replace existing files")
        p.add_argument("--stream", metavar="osc://HOST:PORT", nargs="?", const=f"osc://{STREAM.host}:{STREAM.port}",
                       default=None, help="send each frame's pose over OSC/UDP to this address only (default "
                                          f"osc://{STREAM.host}:{STREAM.port}, loopback; docs/outputs.md)")
        p.add_argument("--stream-format", default=STREAM.format, metavar="plain|vmc",
                       help="plain: /posearena/pose joints in metres (TouchDesigner, Max); vmc: VMC protocol bone "
                            "rotations (VSeeFace, Unity, Blender add-ons). Default %(default)s")
        p.add_argument("--stream-model", metavar="NAME", default=None,
                       help="the model whose poses are streamed (default: the first of --models)")
        p.add_argument("--allow-untrained", action="store_true",
                       help="run models without weights on random weights (labelled untrained; speed tests only)")
        add_engine_args(p)
        p.add_argument("--precision", default=INFERENCE.precision, choices=PRECISIONS)
        p.add_argument("--channels-last", action="store_true")
        p.add_argument("--profile", metavar="NAME", default=None, choices=PROFILE_NAMES,
                       help="inference fast path: %(choices)s (default: none, i.e. --precision and --channels-last "
                            "decide, which is fp32 eager torch). fp16 and cuda_graphs need CUDA; onnxruntime exports "
                            "each model to ONNX once (cached) and cannot be combined with --precision/--channels-last")
        p.add_argument("--flip-test", action=argparse.BooleanOptionalAction, default=INFERENCE.flip_test,
                       help="average with the mirrored crop (doubles the cost; default: %(default)s)")
        p.add_argument("--no-smoothing", action="store_true", help="publish raw poses only (smoothed = raw)")
        p.add_argument("--intrinsics", default=None, help="camera calibration (OpenCV YAML or JSON)")
        p.add_argument("--hfov", type=number(low=0.0, high=180.0, low_open=True, high_open=True),
                       default=CAMERA.hfov_deg,
                       help="assumed horizontal FOV in degrees without a calibration (default %(default)s)")
        p.add_argument("--realtime", action="store_true",
                       help="pace a video file / image folder at its frame rate like a camera, dropping the frames "
                            "the models cannot keep up with (default: every frame, in order, as fast as they run; "
                            "cameras and streams always keep only the newest frame)")
        p.add_argument("--asap", action="store_true", help=argparse.SUPPRESS)  # deprecated: now the default
        p.add_argument("--weights-dir", default=None)
        p.add_argument("--json", metavar="FILE", default=None, help="write the final statistics as JSON")
        p.add_argument("--headless", action="store_true", help="no live status line; only the final report")
        sub = p.add_subparsers(dest="live_action", metavar="ACTION")
        ex = sub.add_parser("export", help="export a recording to CSV, TRC, C3D, JSON lines, an overlay MP4 or BVH",
                            description="Export a PoseArena live recording (HDF5); the formats are described in "
                                        "docs/outputs.md.")
        ex.add_argument("recording", help="the .h5 file written by --record")
        ex.add_argument("--format", dest="fmt", default="csv",
                        help="csv | trc | c3d (one person, y up) | jsonl (every frame, person, model, named joints) "
                             "| mp4 (overlay video) | bvh (one person's animated skeleton, Y up, cm)")
        ex.add_argument("--model", default=None, help="which model's joints (needed when several were recorded; "
                                                      "mp4: only this model)")
        ex.add_argument("--kind", default=None, choices=("smoothed", "raw"), help="default: smoothed")
        ex.add_argument("--field", default=None, choices=("joints_cam_mm", "joints_rel_mm", "joints_2d"),
                        help="csv/trc/c3d: which joints (default joints_cam_mm)")
        ex.add_argument("--track", type=int, default=None, help="one track id (TRC/C3D/BVH default: the most seen)")
        ex.add_argument("--units", default=None, choices=("mm", "cm", "m"),
                        help="trc/c3d units (default mm); bvh units (default cm)")
        ex.add_argument("--source", dest="export_source", default=None,
                        help="mp4: the recorded video or image folder (default: the path stored in the recording; "
                             "without it the skeletons are drawn on a blank frame)")
        ex.add_argument("--out", required=True, help="output file (an existing one is refused unless --overwrite)")
        ex.add_argument("--overwrite", dest="export_overwrite", action="store_true",
                        help="replace an existing output file")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        if getattr(args, "live_action", None) == "export":
            return _export(args)
        return _live(args)


def _export(args: argparse.Namespace) -> int:
    from engine.live.export.mocap import ExportError, export_recording

    given = {"model": args.model, "kind": args.kind, "field": args.field, "track": args.track, "units": args.units,
             "source": args.export_source}
    terminated: list[int] = []

    def on_term(signum: int, _frame: FrameType | None) -> None:  # SIGTERM stops like Ctrl-C: the temp files are removed
        terminated.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term) if threading.current_thread() is threading.main_thread() \
        else None
    try:
        out = export_recording(args.recording, args.fmt, args.out, overwrite=args.export_overwrite,
                               **{k: v for k, v in given.items() if v is not None})
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        kept = "the previous file is unchanged" if Path(args.out).exists() else "nothing was written"
        print(f"error: export interrupted; {args.out}: {kept}", file=sys.stderr)
        return 143 if terminated else 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print(f"wrote {out}")
    if getattr(out, "note", ""):
        print(out.note)
    return 0


def _config(args: argparse.Namespace) -> LiveConfig:
    from engine.live.engine import LiveConfig
    from engine.live.smoothing import DEFAULT_POSE

    if args.models is None:
        from engine.live.default_models import default_live_models
        from models.weights.store import find_weights

        models = tuple(default_live_models(lambda m: find_weights(m, args.weights_dir) is not None))
    else:
        models = tuple(m.strip() for m in args.models.split(",") if m.strip())
        if not models:
            raise ValueError("--models lists no model names (give comma-separated names, e.g. blazepose-full)")
    if args.duration is not None and args.duration <= 0:
        raise ValueError(f"--duration must be positive (seconds), got {args.duration:g}")
    from cli.console import check_precision_device, check_profile_device

    check_profile_device(args.profile, args.device)
    check_precision_device(args.precision, args.device)
    return LiveConfig(
        source=args.source, models=models, allow_untrained=args.allow_untrained, weights_dir=args.weights_dir,
        detector=args.detector, imgsz=args.imgsz, det_conf=args.conf, det_every=args.det_every, tracker=args.tracker,
        rootnet=None if args.rootnet.lower() == "none" else args.rootnet, rootnet_every=args.rootnet_every,
        device=args.device, precision=args.precision, channels_last=args.channels_last, profile=args.profile,
        flip_test=args.flip_test, smoothing=None if args.no_smoothing else DEFAULT_POSE, intrinsics=args.intrinsics,
        hfov_deg=args.hfov, realtime=bool(args.realtime and not args.asap), max_frames=args.frames,
        record=None,  # the recorder is made in _live (it needs --overwrite, which LiveConfig does not carry)
        stream=_stream_address(args), stream_format=args.stream_format, stream_model=args.stream_model)


def _stream_address(args: argparse.Namespace) -> str | None:
    """The checked ``--stream`` address (ValueError names what is wrong), or None."""
    if args.stream is None:
        return None
    from engine.live.stream.sender import parse_stream_address

    host, port = parse_stream_address(args.stream)
    return f"osc://{host}:{port}"


class _Status:
    """Prints one status line per second from the result callback (cheap: no work when not due)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._next = 0.0
        self._tty = sys.stdout.isatty()
        self.last: LiveResult | None = None

    def __call__(self, r: LiveResult) -> None:
        self.last = r
        if not self.enabled or time.monotonic() < self._next:
            return
        self._next = time.monotonic() + 1.0
        line = (f"frame {r.frame_id} | {r.fps:.1f} FPS | end-to-end {r.end_to_end_ms:.0f} ms | "
                f"{r.num_persons} person(s) | dropped {r.dropped_frames}")
        print(("\r" + line) if self._tty else line, end="" if self._tty else "\n", flush=True)


def _expected_errors() -> tuple[type[BaseException], ...]:
    """Errors of a bad setup (weights, checkpoint, source, detector, calibration, recording file): one line each."""
    from engine.inference.camera import IntrinsicsError
    from engine.live.detector import DetectorError
    from engine.live.recording.writer import RecordingError
    from engine.live.sources import SourceError
    from models.checkpoint import CheckpointError
    from models.loader import WeightsMissingError
    from models.weights.store import WeightsError

    return (WeightsMissingError, WeightsError, CheckpointError, SourceError, DetectorError, IntrinsicsError,
            RecordingError, ValueError, KeyError, OSError)


def _start(engine: LiveEngine, args: argparse.Namespace) -> None:
    """Prepare the engine, open the recording (refusing an existing file unless --overwrite), start."""
    from engine.live.recording.writer import LiveRecorder

    engine.prepare()
    _check_calibration(engine, args)
    if args.record:
        engine.recorder = LiveRecorder(args.record, engine.models, max_persons=engine.config.max_persons,
                                       attrs=engine.recording_attrs(), overwrite=args.overwrite)
    if args.save_video:
        from engine.live.export.overlay_video import OverlayVideoWriter

        info = engine.source.info if engine.source is not None else None
        writer = OverlayVideoWriter(args.save_video, (info.fps if info and info.fps else 0) or 30.0,
                                    overwrite=args.overwrite)
        models = list(engine.models)
        engine.subscribe(lambda r: writer.write_result(r, models))
        args._video_writer = writer
    engine.start()


def _check_calibration(engine: LiveEngine, args: argparse.Namespace) -> None:
    """The calibration against the source's frame size before any frame: another aspect ratio is refused
    (IntrinsicsError, one line), a scaled one is said."""
    info = engine.source.info if engine.source is not None else None
    if not args.intrinsics or info is None or not info.width or not info.height:
        return
    from engine.inference.camera import load_intrinsics

    calib = load_intrinsics(args.intrinsics)
    scaled = calib.scaled_to(info.width, info.height)
    if scaled is not calib:
        print(f"note: camera calibration {scaled.source}", file=sys.stderr)


def _finish_video(args: argparse.Namespace) -> BaseException | None:
    """Close the --save-video writer (the file appears only now, whole); the error, if it failed."""
    writer = getattr(args, "_video_writer", None)
    if writer is None:
        return None
    if writer.error is not None:
        writer.abort()
        return writer.error
    try:
        path = writer.close()
    except OSError as e:
        return e
    print(f"video: {path} ({writer.frames} frames)" if path else "video: no frame was processed; nothing written")
    return None


def _live(args: argparse.Namespace) -> int:
    from engine.live.engine import LiveEngine

    try:
        cfg = _config(args)
    except _expected_errors() as e:  # a bad option, or an unreadable weights manifest while choosing the models
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return 2
    if args.record and Path(args.record).exists() and not args.overwrite:  # before loading any model
        print(f"error: {args.record}: already exists (an earlier recording?); choose another --record file or pass "
              f"--overwrite to replace it", file=sys.stderr)
        return 2
    if args.save_video and Path(args.save_video).exists() and not args.overwrite:
        print(f"error: {args.save_video}: already exists; choose another --save-video file or pass --overwrite to "
              f"replace it", file=sys.stderr)
        return 2
    status = _Status(not args.headless)
    errors: list[BaseException] = []

    def on_event(ev: SourceEvent) -> None:
        if ev.kind in ("lost", "reconnecting", "reconnected", "corrupt", "error"):
            print(f"\n[{ev.source}] {ev.kind}: {ev.message}", file=sys.stderr)

    engine = LiveEngine(cfg, on_result=status, on_error=errors.append, on_event=on_event)
    try:
        _start(engine, args)
    except _expected_errors() as e:
        print(f"error: {_one_line(e)}", file=sys.stderr)
        engine.stop()
        writer = getattr(args, "_video_writer", None)
        if writer is not None:
            writer.abort()
        return 2
    for note in engine.notes:
        print(f"note: {note}", file=sys.stderr)
    stop_at = time.monotonic() + args.duration if args.duration else None
    interrupted = False
    terminated: list[int] = []

    # SIGTERM (a service manager, timeout): stop like Ctrl-C
    def on_term(signum: int, _frame: FrameType | None) -> None:
        terminated.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term) if threading.current_thread() is threading.main_thread() \
        else None
    try:
        while not engine.wait(0.2):
            if stop_at is not None and time.monotonic() >= stop_at:
                break
    except KeyboardInterrupt:
        interrupted = True
    finally:
        engine.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    video_error = _finish_video(args)
    if video_error is not None:
        errors.append(video_error)
    if status.enabled and status._tty:
        print()
    stats = engine.stats()
    print(stats.summary())
    profile = _profile_label(engine, cfg)
    print(f"profile: {profile}")
    if status.last is not None and status.last.untrained:
        print("UNTRAINED (random weights, speed only): " + ", ".join(status.last.untrained))
    empty = "" if interrupted or errors else _no_frame_read(engine, stats)
    if empty and args.record:
        Path(args.record).unlink(missing_ok=True)  # a recording of nothing is not kept
    elif args.record:
        print(f"recording: {args.record}")
    if engine.streamer is not None:
        st = engine.streamer.stats()
        print(f"stream: {engine.streamer.address} ({args.stream_format}, {engine.streamer.model}): sent {st.sent} "
              f"frames, dropped {st.dropped}, send errors {st.errors}" + (f" ({st.last_error})" if st.last_error
                                                                          else ""))
    if args.json:
        _write_json(Path(args.json), stats, profile)
    if errors:
        print(f"error: {_one_line(errors[0])}", file=sys.stderr)
        return 1
    if empty:
        print(f"error: {empty}", file=sys.stderr)
        return 1
    return (143 if terminated else 130) if interrupted else 0


def _no_frame_read(engine: LiveEngine, stats: EngineStats) -> str:
    """Why a file source gave no frame at all (its header says 0 frames, or none decodes), or ''."""
    info = engine.source.info if engine.source is not None else None
    if stats.frames_processed or info is None or info.live:
        return ""
    said = f"its header announces {info.num_frames} frames" if info.num_frames else "its header announces none"
    return (f"{info.name}: no frame could be read ({said}): the file is empty or damaged; nothing was processed"
            f"{' and no recording written' if engine.recorder is not None else ''}")


def _one_line(e: BaseException) -> str:
    """The error as one line (plus indented detail lines), so it never reads like a second error or a traceback."""
    lines = [ln for ln in str(e).strip().splitlines() if ln.strip()] or [type(e).__name__]
    return "\n".join([lines[0], *(f"  {ln.strip()}" for ln in lines[1:])])


def _profile_label(engine: LiveEngine, cfg: LiveConfig) -> str:
    """The fast-path profile that ran (the predictor's own label when it has one)."""
    label = getattr(engine.predictor, "profile_label", None)
    if label:
        return str(label)
    if cfg.profile:
        return str(cfg.profile)
    parts = (["channels_last"] if cfg.channels_last else []) + ([cfg.precision] if cfg.precision != "fp32" else [])
    return "+".join(parts) or "fp32"


def _write_json(path: Path, stats: EngineStats, profile: str) -> None:
    from dataclasses import asdict

    from models.fileio import atomic_write_json  # lazy: importing the models package loads torch

    atomic_write_json(path, {**asdict(stats), "profile": profile}, indent=1, end="")

