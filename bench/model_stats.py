"""Parameter counts and GMACs (batch 1) of the registered models: ``python -m bench.model_stats [--models a,b]``.

MACs are ``torch.utils.flop_counter.FlopCounterMode`` FLOPs / 2, so they cover convolutions, transposed
convolutions and matmuls (not BatchNorm, activations or softmax), the way papers quote conv-net GFLOPs/GMACs.
The forward runs on the ``meta`` device where the model allows it: flop counting needs only shapes, so even
ResNet-152 takes well under a second; models that cannot run on ``meta`` fall back to a CPU forward.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from engine.inference.net_io import dummy_inputs, torch_built
from models.fileio import atomic_write_json
from models.spec import ModelSpec, all_specs, build, get_spec

__all__ = ["MissingBuilderError", "build_on", "count_params", "main", "measure_gmacs", "model_stats"]


class MissingBuilderError(Exception):
    """The spec's family has no registered builder (its architecture module is not written yet)."""


def build_on(spec: ModelSpec, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Build a spec's untrained net with parameters created directly on ``device`` (``meta``: no memory, no init)."""
    try:
        with torch.device(device):
            return build(spec)
    except KeyError as e:
        if "no builder registered" in str(e):
            raise MissingBuilderError(f"{spec.name}: no builder for family {spec.family!r}") from None
        raise


def count_params(net: torch.nn.Module) -> int:
    """Number of parameters (buffers such as BN running stats excluded, as in the papers and the spec files)."""
    return sum(p.numel() for p in net.parameters())


def example_inputs(spec: ModelSpec, device: str | torch.device, batch: int = 1) -> tuple[torch.Tensor, ...]:
    """The forward arguments for a spec, as it declares them (an image batch, plus RootNet's ``k_value`` [N,1])."""
    return dummy_inputs(spec, batch, device=device)


def _count_macs(spec: ModelSpec, net: torch.nn.Module, device: str | torch.device) -> int:
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        net(*example_inputs(spec, device))
    return counter.get_total_flops() // 2


def measure_gmacs(spec: ModelSpec, net: torch.nn.Module | None = None) -> float:
    """GMACs of one batch-1 forward at the spec's input size (meta device first, CPU if the model needs real data)."""
    if net is None:
        try:
            return _count_macs(spec, build_on(spec, "meta"), "meta") / 1e9
        except MissingBuilderError:
            raise
        except Exception:  # noqa: BLE001  (some op lacks a meta kernel: measure for real)
            net = build_on(spec, "cpu")
    device = next(net.parameters()).device
    return _count_macs(spec, net, device) / 1e9


def model_stats(names: Sequence[str] | None = None, *, notes: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per model: name, family, input, params (built and registered), GMACs (measured and registered).

    Models whose family has no builder are skipped; a line saying so is appended to ``notes``.
    """
    specs = [get_spec(n) for n in names] if names else [s for s in all_specs() if torch_built(s)]
    rows = []
    for spec in specs:
        try:
            net = build_on(spec, "meta")
            params = count_params(net)
            gmacs = measure_gmacs(spec)
        except MissingBuilderError as e:
            if notes is not None:
                notes.append(f"skipped {e}")
            continue
        rows.append({
            "name": spec.name, "family": spec.family, "input_hw": list(spec.input_hw),
            "output_hw": list(spec.output_hw), "depth_bins": spec.depth_bins,
            "params": params, "params_registered": spec.params,
            "gmacs": gmacs, "gmacs_registered": spec.gmacs,
        })
    return rows


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    head = f"{'model':<24}{'family':<16}{'input':>9}{'params':>13}{'registered':>13}{'GMACs':>9}{'registered':>12}"
    lines = [head, "-" * len(head)]
    for r in rows:
        reg_p = r["params_registered"]
        flag = "" if reg_p in (None, r["params"]) else " !"
        reg_g = "-" if r["gmacs_registered"] is None else f"{r['gmacs_registered']:.3g}"
        lines.append(f"{r['name']:<24}{r['family']:<16}{'x'.join(map(str, r['input_hw'])):>9}{r['params']:>13,}"
                     f"{'-' if reg_p is None else f'{reg_p:,}':>13}{flag}{r['gmacs']:>9.3g}{reg_g:>12}")
    return "\n".join(lines)


def write_json(path: Path, payload: Any) -> None:
    """Atomic write (models.fileio: a temp file in the same folder, then os.replace)."""
    atomic_write_json(path, payload, indent=2)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.model_stats", description=__doc__.split("\n")[0])
    ap.add_argument("--models", help="comma-separated model names (default: every registered model)")
    ap.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads for the CPU fallback (default 1)")
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    names = [n.strip() for n in args.models.split(",") if n.strip()] if args.models else None
    notes: list[str] = []
    try:
        rows = model_stats(names, notes=notes)
    except KeyError as e:
        print(f"error: {e.args[0]}", file=sys.stderr)
        return 2
    print(format_table(rows))
    for note in notes:
        print(f"note: {note}")
    mismatched = [r["name"] for r in rows if r["params_registered"] not in (None, r["params"])]
    if mismatched:
        print(f"note: built parameter count differs from the registry for: {', '.join(mismatched)}")
    if args.json:
        write_json(args.json, {"batch": 1, "macs_counter": "torch.utils.flop_counter.FlopCounterMode / 2",
                               "torch": torch.__version__, "models": rows, "skipped": notes})
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
