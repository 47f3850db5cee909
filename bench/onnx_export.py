"""Export every registered torch model to ONNX and check onnxruntime against torch on CPU.

    python -m bench.onnx_export [--models a,b] [--out DIR] [--opset N] [--reuse] [--json OUT]

Files are named like the fast-path cache (``<model>-<weights>-opset<N>.onnx``,
``engine.inference.fast_paths.onnx_cache_path``)
so the default output directory *is* the cache that ``prepare(..., "onnxruntime")`` reads, and ``--out DIR`` makes a
directory that ``prepare(..., cache_dir=DIR)`` can use. Weights are the user's checkpoint when present, otherwise
random ("untrained"). Parity: max joint drift in nominal mm (``fast_paths.parity_mm``) on crops of the still
image at batch ``--batch``; also the largest raw output difference. Exit status 1 when a model fails to export or
drifts more than ``--tolerance-mm`` (0.1 mm).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch

from bench.common import TORCH_MODELS_HELP, add_threads_arg, set_threads, torch_model_names
from bench.fast_paths import crops
from engine.inference.fast_paths import (
    DEFAULT_OPSET,
    export_onnx,
    onnx_cache_dir,
    onnx_cache_path,
    parity_mm,
    prepare,
    weights_tag,
)
from engine.inference.net_io import dummy_inputs, torch_built
from models import get_spec
from models.fileio import atomic_write_json


def check_model(name: str, out_dir: Path, opset: int, batch: int, reuse: bool) -> dict:
    """Export one model (unless reusing a file already there) and compare onnxruntime with fp32 torch on CPU."""
    from models.loader import load_model

    spec = get_spec(name)
    loaded = load_model(name, allow_untrained=True)
    path = onnx_cache_path(spec, weights_tag(loaded.net, loaded.sha256), opset, out_dir)
    t0 = time.perf_counter()
    exported = not (reuse and path.is_file())
    if exported:
        export_onnx(loaded.net, spec, path, opset)
    export_s = time.perf_counter() - t0
    x, _ = crops(spec, batch)
    inputs = dummy_inputs(spec, batch, image=x)  # the crops, plus RootNet's k_value
    with torch.inference_mode():
        ref = loaded.net.eval()(*inputs)
    fp = prepare(loaded.net, spec, "cpu", "onnxruntime", weights_sha256=loaded.sha256, cache_dir=out_dir, opset=opset)
    t1 = time.perf_counter()
    got = fp(*inputs)
    ort_ms = (time.perf_counter() - t1) * 1000.0
    return {
        "model": name,
        "weights": loaded.label,
        "file": str(path),
        "mb": round(path.stat().st_size / 2**20, 1),
        "opset": opset,
        "export_s": round(export_s, 2) if exported else None,
        "ort_first_call_ms": round(ort_ms, 1),
        "parity_mm": parity_mm(spec, ref, got),
        "max_abs_diff": float((ref.float() - got.float()).abs().max()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="", help=TORCH_MODELS_HELP)
    ap.add_argument("--out", default=None, help="output directory (default: the fast-path ONNX cache)")
    ap.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    ap.add_argument("--batch", type=int, default=2, help="parity batch size")
    ap.add_argument("--tolerance-mm", type=float, default=0.1)
    ap.add_argument("--reuse", action="store_true", help="keep files already exported instead of re-exporting")
    add_threads_arg(ap, "torch/onnxruntime")
    ap.add_argument("--json", default=None, help="also write the table as JSON here")
    a = ap.parse_args(argv)
    set_threads(a.threads)
    out_dir = onnx_cache_dir(a.out)
    names = torch_model_names(a.models)
    print(f"ONNX export (opset {a.opset}) to {out_dir}; onnxruntime CPU vs torch fp32, batch {a.batch}")
    print(f"{'model':24s} {'MB':>7s} {'export s':>9s} {'ort ms':>8s} {'parity mm':>10s} {'max |diff|':>11s}  status")
    rows, failed = [], 0
    for name in names:
        try:
            if not torch_built(get_spec(name)):
                raise ValueError(f"backend {get_spec(name).backend}: nothing to export")
            r = check_model(name, out_dir, a.opset, a.batch, a.reuse)
            ok = math.isfinite(r["parity_mm"]) and r["parity_mm"] <= a.tolerance_mm
            r["status"] = "ok" if ok else f"DRIFT > {a.tolerance_mm:g} mm"
            exp = "cached" if r["export_s"] is None else f"{r['export_s']:.2f}"
            print(f"{name:24s} {r['mb']:7.1f} {exp:>9s} {r['ort_first_call_ms']:8.1f} {r['parity_mm']:10.5f} "
                  f"{r['max_abs_diff']:11.3g}  {r['status']}  {r['weights'][len(name):].strip()}", flush=True)
        except Exception as exc:  # noqa: BLE001 - report and go on with the others
            ok = False
            r = {"model": name, "status": f"FAILED: {type(exc).__name__}: {exc}"}
            print(f"{name:24s} {r['status']}", flush=True)
        failed += not ok
        if not math.isfinite(r.get("parity_mm", 0.0)):
            r["parity_mm"] = None
        rows.append(r)
    print(f"{len(rows) - failed}/{len(rows)} models exported with onnxruntime parity <= {a.tolerance_mm:g} mm")
    if a.json:
        atomic_write_json(a.json, {"opset": a.opset, "dir": str(out_dir), "rows": rows}, indent=1, end="",
                          allow_nan=False)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
