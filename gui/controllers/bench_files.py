"""Benchmark file work for ``BenchmarkController`` (worker threads only): the run's result payload and the exports.

Widgets import this module for ``EXPORT_SUFFIX`` / ``default_export_name``, so everything from engine/ and models/
(``models`` pulls in torch through its zoo) is imported inside the functions.

The files are the engine's: results, CSVs, report and plots are copied from the run folder the engine wrote, and the
HDF5 export holds each model's ``predictions.h5`` as ``engine.h36m.exports.write_predictions_h5`` wrote it (the CLI
writes the same per-model files into the run folder).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from engine.h36m.run.config import BenchmarkResult

EXPORT_SUFFIX = {"csv": ".csv", "json": ".json", "markdown": ".md", "hdf5": ".h5", "png": ".png"}
PREDICTIONS_BUNDLE_SCHEMA = "posearena.h36m.predictions-bundle/1"  # interim: see write_predictions_bundle_h5


def result_payload(result: BenchmarkResult, names: Sequence[str]) -> dict[str, Any]:
    """BenchmarkResult -> plain dict with every model's results.json (also for a run reused from disk), and the
    published per-action figures the engine deems comparable with each result (``published_per_action``)."""
    payload: dict[str, Any] = {
        "status": result.status, "out_dir": str(result.out_dir), "done": result.done, "total": result.total,
        "summary": result.summary, "results": [], "files": {k: str(v) for k, v in (result.files or {}).items()},
        "published_per_action": {}, "actions": [],
    }
    if result.status != "cancelled":
        from engine.h36m.exports import load_results
        from engine.h36m.metrics import ACTIONS

        payload["results"] = load_results(result.out_dir, list(names))
        payload["actions"] = list(ACTIONS)
        payload["published_per_action"] = {d["model"]: comparable_per_action(d) for d in payload["results"]}
    return payload


def comparable_per_action(result: dict[str, Any]) -> list[float] | None:
    """The model's published per-action figures when the engine says they compare with this result."""
    from engine.h36m.exports import published_for
    from models.spec import get_spec

    try:
        spec = get_spec(result["model"])
        _, per_action = published_for(spec, int(result["protocol"]), str(result["root"]))
    except (KeyError, ValueError, TypeError):  # a model no longer registered, or an odd results.json
        return None
    return list(per_action) if per_action else None


def export_results(kind: str, payload: dict[str, Any], dest: str) -> str:
    """Write one export of a finished run (worker thread). Returns the main file written."""
    from models.fileio import atomic_copy, atomic_write_json

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
    elif kind == "json":  # the run's own results.json: one layout for the GUI's export and the command line's
        if (out / "results.json").is_file():
            atomic_copy(out / "results.json", dest_p)
        else:
            from engine.h36m.exports import RUN_RESULTS_SCHEMA

            atomic_write_json(dest_p, {"schema": RUN_RESULTS_SCHEMA, "models": payload["results"]}, indent=1,
                              default=_json_default)
    elif kind == "hdf5":
        write_predictions_bundle_h5(dest_p, out, [r["model"] for r in payload["results"]])
    return str(dest_p)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def write_predictions_bundle_h5(path: Path, out_dir: Path, names: Sequence[str]) -> Path:
    """One HDF5 file with a group per model (named ``safe_name(model)``) holding that model's ``predictions.h5``
    from the run folder unchanged: the engine's datasets and attributes (schema ``posearena.h36m.predictions/1``).

    Interim local adapter: the engine writes only per-model files. Meant to become
    ``engine.h36m.exports.write_predictions_bundle_h5(path, out_dir, names) -> Path`` (same signature) so the CLI
    can write the same file; then this function is a re-export.
    """
    import h5py

    from engine.h36m.exports import PREDICTIONS_SCHEMA, safe_name
    from models.fileio import atomic_path

    sources = [(m, Path(out_dir) / safe_name(m) / "predictions.h5") for m in names]
    sources = [(m, p) for m, p in sources if p.is_file()]
    if not sources:
        raise FileNotFoundError(f"{out_dir}: no predictions.h5 in the model folders")
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as dst:
        dst.attrs["schema"] = PREDICTIONS_BUNDLE_SCHEMA
        dst.attrs["models"] = json.dumps([m for m, _ in sources])
        for model, p in sources:
            with h5py.File(p, "r") as src:
                if src.attrs.get("schema") != PREDICTIONS_SCHEMA:  # only the engine's own files go in
                    raise ValueError(f"{p}: not a PoseArena predictions file (schema {src.attrs.get('schema')!r})")
                g = dst.create_group(safe_name(model))
                for k, v in src.attrs.items():
                    g.attrs[k] = v
                for key in src:
                    src.copy(src[key], g, name=key)
    return Path(path)


def interrupted_runs(out_dir: str | Path) -> list[dict[str, Any]]:
    """The runs the engine left unfinished in ``out_dir`` (``.partial/<config>/state.json``, newest first): each its
    fingerprint (data_dir, protocol, root, flip, limit, models), total samples and saved-batch count. Plain file
    reading (GUI thread is fine): the folder layout is ``engine.h36m.run.runner``'s."""
    part = Path(out_dir).expanduser() / ".partial"
    found = []
    for state in part.glob("*/state.json") if part.is_dir() else ():
        try:
            d = json.loads(state.read_text())
            fp = d["fingerprint"]
            found.append({"config_hash": d.get("config_hash", state.parent.name), "total": int(d.get("total", 0)),
                          "status": d.get("status", ""), "fingerprint": fp, "dir": str(state.parent),
                          "shards": len(list(state.parent.glob("shard_*.npz"))), "mtime": state.stat().st_mtime})
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return sorted(found, key=lambda r: -r["mtime"])


def finished_config(out_dir: str | Path) -> dict[str, Any] | None:
    """The configuration of the finished run in ``out_dir`` (its ``run.json``), or None."""
    p = Path(out_dir).expanduser() / "run.json"
    try:
        d = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    return d if isinstance(d, dict) and d.get("status") == "finished" else None


def finished_payload(out_dir: str | Path) -> dict[str, Any] | None:
    """The finished run in ``out_dir`` read back from its files, as ``result_payload`` gives it (worker thread): a
    restart shows the last results again. None when there is no finished run or its files cannot be read."""
    done = finished_config(out_dir)
    if done is None:
        return None
    from engine.h36m.exports import load_results
    from engine.h36m.metrics import ACTIONS

    names = [m["name"] for m in done.get("models", []) if isinstance(m, dict) and "name" in m]
    try:
        results = load_results(Path(out_dir).expanduser(), names)
    except (OSError, ValueError):
        return None
    n = int(done.get("num_samples", 0) or 0)
    return {"status": "finished", "out_dir": str(out_dir), "done": n, "total": n, "summary": done.get("summary", ""),
            "results": results, "files": {}, "actions": list(ACTIONS),
            "published_per_action": {d["model"]: comparable_per_action(d) for d in results}}


def default_export_name(kind: str) -> str:
    return {"csv": "results.csv", "json": "results.json", "markdown": "report.md", "hdf5": "predictions.h5",
            "png": "per_action.png"}[kind]
