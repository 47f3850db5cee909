"""``python main.py models``: the registered models with their figures and whether their weights are installed."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from cli import command


def _row(spec: Any, weights: str | None) -> dict[str, Any]:
    pub = spec.published
    return {
        "name": spec.name,
        "family": spec.family,
        "variant": spec.variant,
        "joint_set": spec.joint_set,
        "joints": spec.num_joints,
        "input_size": list(spec.input_hw),
        "output_size": list(spec.output_hw),
        "depth_bins": spec.depth_bins,
        "params": spec.params,
        "gmacs": spec.gmacs,
        "weights": weights,
        "official": spec.official,
        "backend": spec.backend,
        "published": {"mpjpe_p2": pub.mpjpe_p2, "pa_mpjpe_p1": pub.pa_mpjpe_p1, "source": pub.source},
        "notes": spec.notes,
    }


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _table(rows: list[dict[str, Any]]) -> str:
    head = ("name", "family", "joints", "input", "params", "GMACs", "MPJPE P2", "PA-MPJPE P1", "weights")
    body = [(r["name"] + ("" if r["official"] else "*"), r["family"], str(r["joints"]),
             "x".join(map(str, r["input_size"])),
             "-" if r["params"] is None else f"{r['params'] / 1e6:.2f}M", _fmt(r["gmacs"], ".2f"),
             _fmt(r["published"]["mpjpe_p2"], ".1f"), _fmt(r["published"]["pa_mpjpe_p1"], ".1f"),
             r["weights"] or "missing") for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in (head, *body)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("* no official trained weights (third-party or architecture only); published figures in mm")
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
        from models import all_specs
        from models.weights import WeightsError, find_weights

        try:
            rows = []
            for spec in all_specs():
                path = find_weights(spec.name, args.weights_dir)
                rows.append(_row(spec, str(path) if path else None))
        except WeightsError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(json.dumps(rows, indent=1) if args.json else _table(rows))
        return 0
