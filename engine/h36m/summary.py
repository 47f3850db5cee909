"""The console summary of a benchmark: headline metric per model in words, the other metrics, the published
figure and root errors; from the scored runs or rebuilt from saved results.json files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.h36m.metrics import EXTRA_METRICS, METRICS
from engine.h36m.model_run import UNTRAINED, ModelRun, fmt_mm, headline_metric
from engine.h36m.results_json import with_dataset

__all__ = ["gt_free_lines", "mode_lines", "results_summary_from_json", "root_lines", "summary_text"]


def summary_text(runs: Sequence[ModelRun]) -> str:
    """Console summary: headline metric per model in words, the other columns, and the published figure."""
    lines = []
    for r in runs:
        s = r.scores
        head = headline_metric(s.protocol)
        others = [m for m in METRICS if m != head]
        line = f"{r.label}: {with_dataset(s.label(head), r)} = {s.total(head):.2f} mm over {s.num_samples} samples"
        if r.published:
            ours = s.total(r.published["metric"])
            line += f" (published {r.published['value']:.2f}, difference {ours - r.published['value']:+.2f})"
        lines.append(line)
        lines.extend(f"    {with_dataset(s.label(m), r)} = {s.total(m):.2f} mm" for m in others)
        lines.extend(f"    {with_dataset(s.label(m), r)} = {s.total(m):.2f} mm" for m in s.errors if m in EXTRA_METRICS)
        lines.extend(mode_lines(getattr(r, "protocol_mode", None), getattr(r, "conventions", None)))
        lines.extend(root_lines(r.root, r.root_model, s.mrpe))
        lines.extend(gt_free_lines(getattr(r, "gt_free", None)))
        if not r.trained:
            lines.append(f"    NOTE: {UNTRAINED} - random initialisation, these errors are meaningless")
    return "\n".join(lines)


def mode_lines(mode: str | None, conventions: Mapping[str, str] | None) -> list[str]:
    """The protocol mode a model ran under and its crop and placement (docs/protocol_modes.md)."""
    if not mode:
        return []
    conv = conventions or {}
    return [f"    protocol mode {mode}: crop {conv.get('crop', '?')}, pose to camera {conv.get('pose_to_camera', '?')}"]


def root_lines(root: str, root_model: Mapping[str, Any] | None, m: Mapping[str, float] | None) -> list[str]:
    """The summary's root lines: MRPE of the roots used, and a warning when they came from an untrained RootNet."""
    lines = []
    source = f"roots from {root_model.get('label', '?')} (run live)" if root_model else f"{root} roots"
    if m:
        lines.append(f"    MRPE of the {source} = {fmt_mm(m.get('mrpe'))} mm "
                     f"(x {fmt_mm(m.get('x'))}, y {fmt_mm(m.get('y'))}, z {fmt_mm(m.get('z'))})")
    if root_model and not root_model.get("trained", True):
        lines.append(f"    NOTE: the roots come from {root_model.get('label', '?')} - random initialisation, "
                     "its MRPE and the absolute depths are meaningless")
    return lines


def gt_free_lines(g: Mapping[str, Any] | None) -> list[str]:
    """Bone-length CV and asymmetry of the predictions beside the GT's (engine.compare.h36m), one line."""
    if not g or not g.get("model") or not g.get("gt"):
        return []
    m, gt = g["model"], g["gt"]

    def pct(v: Any) -> str:
        return "-" if v is None or v != v else f"{100 * v:.1f} %"

    line = (f"    bone-length CV {pct(m.get('bone_cv_mean'))} (GT {pct(gt.get('bone_cv_mean'))}), L/R asymmetry "
            f"{pct(m.get('asymmetry_mean'))} (GT {pct(gt.get('asymmetry_mean'))}), mean bone "
            f"{fmt_mm(m.get('mean_bone_mm'))} mm (GT {fmt_mm(gt.get('mean_bone_mm'))})")
    if m.get("degenerate"):
        line += f"; DEGENERATE: {m.get('degenerate_reason')}"
    return [line]


def results_summary_from_json(results: Sequence[Mapping[str, Any]]) -> str:
    """Console summary rebuilt from saved results.json files."""
    lines = []
    for d in results:
        head = d.get("headline_metric", "mpjpe")
        line = f"{d['label']}: {d['labels'][head]} = {d[head + '_mm']:.2f} mm over {d['num_samples']} samples"
        pub = d.get("published")
        if pub:
            line += f" (published {pub['value']:.2f}, difference {pub['difference_mm']:+.2f})"
        lines.append(line)
        for m in METRICS:
            if m != head and d.get(m + "_mm") is not None:
                lines.append(f"    {d['labels'][m]} = {d[m + '_mm']:.2f} mm")
        for e in (d.get("extra_metrics") or {}).values():
            if e.get("value_mm") is not None:
                lines.append(f"    {e['label']} = {e['value_mm']:.2f} mm")
        lines.extend(mode_lines(d.get("protocol_mode"), d.get("conventions")))
        lines.extend(root_lines(d.get("root", "gt"), d.get("root_model"), d.get("mrpe_mm")))
        g = d.get("gt_free")
        lines.extend(gt_free_lines({"model": g.get("model"), "gt": g.get("ground_truth")} if g else None))
        if not d.get("trained", True):
            lines.append(f"    NOTE: {UNTRAINED} - random initialisation, these errors are meaningless")
    return "\n".join(lines)
