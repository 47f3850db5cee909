"""``python main.py models``: the registered models with their figures and whether their weights are installed."""

from __future__ import annotations

import argparse
import json
from typing import Any

from cli import command


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _table(rows: list[dict[str, Any]]) -> str:
    head = ("name", "family", "joints", "input", "params", "GMACs", "MPJPE S9+S11", "PA-MPJPE S11", "speed b1",
            "sha256", "weights")
    body = [(r["name"] + ("" if r["official"] else "*"), r["family"], str(r["joints"]),
             "x".join(map(str, r["input_size"])),
             "-" if r["params"] is None else f"{r['params'] / 1e6:.2f}M", _fmt(r["gmacs"], ".2f"),
             _fmt(r["published"]["mpjpe_p2"], ".1f"), _fmt(r["published"]["pa_mpjpe_p1"], ".1f"),
             r["speed"], (r["sha256"] or "-")[:12], r["weights"] or "missing") for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in (head, *body)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("* no official trained weights (third-party or architecture only). "
                 "Published figures in mm: MPJPE on the Protocol 2 test set (S9+S11), "
                 "PA-MPJPE on the Protocol 1 test set (S11). sha256: first 12 digits of the installed file's "
                 "(full: weights list).")
    devices = sorted({r["speed_device"] for r in rows if r["speed_device"]})
    lines.append("speed b1: median forward at batch 1, fastest mode, from the last `python -m bench.model_speed` on "
                 + (", ".join(devices) if devices else "this machine (not run yet)"))
    return "\n".join(lines)


@command("models", help="list the registered models, their published figures and whether their weights are installed")
class ModelsCommand:
    @staticmethod
    def configure(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
        parser.add_argument("--weights-dir", metavar="DIR", default=None,
                            help="weights directory (default: $POSEARENA_WEIGHTS or the per-user data directory)")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from engine.catalogue import catalogue

        rows = [row.as_json() for row in catalogue(args.weights_dir)]  # an unreadable manifest: WeightsError, one line
        print(json.dumps(rows, indent=1) if args.json else _table(rows))
        return 0
