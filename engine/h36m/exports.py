"""Benchmark outputs, every file written atomically (``models.fileio``: temp file in the same folder, then
os.replace); one module per output kind, this one puts them together.

Per scored model, in ``OUT/<model>/``: results.json, results.csv, per_action.csv, per_joint.csv, predictions.h5 and
the official 3DMPPE predictions file ``bbox_root_pose_human36m_output.json`` (``official_json``).
For the run, in ``OUT/``: results.json (``{"schema": RUN_RESULTS_SCHEMA, "models": [one results object per model]}``,
the same shape whatever the number of models), results.csv (one row per model), per_action.csv and per_joint.csv
(long format, all models), report.md (ours beside the published figures), per_action.png and per_joint.png (models
side by side).
Numbers computed with random weights carry "untrained weights" in every file.

The parts: ``outputs`` (OutputWriteError, atomic writes), ``model_run`` (ModelRun, names, published figures),
``results_json``, ``results_csv``, ``predictions_h5``, ``report`` (report.md), ``plots``, ``summary`` (console).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from engine.h36m.model_run import SAMPLING_NOTE, UNTRAINED, ModelRun, headline_metric, published_for, safe_name
from engine.h36m.official_json import OFFICIAL_JSON, write_official_json
from engine.h36m.outputs import FILE_MODE, OutputWriteError, atomic_path, atomic_write_text
from engine.h36m.plots import write_plots
from engine.h36m.predictions_h5 import PREDICTIONS_SCHEMA, read_predictions_h5, write_predictions_h5
from engine.h36m.report import report_markdown
from engine.h36m.results_csv import write_per_action_csv, write_per_joint_csv, write_results_csv
from engine.h36m.results_json import RESULTS_SCHEMA, load_results, result_dict, write_json
from engine.h36m.summary import results_summary_from_json, summary_text
from engine.versions import software_versions

RUN_RESULTS_SCHEMA = "posearena.h36m.run-results/1"

__all__ = [
    "FILE_MODE",
    "OFFICIAL_JSON",
    "RUN_RESULTS_SCHEMA",
    "ModelRun",
    "OutputWriteError",
    "PREDICTIONS_SCHEMA",
    "RESULTS_SCHEMA",
    "SAMPLING_NOTE",
    "UNTRAINED",
    "atomic_path",
    "atomic_write_text",
    "headline_metric",
    "published_for",
    "read_predictions_h5",
    "result_dict",
    "safe_name",
    "software_versions",
    "summary_text",
    "load_results",
    "load_run_results",
    "report_markdown",
    "results_summary_from_json",
    "write_json",
    "write_model_files",
    "write_predictions_h5",
    "write_run_files",
]


def write_model_files(out_dir: Path, run: ModelRun) -> dict[str, Path]:
    """OUT/<model>/{results.json, results.csv, per_action.csv, per_joint.csv, predictions.h5}."""
    d = Path(out_dir) / run.folder
    files = {
        "results.json": d / "results.json", "results.csv": d / "results.csv", "per_action.csv": d / "per_action.csv",
        "per_joint.csv": d / "per_joint.csv",
    }
    res = result_dict(run)
    write_json(files["results.json"], res)
    write_results_csv(files["results.csv"], [res])
    write_per_action_csv(files["per_action.csv"], [run])
    write_per_joint_csv(files["per_joint.csv"], [run])
    if run.predictions:
        files["predictions.h5"] = d / "predictions.h5"
        write_predictions_h5(files["predictions.h5"], run)
        if write_official_json(d / OFFICIAL_JSON, run):
            files[OFFICIAL_JSON] = d / OFFICIAL_JSON
    return files


def write_run_files(out_dir: Path, runs: Sequence[ModelRun], *, title: str = "Human3.6M benchmark") -> dict[str, Path]:
    """Run-level files: results.json, results.csv, per_action.csv, per_joint.csv, report.md and the two plots."""
    out_dir = Path(out_dir)
    files = {name: out_dir / name for name in ("results.json", "results.csv", "per_action.csv", "per_joint.csv",
                                                "report.md")}
    results = [result_dict(r) for r in runs]
    write_json(files["results.json"], {"schema": RUN_RESULTS_SCHEMA, "models": results})
    write_results_csv(files["results.csv"], results)
    write_per_action_csv(files["per_action.csv"], runs)
    write_per_joint_csv(files["per_joint.csv"], runs)
    atomic_write_text(files["report.md"], report_markdown(runs, title))
    files.update(write_plots(out_dir, runs))
    return files


def load_run_results(path: str | Path) -> list[dict]:
    """The per-model results objects of a run-level results.json (also the older shapes: one object, or a list)."""
    import json

    p = Path(path)
    d = json.loads((p / "results.json" if p.is_dir() else p).read_text())
    if isinstance(d, dict) and isinstance(d.get("models"), list):
        return list(d["models"])
    return list(d) if isinstance(d, list) else [d]
