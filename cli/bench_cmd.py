"""``python main.py bench h36m ...``: the offline Human3.6M benchmark, headless.

Progress bar and ETA on stderr. Ctrl-C stops at the next batch boundary with the saved work kept; rerunning the same
command resumes. A finished run of the same configuration just prints its results again; finished results of another
configuration in ``--out`` are not overwritten unless you confirm (or pass --overwrite).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from cli import command
from cli.console import ProgressLine, error
from cli.live_cmd import PRECISIONS, PROFILE_NAMES  # PROFILE_NAMES lists the profiles lazily: no torch at start-up
from engine.defaults import BENCHMARK, INFERENCE

INTERRUPTED = 130


class BenchProgress(ProgressLine):
    """Draws ``Progress`` steps as one self-overwriting line on a terminal, or a line every few seconds otherwise."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        super().__init__(label, stream, width)
        self.phase = ""

    def __call__(self, p) -> None:
        now = time.monotonic()
        if p.phase != self.phase:
            self.close()
            self.phase = p.phase
            if p.message and p.phase not in ("cancelled", "done"):  # the command prints its own last words
                self.say(f"{self.label}: {p.message}")
            return
        if p.message:  # within a phase: a warning (e.g. an out-of-memory back-off); the bar goes on below it
            self.close()
            self.say(f"{self.label}: warning: {p.message}")
        if p.phase != "infer" or (self.drawn and now - self.last < (0.2 if self.tty else 5.0) and p.done < p.total):
            return
        self.last = now
        frac = p.fraction
        eta = "--:--" if p.eta_s is None else time.strftime("%H:%M:%S", time.gmtime(p.eta_s))
        self.draw(f"{self.label} {self.bar(frac)} {frac * 100:5.1f}% {p.done}/{p.total} "
                  f"{p.rate:6.1f} samples/s ETA {eta}")


def _weights_map(items: list[str] | None) -> dict[str, Path]:
    out = {}
    for it in items or []:
        name, sep, path = it.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--weights expects NAME=PATH, got {it!r}")
        out[name.strip()] = Path(path).expanduser()
    return out


def _ask(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def run_h36m(args: argparse.Namespace) -> int:
    from engine.h36m.layout import DatasetError
    from engine.h36m.runner import BenchmarkConfig, BenchmarkRunner, ResultsExistError
    from engine.inference.oom import OutOfMemoryBackoffError
    from models.checkpoint import CheckpointError
    from models.loader import WeightsMissingError

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    try:
        cfg = BenchmarkConfig(
            data_dir=Path(args.data), models=models, out_dir=Path(args.out), protocol=args.protocol, root=args.root,
            rootnet_file=Path(args.rootnet_file) if args.rootnet_file else None, flip=args.flip, limit=args.limit,
            batch_size=args.batch_size, device=args.device, precision=args.precision,
            channels_last=args.channels_last, num_workers=args.workers, allow_untrained=args.allow_untrained,
            weights=_weights_map(args.weights), overwrite=args.overwrite, check_images=args.check_images,
            profile=args.profile,
        )
    except ValueError as exc:
        return error(exc)
    if args.subfolder:
        tag = f"h36m-p{cfg.protocol}-{cfg.root}-{'flip' if cfg.flip else 'noflip'}-" + "+".join(models)
        if cfg.limit:
            tag += f"-limit{cfg.limit}"
        cfg.out_dir = cfg.out_dir / tag
    label = f"H36M Protocol {cfg.protocol}"
    while True:
        runner = BenchmarkRunner(cfg)
        bar = BenchProgress(label)
        try:
            result = _drive(runner, bar)
        except ResultsExistError as exc:
            bar.close()
            if _ask(f"{exc}.\nOverwrite the finished results in {cfg.out_dir}?"):
                cfg.overwrite = True
                continue
            return error(f"{exc} (or pass --overwrite)")
        except KeyboardInterrupt:
            print("aborted; the batches saved so far are kept: rerun the same command to resume", file=sys.stderr)
            return INTERRUPTED
        except (DatasetError, WeightsMissingError, CheckpointError, ValueError, KeyError) as exc:
            bar.close()
            return error(exc)
        except (OSError, OutOfMemoryBackoffError) as exc:
            # a full disk while saving a batch or exporting (the runner's OutputWriteError names the file and says
            # what is kept), or out of memory even at batch size 1: one line, the saved batches stay for a rerun
            bar.close()
            return error(exc)
        finally:
            bar.close()
        break
    if result.status == "cancelled":
        print(f"stopped: {result.done}/{result.total} samples saved in {result.partial_dir}; "
              f"rerun the same command to resume", file=sys.stderr)
        return INTERRUPTED
    if result.status == "reused":
        print(f"(finished earlier with the same configuration; results in {result.out_dir})", file=sys.stderr)
    print(result.summary)
    print(f"results: {result.out_dir}", file=sys.stderr)
    return 0


def _drive(runner, bar):
    """Run the generator; the first Ctrl-C asks the runner to stop at the next batch, a second one aborts."""
    from engine.h36m.runner import run_to_completion

    installed = threading.current_thread() is threading.main_thread()
    previous = None

    def on_sigint(signum, frame):
        if runner.cancel_event.is_set():
            raise KeyboardInterrupt
        runner.cancel()
        bar.close()
        print("\nstopping after the current batch (Ctrl-C again to abort at once)...", file=sys.stderr)

    if installed:
        previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        return run_to_completion(runner, bar)
    finally:
        if installed:
            signal.signal(signal.SIGINT, previous)


@command("bench", help="offline benchmarks: 'bench h36m' scores models on Human3.6M")
class BenchCommand:
    @staticmethod
    def configure(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("benchmark", choices=["h36m"], help="which benchmark (h36m: Human3.6M, 3DMPPE layout)")
        parser.add_argument("--data", required=True, help="Human3.6M folder (annotations/, images/)")
        parser.add_argument("--models", required=True, help="comma-separated model names (see: main.py models)")
        parser.add_argument("--protocol", type=int, choices=(1, 2), default=BENCHMARK.protocol,
                            help="2: MPJPE on S9+S11; 1: PA-MPJPE on S11 (default %(default)s)")
        parser.add_argument("--root", choices=("gt", "rootnet", "rootnet-model"), default=BENCHMARK.root,
                            help="where the root (absolute depth) comes from. gt: GT boxes and GT root depth (the "
                                 "papers' default); rootnet: boxes and roots from RootNet's result file (see "
                                 "--rootnet-file); rootnet-model: run the rootnet-r50 network live on the GT-box "
                                 "crops and report its MRPE (its checkpoint: --weights rootnet-r50=PATH or the "
                                 "weights folder; --allow-untrained runs it on random weights, labelled)")
        parser.add_argument("--rootnet-file", default=None,
                            help="RootNet result JSON (default: in --data, else the copy shipped with the app)")
        parser.add_argument("--flip", action=argparse.BooleanOptionalAction, default=BENCHMARK.flip,
                            help="flip test (average with the mirrored crop; the papers' setting)")
        parser.add_argument("--limit", type=int, default=None, help="score only N samples, spread over the set")
        parser.add_argument("--batch-size", type=int, default=BENCHMARK.batch_size, help="default %(default)s")
        parser.add_argument("--workers", type=int, default=BENCHMARK.num_workers,
                            help="image loading processes (0: in the main one; default %(default)s)")
        parser.add_argument("--device", default=INFERENCE.device, help="auto | cpu | cuda | cuda:N")
        parser.add_argument("--precision", choices=PRECISIONS, default=INFERENCE.precision)
        parser.add_argument("--channels-last", action="store_true")
        parser.add_argument("--profile", metavar="NAME", default=None, choices=PROFILE_NAMES,
                            help="inference fast path: %(choices)s (default: none, i.e. --precision and "
                                 "--channels-last decide, which is fp32 eager torch)")
        parser.add_argument("--allow-untrained", action="store_true",
                            help="run models without weights on random ones (pipeline/speed tests; labelled)")
        parser.add_argument("--weights", action="append", metavar="NAME=PATH", help="checkpoint for one model")
        parser.add_argument("--check-images", choices=("none", "exists", "all"), default=BENCHMARK.check_images,
                            help="image validation before the run (all: decode every image; default %(default)s)")
        parser.add_argument("--out", required=True, help="output folder (reruns with the same config resume here)")
        parser.add_argument("--subfolder", action="store_true",
                            help="write into OUT/<protocol-root-flip-models> instead of OUT itself")
        parser.add_argument("--overwrite", action="store_true",
                            help="replace finished results of a different configuration in --out")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        if args.benchmark == "h36m":
            return run_h36m(args)
        return error(f"unknown benchmark {args.benchmark!r}")  # pragma: no cover (argparse choices)
