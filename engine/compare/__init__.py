"""Comparing pose models without ground truth: which model is steadiest, most human-shaped, and how much
the models agree. Pure numpy; no Qt. Measures: docs/metrics.md.

- Live: ``CompareAccumulator`` (feed ``update`` / ``update_from_result`` per frame, read ``snapshot()``).
- Offline: ``compare_recording(path)`` -> dict; ``write_all(result, out_dir)`` -> compare.json, report.md, plots.
"""

from __future__ import annotations

from engine.compare.accumulator import CompareAccumulator, ModelFrame
from engine.compare.agreement import PairAgreement, agreement_matrix
from engine.compare.metrics import ModelStats, acceleration
from engine.compare.offline import SCHEMA, compare_recording
from engine.compare.report import render_report, write_all, write_compare_json, write_report
from engine.compare.skeleton import JointAdapter, make_adapter
from engine.compare.snapshot import ModelDesc, Snapshot, describe_model

__all__ = ["SCHEMA", "CompareAccumulator", "JointAdapter", "ModelDesc", "ModelFrame", "ModelStats", "PairAgreement",
           "Snapshot", "acceleration", "agreement_matrix", "compare_recording", "describe_model", "make_adapter",
           "render_report", "write_all", "write_compare_json", "write_report"]
