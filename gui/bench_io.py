"""Benchmark file work for the adapter (worker threads only): the run's result payload and the exports.

Part of the adapter layer: widgets never import this; ``gui.adapter.BenchmarkController`` runs it in workers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.fileio import atomic_copy, atomic_path, atomic_write_json


def result_payload(result: Any, names: Sequence[str]) -> dict[str, Any]:
    """BenchmarkResult -> plain dict with every model's results.json (also for a run reused from disk)."""
    payload: dict[str, Any] = {
        "status": result.status, "out_dir": str(result.out_dir), "done": result.done, "total": result.total,
        "summary": result.summary, "results": [], "files": {k: str(v) for k, v in (result.files or {}).items()},
    }
    if result.status != "cancelled":
        from engine.h36m.exports import load_results

        payload["results"] = load_results(result.out_dir, list(names))
    return payload


EXPORT_SUFFIX = {"csv": ".csv", "json": ".json", "markdown": ".md", "hdf5": ".h5", "png": ".png"}


def export_results(kind: str, payload: dict[str, Any], dest: str) -> str:
    """Write one export of a finished run (worker thread). Returns the main file written."""
    out = Path(payload["out_dir"])
    dest_p = Path(dest).expanduser()
    if kind not in EXPORT_SUFFIX:
        raise ValueError(f"unknown export kind {kind!r}; one of {', '.join(EXPORT_SUFFIX)}")
    if not dest_p.suffix:
        dest_p = dest_p.with_suffix(EXPORT_SUFFIX[kind])

    def need(p: Path) -> Path:
        if not p.is_file():
            raise FileNotFoundError(f"{p}: missing from the results folder (was the run finished?)")
        return p

    if kind == "csv":
        atomic_copy(need(out / "results.csv"), dest_p)
        for extra in ("per_action.csv", "per_joint.csv"):
            if (out / extra).is_file():
                atomic_copy(out / extra, dest_p.with_name(f"{dest_p.stem}_{extra}"))
    elif kind == "markdown":
        atomic_copy(need(out / "report.md"), dest_p)
    elif kind == "png":
        atomic_copy(need(out / "per_action.png"), dest_p)
        if (out / "per_joint.png").is_file():
            atomic_copy(out / "per_joint.png", dest_p.with_name(f"{dest_p.stem}_per_joint.png"))
    elif kind == "json":
        atomic_write_json(dest_p, {"out_dir": str(out), "results": payload["results"]}, indent=1,
                          default=_json_default)
    elif kind == "hdf5":
        _combine_predictions(out, payload["results"], dest_p)
    return str(dest_p)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _combine_predictions(out: Path, results: Sequence[dict[str, Any]], dest: Path) -> None:
    """One HDF5 file with a group per model holding that model's predictions.h5 content."""
    import h5py

    from engine.h36m.exports import safe_name

    sources = [(r["model"], out / safe_name(r["model"]) / "predictions.h5") for r in results]
    sources = [(m, p) for m, p in sources if p.is_file()]
    if not sources:
        raise FileNotFoundError(f"{out}: no predictions.h5 in the model folders")
    with atomic_path(dest) as tmp, h5py.File(tmp, "w") as dst:
        dst.attrs["schema"] = "posearena.h36m.predictions-bundle/1"
        dst.attrs["models"] = json.dumps([m for m, _ in sources])
        for model, p in sources:
            with h5py.File(p, "r") as src:
                g = dst.create_group(safe_name(model))
                for k, v in src.attrs.items():
                    g.attrs[k] = v
                for key in src:
                    src.copy(src[key], g, name=key)


def default_export_name(kind: str) -> str:
    return {"csv": "results.csv", "json": "results.json", "markdown": "report.md", "hdf5": "predictions.h5",
            "png": "per_action.png"}[kind]
