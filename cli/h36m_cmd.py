"""``python main.py h36m synthetic|validate``: make a synthetic Human3.6M, or check a real one before a long run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli import command
from cli.console import number


def _subjects(text: str | None) -> tuple[int, ...]:
    if not text:
        return ()
    try:
        out = tuple(int(s.strip().lstrip("Ss")) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected subject numbers like 1,5, got {text!r}") from None
    bad = [s for s in out if s not in (1, 5, 6, 7, 8)]
    if bad:
        raise argparse.ArgumentTypeError(f"training subjects are 1,5,6,7,8; got {bad}")
    return out


def _synthetic(args: argparse.Namespace) -> int:
    from engine.h36m.synthetic import generate

    if args.samples < 1:
        print("error: --samples must be at least 1", file=sys.stderr)
        return 1
    out = Path(args.out)
    if (out / "annotations").exists() and not args.force:
        print(f"error: {out} already holds annotations; pass --force to write over them", file=sys.stderr)
        return 1
    try:
        info = generate(out, samples=args.samples, seed=args.seed, train_subjects=args.train_subjects)
    except OSError as exc:  # a read-only or full folder (OutputWriteError names the file): one line
        from engine.h36m.outputs import OutputWriteError

        what = str(exc) if isinstance(exc, OutputWriteError) else \
            f"{exc.filename or out}: cannot write it: {exc.strerror or exc}"
        print(f"error: {what}; the synthetic data set in {out} is incomplete: free some space or choose a writable "
              "--out, then rerun (with --force)", file=sys.stderr)
        return 1
    print(f"synthetic Human3.6M written to {info.root}: {info.num_protocol2} Protocol 2 test samples (S9+S11), "
          f"{info.num_protocol1} Protocol 1 (S11), {info.num_images} images; RootNet file {info.rootnet_file}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from engine.h36m.layout import find_rootnet_file, validate

    rn = Path(args.rootnet_file) if args.rootnet_file else None
    if rn is None and args.rootnet:
        rn = find_rootnet_file(args.data, args.protocol)
    report = validate(args.data, args.protocol, images=args.images, rootnet_file=rn)
    print(report.format(max_lines=args.max_lines))
    if report.ok:
        print(f"OK: {len(report.index)} test samples ready for the Protocol {args.protocol} benchmark"
              + (f" (RootNet file {rn})" if rn else ""))
        return 0
    return 1


@command("h36m", help="Human3.6M data: write a synthetic set, or validate a real one")
class H36MCommand:
    @staticmethod
    def configure(parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="h36m_action", metavar="ACTION", required=True)
        p = sub.add_parser("synthetic", help="write a small synthetic data set in the 3DMPPE layout")
        p.add_argument("--out", required=True, help="folder to create")
        p.add_argument("--samples", type=number(int, low=1), default=120, help="test images over S9+S11 (default 120)")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--train-subjects", type=_subjects, default=(), help="also write a few frames of e.g. 1,5")
        p.add_argument("--force", action="store_true", help="write into a folder that already has annotations")
        p.set_defaults(_action=_synthetic)
        v = sub.add_parser("validate", help="check a Human3.6M folder and list every problem")
        v.add_argument("--data", required=True)
        v.add_argument("--protocol", type=int, choices=(1, 2), default=2)
        v.add_argument("--images", choices=("none", "exists", "all"), default="exists",
                       help="exists: every test image exists, a few decode; all: decode every image")
        v.add_argument("--rootnet", action="store_true", help="also check the RootNet result file")
        v.add_argument("--rootnet-file", default=None, help="RootNet result JSON to check (implies --rootnet)")
        v.add_argument("--max-lines", type=number(int, low=1), default=60)
        v.set_defaults(_action=_validate)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        return int(args._action(args))
