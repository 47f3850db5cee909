"""results.json: one model's numbers and provenance as strict JSON (NaN/inf -> null), and reading them back."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from engine.h36m.metrics import ACTIONS, EXTRA_METRICS, METRICS, test_set_label
from engine.h36m.model_run import SAMPLING_NOTE, UNTRAINED, ModelRun, headline_metric, safe_name
from engine.h36m.outputs import atomic_write_text
from engine.versions import software_versions

__all__ = ["RESULTS_SCHEMA", "load_results", "result_dict", "write_json"]

RESULTS_SCHEMA = "posearena.h36m.results/1"


def _json_clean(obj: Any) -> Any:
    """NaN/inf -> null, numpy scalars/arrays -> Python, so the JSON is strict."""
    if isinstance(obj, dict):
        return {str(k): _json_clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _json_clean(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(_json_clean(obj), indent=2, allow_nan=False) + "\n")


def with_dataset(label: str, run: ModelRun) -> str:
    """``label`` plus the data set's qualifier ("synthetic data, not Human3.6M", "partial: ...") when the run has
    one: numbers from a synthetic or partial set never carry a bare Human3.6M title."""
    q = getattr(run, "dataset", "")  # set by the benchmark's scoring; older or imported runs lack it
    return f"{label} ({q})" if q else label


def result_dict(run: ModelRun) -> dict[str, Any]:
    """results.json content for one model."""
    s = run.scores
    labels = {m: with_dataset(s.label(m), run) for m in METRICS}
    d: dict[str, Any] = {
        "schema": RESULTS_SCHEMA,
        "model": run.name,
        "label": run.label,
        "trained": run.trained,
        "weights": "trained" if run.trained else UNTRAINED,
        "protocol": s.protocol,
        "test_set": with_dataset(test_set_label(s.protocol), run),
        "dataset": getattr(run, "dataset", "") or "Human3.6M",
        "sampling": SAMPLING_NOTE,
        "num_samples": s.num_samples,
        "limit": run.limit,
        "protocol_mode": getattr(run, "protocol_mode", None),
        "conventions": getattr(run, "conventions", None),
        "root": run.root,
        "root_file": run.root_file,
        "root_model": run.root_model,
        "flip": run.flip,
        "joint_set": run.joint_set,
        "scored_joints": list(s.joint_names),
        "mapped_joints": s.mapped,
        "mpjpe_mm": s.total("mpjpe"),
        "pa_mpjpe_mm": s.total("pa_mpjpe"),
        "pa_mpjpe_similarity_mm": s.total("pa_mpjpe_similarity"),
        "extra_metrics": {m: {"label": s.label(m), "value_mm": s.total(m),
                              "per_action_mm": s.per_action(m)} for m in s.errors if m in EXTRA_METRICS},
        "headline_metric": headline_metric(s.protocol),
        "labels": labels,
        "per_action_mpjpe_mm": s.per_action("mpjpe"),
        "per_action_pa_mpjpe_mm": s.per_action("pa_mpjpe"),
        "per_action_pa_mpjpe_similarity_mm": s.per_action("pa_mpjpe_similarity"),
        "per_action_num_samples": {a: int((s.actions == i).sum()) for i, a in enumerate(ACTIONS)},
        "per_joint_mpjpe_mm": s.per_joint("mpjpe"),
        "per_joint_pa_mpjpe_mm": s.per_joint("pa_mpjpe"),
        "mrpe_mm": s.mrpe,
        "checkpoint": run.checkpoint,
        "checkpoint_sha256": run.checkpoint_sha256,
        "device": run.device,
        "precision": run.precision,
        "source": run.source,
        "published": run.published,
        "software_versions": software_versions(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "notes": list(run.notes),
    }
    gt_free = getattr(run, "gt_free", None)
    if gt_free:  # engine.compare.h36m: the model's own steadiness/shape beside the GT's (the floor)
        d["gt_free"] = {"model": gt_free.get("model"), "ground_truth": gt_free.get("gt"),
                        "conventions": gt_free.get("conventions")}
    if run.published:
        ours = d[f"{run.published['metric']}_mm"]
        d["published"] = {**run.published, "difference_mm": ours - run.published["value"]}
    if not run.trained:
        d["notes"].insert(0, "untrained weights: random initialisation, the errors say nothing about the model")
    return d


def load_results(out_dir: Path, names: Sequence[str]) -> list[dict[str, Any]]:
    """results.json of each model folder (for reprinting a finished run)."""
    return [json.loads((Path(out_dir) / safe_name(n) / "results.json").read_text()) for n in names]
