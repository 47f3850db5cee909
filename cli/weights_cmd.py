"""``python main.py weights import|download|list|dir``: manage the per-user checkpoint directory.

Bad input ends with one ``error: ...`` line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from cli import command
from cli.console import ProgressLine, error

INTERRUPTED = 130


class ProgressBar(ProgressLine):
    """``progress(done, total)`` callback drawing one self-overwriting line on stderr (throttled)."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        super().__init__(label, stream, width)
        self.start = self.last = time.monotonic()

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        final = total is not None and done >= total
        if self.drawn and not final and now - self.last < (0.1 if self.tty else 2.0):
            return
        self.last = now
        rate = done / max(now - self.start, 1e-6) / 1e6
        if total:
            frac = min(done / total, 1.0)
            text = f"{self.label} {self.bar(frac)} {frac * 100:5.1f}% {done / 1e6:.1f}/{total / 1e6:.1f} MB"
        else:
            text = f"{self.label} {done / 1e6:.1f} MB"
        self.draw(f"{text} {rate:.1f} MB/s")


def _import(args: argparse.Namespace) -> int:
    from models.matching import identification_note
    from models.spec import get_spec
    from models.weights.store import import_checkpoint, resolve_weights_dir

    path = Path(args.file).expanduser()
    name = path.name.lower()
    if name.endswith((".onnx", ".tar.gz", ".tgz")):
        if importlib.util.find_spec("models.onnx.importer") is None:
            return error(f"{path}: ONNX import is not available in this build (models.onnx.importer is missing)")
        from models.onnx import importer as onnx_import

        d = resolve_weights_dir(args.weights_dir)
        if name.endswith(".onnx"):
            results = [onnx_import.import_onnx(path, d, model=args.as_model)]
        else:  # an archive of ONNX files, e.g. PINTO's resources.tar.gz
            results = onnx_import.import_onnx_archive(path, d, models=[args.as_model] if args.as_model else None)
        for result in results:
            for line in result.get("messages") or [f"imported {result.get('file', path)}"]:
                print(line)
        return 0
    print(f"verifying {path} ...", file=sys.stderr)
    entry = import_checkpoint(path, args.weights_dir, trust=args.trust, model=args.as_model)
    dest = resolve_weights_dir(args.weights_dir) / entry.file
    print(f"imported {path} as {entry.model}: {dest} (sha256 {entry.sha256}{', trusted' if entry.trusted else ''})")
    note = identification_note(get_spec(entry.model))
    if note:
        print(f"note: {note}")
    return 0


def defaults_plan() -> list:
    """What ``weights download --defaults`` (and the Models tab's "Get default models") fetches."""
    from engine.defaults import ROOT
    from engine.live.detector import DEFAULT_YOLO
    from models.weights.defaults import default_download_plan

    return default_download_plan(ROOT.rootnet, DEFAULT_YOLO[0])


def _warn(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


def _download(args: argparse.Namespace) -> int:
    from models.weights.download import download
    from models.weights.store import resolve_weights_dir

    if args.defaults:
        if args.name or args.url or args.sha256 or args.file:
            return error("weights download --defaults takes no model name, --url, --sha256 or --file")
        return _download_defaults(args)
    if not args.name:
        return error("weights download: name a model (python main.py models) or use --defaults")
    bar = ProgressBar(args.name)
    cancel = threading.Event()
    try:
        entry = download(args.name, args.weights_dir, progress=bar, cancel=cancel, url_override=args.url,
                         sha256=args.sha256, trust=True if args.trust else None, folder_file=args.file,
                         warn=lambda text: (bar.close(), _warn(text)))
    except KeyboardInterrupt:
        cancel.set()
        print("error: download interrupted; the partial file is kept and the same command resumes it",
              file=sys.stderr)
        return INTERRUPTED
    finally:
        bar.close()
    print(f"downloaded {entry.model}: {resolve_weights_dir(args.weights_dir) / entry.file} (sha256 {entry.sha256})")
    return 0


def _download_defaults(args: argparse.Namespace) -> int:
    from models.weights.defaults import DefaultResult, download_defaults

    plan = defaults_plan()
    print("downloading what the default live view needs: "
          + ", ".join(f"{i.name} ({i.why})" for i in plan), file=sys.stderr)
    cancel = threading.Event()
    bars: list[ProgressBar] = []

    def progress(item) -> ProgressBar:
        bars.append(ProgressBar(item.name))
        return bars[-1]

    def report(res: DefaultResult) -> None:
        for b in bars:
            b.close()
        if res.status in ("downloaded", "present"):
            what = "downloaded" if res.status == "downloaded" else "already installed"
            sha = f" (sha256 {res.sha256})" if res.sha256 else ""
            print(f"{res.item.name}: {what}: {res.detail}{sha}")
        else:
            print(f"{res.item.name}: {res.status}: {res.detail}", file=sys.stderr)

    try:
        results = download_defaults(plan, args.weights_dir, progress=progress, cancel=cancel, on_result=report,
                                    warn=_warn)
    except KeyboardInterrupt:
        cancel.set()
        for b in bars:
            b.close()
        print("error: download interrupted; a partial file is kept and the same command resumes it",
              file=sys.stderr)
        return INTERRUPTED
    ok = [r for r in results if r.ok]
    bad = [r for r in results if not r.ok]
    summary = f"{len(ok)} of {len(results)} ready"
    if bad:
        summary += "; not done: " + ", ".join(f"{r.item.name} ({r.status})" for r in bad)
    print(summary)
    if any(r.status in ("cancelled", "skipped") for r in bad):
        return INTERRUPTED
    return 1 if bad else 0


def _list(args: argparse.Namespace) -> int:
    from models.weights.store import read_manifest, resolve_weights_dir

    d = resolve_weights_dir(args.weights_dir)
    entries = read_manifest(d)
    print(f"weights directory: {d}")
    if not entries:
        print("no weights installed (python main.py weights download NAME | weights import FILE)")
        return 0
    rows = [("model", "file", "sha256", "trusted", "date", "source")]
    for e in entries:
        state = e.file if (d / e.file).is_file() else f"{e.file} (file missing)"
        rows.append((e.model, state, e.sha256, "yes" if e.trusted else "no", e.date, e.source))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


def _dir(args: argparse.Namespace) -> int:
    from models.weights.store import resolve_weights_dir

    print(resolve_weights_dir(args.weights_dir))
    return 0


def _add_dir_flag(p: argparse.ArgumentParser, default: object) -> None:
    p.add_argument("--weights-dir", metavar="DIR", default=default,
                   help="weights directory (default: $POSEARENA_WEIGHTS or the per-user data directory)")


@command("weights", help="manage model checkpoints: import a file, download, list, show the weights directory")
class WeightsCommand:
    @staticmethod
    def configure(parser: argparse.ArgumentParser) -> None:
        _add_dir_flag(parser, None)
        sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        p = sub.add_parser("import", help="verify a checkpoint file and add it to the weights directory")
        p.add_argument("file", help="checkpoint (.pth/.pth.tar/.tar), ONNX model (.onnx) or archive of them (.tar.gz)")
        p.add_argument("--trust", action="store_true",
                       help="allow full unpickling of this exact file (it can run code: only for sources you trust)")
        p.add_argument("--as", dest="as_model", metavar="MODEL", default=None,
                       help="check the file against this model instead of identifying it")
        p.set_defaults(_action=_import)
        p = sub.add_parser("download", help="download a model's published checkpoint (resumes a partial download), "
                                            "or with --defaults everything the default live view needs")
        p.add_argument("name", nargs="?", default=None, help="registered model name (python main.py models)")
        p.add_argument("--defaults", action="store_true",
                       help="download what the default live view needs: the lightest official pose model, the "
                            "live RootNet and YOLO's default weights (skips what is installed; continues past "
                            "failures; exit 1 if any failed)")
        p.add_argument("--file", default=None, metavar="PATH",
                       help="for a Google Drive folder source: the file to take (its name or path in the folder)")
        p.add_argument("--url", default=None, help="download from this direct link instead of the registry's")
        p.add_argument("--sha256", default=None, help="expected sha256 of the file (refused on mismatch)")
        p.add_argument("--trust", action="store_true", help="allow full unpickling of the downloaded file")
        p.set_defaults(_action=_download)
        p = sub.add_parser("list", help="list the installed checkpoints (manifest)")
        p.set_defaults(_action=_list)
        p = sub.add_parser("dir", help="print the weights directory")
        p.set_defaults(_action=_dir)
        for name in ("import", "download", "list", "dir"):
            _add_dir_flag(sub.choices[name], argparse.SUPPRESS)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from models.checkpoint import CheckpointError
        from models.weights.store import WeightsError

        try:
            return args._action(args)
        except (CheckpointError, WeightsError, KeyError, OSError, ValueError, ImportError) as e:
            return error(e)
