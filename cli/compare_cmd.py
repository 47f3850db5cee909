"""``posearena compare``: which model is steadier, more human-shaped, and how much the models agree, without ground
truth (measures: docs/metrics.md).

    posearena compare RECORDING.h5 [--out DIR] [--window N] [--no-plots]
    posearena compare --source VIDEO --models A,B,... [--frames N] [--out DIR]

The second form records first: the live engine runs headless with a recorder (``cli.live_cmd``'s own set-up, so the
flags mean the same), every frame of a file processed, not paced; then the recording is compared. Both write
``compare.json``, ``report.md`` and plots into ``--out`` and print the verdict lines.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from cli import command
from cli.console import error, number
from cli.live_cmd import add_engine_args


def _window(text: str) -> int:
    v = int(text)
    if v < 3:
        raise argparse.ArgumentTypeError(f"must be >= 3 frames (jitter needs three), got {v}")
    return v


@command("compare", help="compare models without ground truth (jitter, bone lengths, agreement) on a recording, "
                         "or record a source first")
class CompareCommand:
    @staticmethod
    def configure(p: argparse.ArgumentParser) -> None:
        p.add_argument("recording", nargs="?", default=None, help="a live recording (.h5) to compare")
        p.add_argument("--out", default=None, help="output folder (default: compare-<recording name> beside it, "
                                                   "or ./compare-<time> with --source)")
        p.add_argument("--window", type=_window, default=None,
                       help="also give the measures over consecutive windows of N frames")
        p.add_argument("--no-plots", action="store_true", help="compare.json and report.md only")
        g = p.add_argument_group("recording first (--source)")
        g.add_argument("--source", default=None, help="demo | video file | image folder | camera INDEX | URL")
        g.add_argument("--models", default=None, help="comma-separated model names (at least two to compare)")
        g.add_argument("--frames", type=number(int, low=1), default=None,
                       help="stop after N frames (default: the whole file)")
        g.add_argument("--record", metavar="FILE.h5", default=None,
                       help="where to keep the recording (default: OUT/recording.h5)")
        g.add_argument("--overwrite", action="store_true", help="replace an existing recording file")
        g.add_argument("--allow-untrained", action="store_true",
                       help="run models without weights on random weights (labelled untrained; flagged in the report)")
        add_engine_args(g, tuning=False)
        g.add_argument("--no-smoothing", action="store_true", help="record raw poses only (smoothed = raw)")
        g.add_argument("--weights-dir", default=None)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        if (args.recording is None) == (args.source is None):
            return error("give either a RECORDING.h5 to compare or --source (with --models) to record one first")
        if args.recording is not None:
            rec = Path(args.recording)
            out = Path(args.out) if args.out else rec.with_name(f"compare-{rec.stem}")
            return _compare(rec, out, args)
        out = Path(args.out) if args.out else Path(f"compare-{time.strftime('%Y%m%d-%H%M%S')}")
        rec = Path(args.record) if args.record else out / "recording.h5"
        rc = _record(args, rec)
        return rc if rc else _compare(rec, out, args)


def _live_args(args: argparse.Namespace, record: Path) -> argparse.Namespace:
    """The ``live`` command's arguments (its defaults) with this command's choices: the flags mean the same there."""
    from cli.live_cmd import LiveCommand

    parser = argparse.ArgumentParser(add_help=False)
    LiveCommand.configure(parser)
    ns = parser.parse_args([])
    for k in ("source", "models", "frames", "overwrite", "allow_untrained", "detector", "imgsz", "rootnet", "device",
              "no_smoothing", "weights_dir"):
        setattr(ns, k, getattr(args, k))
    ns.record, ns.asap, ns.headless = str(record), True, True  # every frame of a file, not paced
    return ns


def _record(args: argparse.Namespace, record: Path) -> int:
    """Run the live engine headless on ``--source`` into ``record``; 0 on success."""
    from cli.live_cmd import _config, _expected_errors, _one_line, _start
    from engine.live.engine import LiveEngine

    if not args.models:
        return error("--source needs --models A,B,... (the models to compare)")
    if args.frames is not None and args.frames < 3:
        return error(f"--frames must be at least 3 (jitter needs three frames), got {args.frames}")
    if record.exists() and not args.overwrite:
        return error(f"{record}: already exists (an earlier recording?); compare it with 'posearena compare "
                     f"{record}', or pass --overwrite / another --record file")
    ns = _live_args(args, record)
    try:
        cfg = _config(ns)
    except ValueError as e:
        return error(e)
    cfg.loop = False  # the demo loops by default: one pass over the clip
    record.parent.mkdir(parents=True, exist_ok=True)
    errors: list[BaseException] = []
    engine = LiveEngine(cfg, on_error=errors.append, compare=False)  # the comparison is done on the file
    try:
        _start(engine, ns)
    except _expected_errors() as e:
        engine.stop()
        return error(_one_line(e))
    for note in engine.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"recording {', '.join(m.label for m in engine.models)} on {args.source} -> {record}", file=sys.stderr)
    try:
        while not engine.wait(0.2):
            pass
    except KeyboardInterrupt:
        print("interrupted: comparing what was recorded", file=sys.stderr)
    finally:
        engine.stop()
    st = engine.stats()
    print(f"{st.frames_processed} frames processed at {st.fps:.1f} FPS", file=sys.stderr)
    if errors:
        return error(_one_line(errors[0]))
    return 0


def _compare(rec: Path, out: Path, args: argparse.Namespace) -> int:
    from engine.compare import compare_recording, write_all
    from engine.compare.report import verdict_lines
    from engine.h36m.outputs import staged_outputs
    from engine.live.recording.format import RecordingError

    try:
        empty = _nothing_to_compare(rec)
        if empty:
            return error(f"{rec}: {empty}; nothing to compare, nothing written")
        result = compare_recording(rec, window=args.window)
    except (RecordingError, OSError, KeyError, ValueError) as e:
        text = str(e.args[0] if isinstance(e, KeyError) and e.args else e)
        return error(text if str(rec) in text else f"{rec}: {text}")
    try:  # every file appears together, or none: a failure never leaves a half-written compare folder
        with staged_outputs(out) as stage:
            staged = write_all(result, stage, plots=not args.no_plots)
        files = {k: out / Path(v).relative_to(stage) for k, v in staged.items()}
    except OSError as e:
        return error(f"{out}: cannot write the comparison ({e})")
    for line in verdict_lines(result):
        print(line)
    print(f"wrote {', '.join(str(p) for p in files.values())}")
    return 0



def _nothing_to_compare(rec: Path) -> str:
    """Why the recording has nothing to compare (no frames, or nobody detected in any frame), or ''."""
    from engine.live.recording.reader import load_recording

    r = load_recording(rec)
    if len(r) == 0:
        return "the recording has no frames"
    if not (r.num_persons > 0).any():
        return f"nobody was detected in any of its {len(r)} frames"
    return ""
