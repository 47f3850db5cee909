"""Comparison plots (PNG, matplotlib's Agg canvas through ``matplotlib.figure.Figure``, never pyplot, so they can
be drawn from a worker thread next to the Qt GUI): the agreement heatmap, jitter per joint, bone lengths over time.

Each reads the plain result dict (``compare_recording`` / ``compare.json``) and writes through ``atomic_path``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from models.fileio import atomic_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_agreement", "plot_bone_lengths", "plot_jitter", "write_plots"]


def _figure(w: float, h: float) -> Figure:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h), dpi=100, layout="constrained")


def _save(fig: Figure, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def _arr(rows: Any) -> np.ndarray:
    return np.array([[np.nan if x is None else x for x in r] for r in rows], dtype=np.float64)


def plot_agreement(result: Mapping[str, Any], path: str | Path, metric: str = "root_aligned_mm") -> Path:
    """Heatmap of the pairwise mean per-joint distance (``metric``), annotated."""
    names = result["overall"]["models"]
    mat = _arr(result["overall"]["matrix"][metric]) if names else np.zeros((0, 0))
    n = max(len(names), 1)
    fig = _figure(2.0 + 0.9 * n, 1.6 + 0.8 * n)
    ax = fig.add_subplot()
    im = ax.imshow(np.ma.masked_invalid(mat) if mat.size else np.zeros((1, 1)), cmap="viridis")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, "–" if not np.isfinite(mat[i, j]) else f"{mat[i, j]:.0f}", ha="center", va="center",
                    color="w", fontsize=8)
    fig.colorbar(im, ax=ax, label=metric.replace("_", " "))
    ax.set_title("Agreement between models")
    return _save(fig, Path(path))


def plot_jitter(result: Mapping[str, Any], path: str | Path) -> Path:
    """Raw jitter per joint (mm/s², log scale), one bar group per joint, one colour per model."""
    stats = result["overall"]["stats"]
    names = result["overall"]["models"]
    joints = list(result["conventions"]["measure_joints"])
    fig = _figure(11, 4)
    ax = fig.add_subplot()
    width = 0.8 / max(len(names), 1)
    x = np.arange(len(joints))
    for k, n in enumerate(names):
        pj = stats[n]["jitter_per_joint"]
        vals = [pj.get(j) for j in joints]
        label = n + (" (degenerate)" if stats[n]["degenerate"] else "")
        ax.bar(x + (k - (len(names) - 1) / 2) * width, [np.nan if v is None else v for v in vals], width,
               label=label)
    ax.set_xticks(x, joints, rotation=45, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("mean |acceleration| mm/s²")
    ax.set_title("Jitter per joint (raw)")
    if names:
        ax.legend(fontsize=8)
    return _save(fig, Path(path))


def plot_bone_lengths(result: Mapping[str, Any], path: str | Path) -> Path:
    """The 16 bone lengths over time for the most-seen track, one panel per model."""
    series = result["series"]
    names = result["overall"]["models"]
    bones = result["conventions"]["bones"]
    fig = _figure(10, 2.2 * max(len(names), 1) + 0.6)
    axes = fig.subplots(max(len(names), 1), 1, sharex=True, squeeze=False)[:, 0]
    t = np.asarray(series.get("times") or [], np.float64)
    for ax, n in zip(axes, names, strict=False):
        y = _arr(series["bone_length_mm"].get(n, [])) if len(t) else np.zeros((0, len(bones)))
        for b in range(y.shape[1] if y.ndim == 2 else 0):
            ax.plot(t, y[:, b], lw=0.8, label=bones[b])
        ax.set_ylabel("mm")
        ax.set_title(n + (" (degenerate)" if result["overall"]["stats"][n]["degenerate"] else ""), fontsize=9)
    axes[-1].set_xlabel(f"time s (track {series.get('track_id')})")
    if names and len(t):
        axes[0].legend(fontsize=6, ncol=4, loc="upper right")
    return _save(fig, Path(path))


def write_plots(result: Mapping[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """agreement.png, jitter_per_joint.png, bone_lengths.png into ``out_dir``."""
    out = Path(out_dir)
    return {"agreement_plot": plot_agreement(result, out / "agreement.png"),
            "jitter_plot": plot_jitter(result, out / "jitter_per_joint.png"),
            "bone_plot": plot_bone_lengths(result, out / "bone_lengths.png")}
