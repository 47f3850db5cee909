"""Peak resident memory of the default Human3.6M benchmark of every registered model, one model per process.

``python -m bench.benchmark_memory --data SYN [--models a,b] [--out bench/results/benchmark_memory]`` runs
``bench h36m --data SYN --models NAME --allow-untrained --device cpu`` (the defaults otherwise: flip on, batch 32,
2 loader workers) for each model in its own process, one at a time, and reads that process's peak RSS
(``ru_maxrss``) when it ends. (Its loader workers are separate processes of a few hundred MiB each; their own
``ru_maxrss`` cannot be read apart from the parent's, which a forked child inherits.) It prints a table and writes
``benchmark_memory.json``. Make the data with ``python main.py h36m synthetic --out SYN`` (40 samples).

``--activations`` instead measures what the CPU forward cap reads (``ModelSpec.activation_mb``): the peak of live
activations of one crop in an eval forward, from forward hooks that add each module's output when it is made and
take it away when it is freed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from models.fileio import atomic_write_json

__all__ = ["activation_mb", "main", "measure_one"]

LIMIT_MIB = 8192  # the bound: the default benchmark of every model peaks under 8 GiB resident
ROOT = Path(__file__).resolve().parent.parent


def _child(argv: Sequence[str], report: Path) -> int:
    """Run the benchmark CLI in this process and write its peak RSS (and its workers') to ``report``."""
    from cli.app import main as cli_main

    t0 = time.perf_counter()
    try:
        rc = cli_main(list(argv))
    except SystemExit as exc:
        rc = int(exc.code or 0)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB -> MiB on Linux
    report.write_text(json.dumps({"rc": rc, "peak_rss_mib": own, "wall_s": time.perf_counter() - t0}))
    return rc


def measure_one(name: str, data: Path, extra: Sequence[str] = ()) -> dict[str, Any]:
    """One model's default benchmark in a fresh process: its peak RSS, wall time and exit code."""
    with tempfile.TemporaryDirectory(prefix="posearena-mem-") as tmp:
        report = Path(tmp) / "report.json"
        argv = ["bench", "h36m", "--data", str(data), "--models", name, "--allow-untrained", "--device", "cpu",
                "--out", str(Path(tmp) / "out"), *extra]
        cmd = [sys.executable, "-m", "bench.benchmark_memory", "--child", str(report), "--", *argv]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if not report.is_file():  # killed (out of memory) or crashed before it could report
            return {"model": name, "rc": proc.returncode, "peak_rss_mib": None,
                    "error": (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [f"exit {proc.returncode}"]}
        out = json.loads(report.read_text())
        return {"model": name, **out}


def activation_mb(spec: Any) -> float:
    """Peak of live module outputs (MiB) in one eval forward of one crop (random weights)."""
    import torch

    from engine.inference.net_io import dummy_inputs
    from models.spec import build

    torch.set_num_threads(1)
    net = build(spec)
    live, peak = [0], [0]

    def freed(n: int) -> None:
        live[0] -= n

    def hook(_m: Any, _i: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor):
            n = out.untyped_storage().nbytes()
            live[0] += n
            peak[0] = max(peak[0], live[0])
            weakref.finalize(out, freed, n)

    hooks = [m.register_forward_hook(hook) for m in net.modules() if not list(m.children())]
    with torch.inference_mode():
        net(*dummy_inputs(spec, 1))
    for h in hooks:
        h.remove()
    return peak[0] / 2**20


def _table(rows: Sequence[dict[str, Any]]) -> str:
    lines = [f"{'model':<24} {'peak RSS MiB':>13} {'wall s':>8}  verdict"]
    for r in rows:
        peak = r.get("peak_rss_mib")
        verdict = "FAILED: " + " ".join(r.get("error", [])) if peak is None else (
            "under 8 GiB" if peak < LIMIT_MIB and r.get("rc") == 0 else f"rc {r.get('rc')}" if r.get("rc") else "OVER")
        lines.append(f"{r['model']:<24} {'-' if peak is None else round(peak):>13} "
                     f"{'-' if r.get('wall_s') is None else round(r['wall_s'], 1):>8}  {verdict}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == ["--child"]:
        rest = args_in[2:]
        return _child(rest[1:] if rest[:1] == ["--"] else rest, Path(args_in[1]))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="a Human3.6M-format folder (python main.py h36m synthetic --out DIR)")
    ap.add_argument("--models", default=None, help="comma-separated (default: every model that runs untrained)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "benchmark_memory"))
    ap.add_argument("--activations", action="store_true", help="measure activation_mb per crop instead")
    a = ap.parse_args(args_in)
    from models.spec import all_specs, get_spec

    specs = [get_spec(n.strip()) for n in a.models.split(",")] if a.models else [
        s for s in all_specs() if s.can_run_untrained]
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if a.activations:
        rows = [{"model": s.name, "activation_mb": round(activation_mb(s), 1), "declared": s.activation_mb}
                for s in specs if s.loads_torch_checkpoint]
        for r in rows:
            print(f"{r['model']:<24} {r['activation_mb']:>8} MiB (declared {r['declared']})", flush=True)
        atomic_write_json(out / "activations.json", rows)
        return 0
    if not a.data:
        ap.error("--data is required (python main.py h36m synthetic --out DIR)")
    rows = []
    for s in specs:
        if s.is_root_model:
            continue
        rows.append(measure_one(s.name, Path(a.data)))
        print(_table(rows[-1:]).splitlines()[-1], flush=True)
    print(_table(rows))
    atomic_write_json(out / "benchmark_memory.json", {
        "limit_mib": LIMIT_MIB, "data": str(a.data), "cpu_count": os.cpu_count(), "models": rows,
        "command": "bench h36m --data DATA --models NAME --allow-untrained --device cpu (flip on, batch 32)"})
    return 0 if all(r.get("peak_rss_mib") is not None and r["peak_rss_mib"] < LIMIT_MIB for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
