"""The ``posearena`` command: the GUI without a subcommand, headless subcommands otherwise (see ``--help``).

``main.py`` (``python main.py``), ``python -m cli`` and the installed ``posearena`` console script all call
:func:`main`. Building the parser imports no heavy library (torch, cv2, Qt): ``--help`` and ``--version`` are instant.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from cli.console import error
from models.errors import PoseArenaError, bug_report

DIST_NAME = "posearena"


def _quiet_env() -> None:
    """Keep ultralytics from printing per-frame logs and from pip-installing packages at run time.

    It is *not* forced offline: a user's first ``--detector auto`` may download the small YOLO weights. Tests and CI
    set ``YOLO_OFFLINE=1`` in their own environment (``tests/conftest.py``, ``.ci/run``)."""
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    os.environ.setdefault("YOLO_VERBOSE", "false")


def _source_tree_version() -> str | None:
    """The version in ``pyproject.toml`` when running from a PoseArena source tree (a clone), else None."""
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    try:
        import tomllib

        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    except (OSError, ValueError):
        return None
    return str(project["version"]) if project.get("name") == DIST_NAME and "version" in project else None


def version() -> str:
    """PoseArena's version: the installed distribution's metadata, else (run from a clone that was never installed)
    the source tree's ``pyproject.toml``; "unknown" when neither is found. Same order as ``engine.versions``."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version(DIST_NAME)
    except PackageNotFoundError:
        return _source_tree_version() or "unknown"


def build_parser() -> argparse.ArgumentParser:
    from cli import discover

    parser = argparse.ArgumentParser(
        prog="posearena",
        description="PoseArena: published monocular 3D human-pose models side by side, live and on Human3.6M.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument("--screenshot", metavar="FILE", help="run the GUI, save a screenshot of the window, exit")
    parser.add_argument("--source", default=None, help="GUI live source: demo | PATH | URL | camera INDEX")
    parser.add_argument("--models", default=None, help="GUI: comma-separated model names to show")
    parser.add_argument("--after", type=float, default=5.0, help="with --screenshot: seconds of live run first")
    parser.add_argument("--idle", action="store_true", help="GUI: do not start the live view on launch")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for cmd in sorted(discover().values(), key=lambda c: c.name):
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.configure(p)
        p.set_defaults(_run=cmd.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. A ``PoseArenaError`` is the user's to fix: one ``error:`` line, exit 1. Any other exception
    is a bug: one line naming it and the log file that holds its traceback, exit 2."""
    _quiet_env()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "_run", None) is not None:
            return int(args._run(args) or 0)
        from gui.app import run_gui

        return run_gui(args)
    except PoseArenaError as exc:
        return error(exc.user_message)
    except BrokenPipeError:  # the reader of the output went away (``| head``): nothing left to tell anyone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # noqa: BLE001 - a bug: reported with its traceback in a log, never hidden
        line, log = bug_report(exc, context=f"{version()} {' '.join(sys.argv[1:] if argv is None else argv)}")
        print(f"error: {line}", file=sys.stderr)
        if log is None:
            traceback.print_exception(exc)
        return 2


if __name__ == "__main__":  # pragma: no cover  (python -m cli.app)
    sys.exit(main())
