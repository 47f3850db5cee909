"""The CSV outputs: results.csv (one row per model), per_action.csv and per_joint.csv (long format)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from engine.h36m.metrics import ACTIONS, METRICS
from engine.h36m.model_run import ModelRun
from engine.h36m.outputs import atomic_write_text

__all__ = ["write_per_action_csv", "write_per_joint_csv", "write_results_csv"]

RESULT_COLUMNS = ("model", "label", "trained", "protocol", "test_set", "num_samples", "root", "flip", "mpjpe_mm",
                  "pa_mpjpe_mm", "pa_mpjpe_similarity_mm", "integral_aligned_mm", "mrpe_mm", "published_metric",
                  "published_mm", "difference_mm", "scored_joints", "checkpoint_sha256", "root_model", "protocol_mode",
                  "crop", "pose_to_camera")
METRIC_COLUMNS = [f"{k}_mm" for k in METRICS]


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Floats with 4 decimals, non-finite floats as empty cells."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if (isinstance(v, float) and not math.isfinite(v)) else
                    (f"{v:.4f}" if isinstance(v, float) else v) for v in r])
    atomic_write_text(path, buf.getvalue())


def _result_row(d: Mapping[str, Any]) -> list[Any]:
    pub = d.get("published") or {}
    mrpe = (d.get("mrpe_mm") or {}).get("mrpe", float("nan"))
    conv = d.get("conventions") or {}
    return [d["model"], d["label"], d["trained"], d["protocol"], d["test_set"], d["num_samples"], d["root"],
            d["flip"], d["mpjpe_mm"], d["pa_mpjpe_mm"], d["pa_mpjpe_similarity_mm"],
            ((d.get("extra_metrics") or {}).get("integral_aligned") or {}).get("value_mm", float("nan")), mrpe,
            pub.get("metric", ""), pub.get("value", float("nan")), pub.get("difference_mm", float("nan")),
            len(d["scored_joints"]), d.get("checkpoint_sha256") or "", (d.get("root_model") or {}).get("label", ""),
            d.get("protocol_mode") or "", conv.get("crop", ""), conv.get("pose_to_camera", "")]


def _per_action_rows(run: ModelRun) -> list[list[Any]]:
    s = run.scores
    m = {k: s.per_action(k) for k in METRICS}
    return [[run.label, a, int((s.actions == i).sum()), *(m[k][a] for k in METRICS)] for i, a in enumerate(ACTIONS)]


def _per_joint_rows(run: ModelRun) -> list[list[Any]]:
    s = run.scores
    m = {k: s.per_joint(k) for k in METRICS}
    return [[run.label, j, *(m[k][j] for k in METRICS)] for j in s.joint_names]


def write_results_csv(path: Path, results: Sequence[Mapping[str, Any]]) -> None:
    """One row per results.json dict (``results_json.result_dict``)."""
    write_csv(path, RESULT_COLUMNS, [_result_row(d) for d in results])


def write_per_action_csv(path: Path, runs: Sequence[ModelRun]) -> None:
    write_csv(path, ["model", "action", "num_samples", *METRIC_COLUMNS],
              [row for r in runs for row in _per_action_rows(r)])


def write_per_joint_csv(path: Path, runs: Sequence[ModelRun]) -> None:
    write_csv(path, ["model", "joint", *METRIC_COLUMNS], [row for r in runs for row in _per_joint_rows(r)])
