"""PoseArena entry point: ``python main.py`` opens the GUI; subcommands run headless (see --help)."""

from __future__ import annotations

import argparse
import os
import sys


def _offline_env() -> None:
    # ultralytics probes the network and writes settings to $HOME at import unless told otherwise.
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    os.environ.setdefault("YOLO_VERBOSE", "false")


def build_parser() -> argparse.ArgumentParser:
    from cli import discover

    parser = argparse.ArgumentParser(
        prog="posearena",
        description="PoseArena: published monocular 3D human-pose models side by side, live and on Human3.6M.",
    )
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
    _offline_env()
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is not None:
        return int(args._run(args) or 0)
    from gui.app import run_gui

    return run_gui(args)


if __name__ == "__main__":
    sys.exit(main())
