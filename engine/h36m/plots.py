"""The benchmark's plots: per-action and per-joint errors, models side by side (PNG, drawn with matplotlib's
object API on the Agg backend, so it works from a worker thread and without a display)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from engine.h36m.metrics import ACTIONS, EVAL_JOINTS, metric_label
from engine.h36m.model_run import ModelRun, headline_metric
from engine.h36m.outputs import atomic_path
from engine.h36m.results_json import with_dataset

__all__ = ["write_plots"]

PUBLISHED_PREFIX = "published: "
PUBLISHED_COLOUR = "#9c9c9c"  # grey, as the GUI's charts draw the papers' bars


def _save_fig(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")


def _grouped_bars(path: Path, categories: Sequence[str], series: Mapping[str, Sequence[float]], title: str,
                  ylabel: str) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    n = max(1, len(series))
    width = 0.8 / n
    fig = Figure(figsize=(max(8.0, 0.6 * len(categories) * max(1, n / 2)), 4.5))
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(categories))
    for k, (name, vals) in enumerate(series.items()):
        v = np.array([np.nan if val is None else val for val in vals], dtype=float)
        colour = {"color": PUBLISHED_COLOUR} if name.startswith(PUBLISHED_PREFIX) else {}
        ax.bar(x + (k - (n - 1) / 2) * width, v, width, label=name, **colour)
    ax.set_xticks(x)
    ax.set_xticklabels(categories, rotation=45, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)  # never over the bars
    _save_fig(fig, path)


def write_plots(out_dir: Path, runs: Sequence[ModelRun]) -> dict[str, Path]:
    """per_action.png and per_joint.png of the runs' headline metric (nothing for no runs)."""
    if not runs:
        return {}
    out_dir = Path(out_dir)
    protocol = runs[0].scores.protocol
    head = headline_metric(protocol)
    files = {"per_action.png": out_dir / "per_action.png", "per_joint.png": out_dir / "per_joint.png"}
    per_action: dict[str, list[float | None]] = {}
    for r in runs:  # in ACTIONS order (the published per-action figures' order), whatever the dict's order
        ours = r.scores.per_action(head)
        per_action[r.label] = [ours.get(a) for a in ACTIONS]
        if r.published_per_action:
            per_action[f"{PUBLISHED_PREFIX}{r.name}"] = list(r.published_per_action)
    _grouped_bars(files["per_action.png"], ACTIONS, per_action,
                  f"{with_dataset(metric_label(head, protocol), runs[0])}: per action", "error (mm)")
    joints = [j for j in EVAL_JOINTS if any(j in r.scores.joint_names for r in runs)]  # H36M order
    _grouped_bars(files["per_joint.png"], joints,
                  {r.label: [r.scores.per_joint(head).get(j) for j in joints] for r in runs},
                  f"{with_dataset(metric_label(head, protocol), runs[0])}: per joint", "error (mm)")
    return files
