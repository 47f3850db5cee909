"""``python main.py bench h36m ...``: the offline Human3.6M benchmark, headless.

Progress bar and ETA on stderr. Ctrl-C, or SIGTERM (what ``timeout``, ``kill`` and service managers send), stops at
the next batch boundary with the saved work kept (exit 130 after Ctrl-C, 143 after SIGTERM; a second signal aborts
at once); rerunning the same command resumes. One run at a time per ``--out`` (an OS file lock): a second run
refuses, naming the folder and the other run's pid, or waits with ``--wait``. A finished run of the same
configuration just prints its results again; finished results of another configuration in ``--out`` are not
overwritten unless you confirm (or pass --overwrite).
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
from cli.console import ProgressLine, check_precision_device, check_profile_device, error
from cli.live_cmd import PRECISIONS, PROFILE_NAMES  # PROFILE_NAMES lists the profiles lazily: no torch at start-up
from engine.defaults import BENCHMARK, INFERENCE
from engine.h36m.root_sources import ROOT_SOURCES

INTERRUPTED = 130  # 128 + SIGINT
TERMINATED = 143  # 128 + SIGTERM


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


def _weights_map(items: list[str] | None, models: list[str] | None = None) -> dict[str, Path]:
    """``--weights NAME=PATH`` pairs; a NAME that is not among ``models`` is refused (it would be ignored)."""
    out = {}
    for it in items or []:
        name, sep, path = it.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--weights expects NAME=PATH, got {it!r}")
        out[name.strip()] = Path(path).expanduser()
    unused = [n for n in out if models is not None and n not in models]
    if unused:
        raise ValueError(f"--weights names {', '.join(unused)}, which --models does not include "
                         f"({', '.join(models or [])}): add it to --models or drop its --weights")
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
    from engine.h36m.run.runner import BenchmarkConfig, BenchmarkRunner, OutputLockedError, ResultsExistError
    from engine.inference.oom import OutOfMemoryBackoffError
    from models.checkpoint import CheckpointError
    from models.loader import WeightsMissingError

    if not args.data or not args.models:
        return error("bench h36m needs --data DIR and --models NAMES")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if args.limit is not None and args.limit < 1:
        return error(f"--limit must be at least 1 sample, got {args.limit}")
    try:
        from engine.h36m.shard_select import parse_shard

        cfg = BenchmarkConfig(
            data_dir=Path(args.data), models=models, out_dir=Path(args.out), protocol=args.protocol, root=args.root,
            rootnet_file=Path(args.rootnet_file) if args.rootnet_file else None, flip=args.flip, limit=args.limit,
            batch_size=args.batch_size, device=args.device, precision=args.precision,
            channels_last=args.channels_last, num_workers=args.workers, allow_untrained=args.allow_untrained,
            weights=_weights_map(args.weights, models), overwrite=args.overwrite, check_images=args.check_images,
            profile=args.profile, wait_for_lock=args.wait, shard=parse_shard(args.shard) if args.shard else None,
            protocol_mode=args.protocol_mode,
        )
        check_profile_device(args.profile, args.device)
        check_precision_device(args.precision, args.device)
    except ValueError as exc:
        return error(exc)
    if args.subfolder:
        tag = f"h36m-p{cfg.protocol}-{cfg.root}-{'flip' if cfg.flip else 'noflip'}-" + "+".join(models)
        if cfg.protocol_mode != BENCHMARK.protocol_mode:
            tag += f"-{cfg.protocol_mode}"
        if cfg.limit:
            tag += f"-limit{cfg.limit}"
        if cfg.shard:
            tag += f"-shard{cfg.shard[0]}of{cfg.shard[1]}"
        cfg.out_dir = cfg.out_dir / tag
    label = f"H36M Protocol {cfg.protocol}"
    signals: list[int] = []  # the signals that stopped the run (SIGINT / SIGTERM)
    while True:
        runner = BenchmarkRunner(cfg)
        bar = BenchProgress(label)
        try:
            result = _drive(runner, bar, signals)
        except ResultsExistError as exc:
            bar.close()
            if _ask(f"{exc}.\nOverwrite the finished results in {cfg.out_dir}?"):
                cfg.overwrite = True
                continue
            return error(f"{exc} (or pass --overwrite)")
        except KeyboardInterrupt:
            print("aborted; the batches saved so far are kept: rerun the same command to resume", file=sys.stderr)
            return _stopped_code(signals)
        except OutputLockedError as exc:
            bar.close()
            return error(exc)
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
        return _stopped_code(signals)
    if result.status == "reused":
        print(f"(finished earlier with the same configuration; results in {result.out_dir})", file=sys.stderr)
    print(result.summary)
    print(f"results: {result.out_dir}", file=sys.stderr)
    return 0


def _stopped_code(signals: list[int]) -> int:
    return TERMINATED if signal.SIGTERM in signals else INTERRUPTED


def _drive(runner, bar, signals: list[int] | None = None):
    """Run the generator; the first Ctrl-C or SIGTERM asks the runner to stop at the next batch, a second aborts."""
    from engine.h36m.run.runner import run_to_completion

    installed = threading.current_thread() is threading.main_thread()
    previous: dict[int, object] = {}
    seen = signals if signals is not None else []

    def on_signal(signum, frame):
        seen.append(signum)
        if runner.cancel_event.is_set():
            raise KeyboardInterrupt
        runner.cancel()
        bar.close()
        what = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
        print(f"\n{what}: stopping after the current batch (send it again to abort at once)...", file=sys.stderr)

    if installed:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        return run_to_completion(runner, bar)
    finally:
        if installed:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


@command("bench", help="offline benchmarks: 'bench h36m' scores models on Human3.6M")
class BenchCommand:
    @staticmethod
    def configure(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("benchmark", choices=list(_ACTIONS),
                            help="h36m: the Human3.6M benchmark (3DMPPE layout); merge: combine shard folders")
        parser.add_argument("dirs", nargs="*", help="merge: the shard output folders (bench merge DIR... --out OUT)")
        parser.add_argument("--data", help="Human3.6M folder (annotations/, images/)")
        parser.add_argument("--models", help="comma-separated model names (see: main.py models)")
        parser.add_argument("--shard", metavar="I/N", default=None,
                            help="run only shard I of N (0-based, e.g. $SLURM_ARRAY_TASK_ID/4); combine the shard "
                                 "folders with 'bench merge' (docs/scaling.md)")
        parser.add_argument("--protocol", type=int, choices=(1, 2), default=BENCHMARK.protocol,
                            help="2: MPJPE on S9+S11; 1: PA-MPJPE on S11 (default %(default)s)")
        parser.add_argument("--root", choices=ROOT_SOURCES, default=BENCHMARK.root,
                            help="where the root (absolute depth) comes from. gt: GT boxes and GT root depth (the "
                                 "papers' default); rootnet: boxes and roots from RootNet's result file (see "
                                 "--rootnet-file); rootnet-model: run the rootnet-r50 network live on the GT-box "
                                 "crops and report its MRPE (its checkpoint: --weights rootnet-r50=PATH or the "
                                 "weights folder; --allow-untrained runs it on random weights, labelled)")
        parser.add_argument("--rootnet-file", default=None,
                            help="RootNet result JSON for --root rootnet (default: in --data, else the copy shipped "
                                 "with the app); refused with the other --root choices, which do not read it")
        parser.add_argument("--protocol-mode", choices=("official", "common"), default=BENCHMARK.protocol_mode,
                            help="official: each model with its own test's crop and placement (default); common: "
                                 "every model through the 3DMPPE pipeline, like for like (docs/protocol_modes.md)")
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
        parser.add_argument("--wait", action="store_true",
                            help="if another run is using --out, wait for it to end (default: refuse at once)")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        return _ACTIONS[args.benchmark](args)


def run_merge(args: argparse.Namespace) -> int:
    """``bench merge DIR... --out OUT``: score the shard runs of one configuration as one run."""
    from engine.h36m.run.config import OutputLockedError
    from engine.h36m.shards import MergeError, merge_runs

    if not args.dirs:
        return error("bench merge needs the shard folders: bench merge DIR... --out OUT")
    try:
        res = merge_runs(args.dirs, Path(args.out), overwrite=args.overwrite)
    except (MergeError, OutputLockedError, OSError) as exc:
        return error(exc)
    print(res.summary)
    return 0


_ACTIONS = {"h36m": run_h36m, "merge": run_merge}
