"""report.md: the run's numbers beside the published figures, per action, the root errors and the provenance
(checkpoints, devices, software versions), as Markdown."""

from __future__ import annotations

import math
from collections.abc import Sequence

from engine.h36m.metrics import ACTIONS, EXTRA_METRICS, METRICS, metric_label, test_set_label
from engine.h36m.model_run import SAMPLING_NOTE, UNTRAINED, ModelRun, fmt_mm, headline_metric
from engine.h36m.results_json import with_dataset
from engine.versions import software_versions

__all__ = ["report_markdown"]


def _root_description(run: ModelRun) -> str:
    if run.root == "gt":
        return "GT root depth and GT boxes"
    if run.root_model:
        return f"GT boxes with roots from {run.root_model.get('label', '?')} run live"
    return "RootNet boxes and roots (result file)"


def _pct(v: float | None) -> str:
    return "-" if v is None or not math.isfinite(v) else f"{100 * v:.1f} %"


def _gt_free_section(runs: Sequence[ModelRun]) -> list[str]:
    """The measures the live comparison uses (engine.compare), on the predictions beside the GT's own values."""
    rows = [(r, getattr(r, "gt_free", None)) for r in runs]
    rows = [(r, g) for r, g in rows if g and g.get("model")]
    if not rows:
        return []
    gt, conv = rows[0][1]["gt"], rows[0][1]["conventions"]
    lines = ["", "## Without ground truth: body shape and steadiness (beside the GT's own values)", "",
             "| | mean bone mm | bone-length CV | L/R asymmetry | jitter mm/s² (samples 1.28 s apart) | status |",
             "|---|---:|---:|---:|---:|---|"]

    def row(name: str, g: dict) -> str:
        status = f"DEGENERATE: {g['degenerate_reason']}" if g.get("degenerate") else "ok"
        return (f"| {name} | {fmt_mm(g.get('mean_bone_mm'))} | {_pct(g.get('bone_cv_mean'))} | "
                f"{_pct(g.get('asymmetry_mean'))} | {fmt_mm(g.get('jitter_mm_s2'))} | {status} |")

    lines.append(row("ground truth (floor)", gt))
    lines.extend(row(r.label + (" (mapped)" if r.gt_free["model"].get("mapped") else ""), r.gt_free["model"])
                 for r, _ in rows)
    lines += ["", f"Per video ({conv.get('videos')} videos: subject, action, subaction, camera), averaged. The test "
              f"set keeps every 64th frame, so 'jitter' is the second difference over {conv.get('consecutive_triples')}"
              f" triples of consecutive samples {conv.get('sample_dt_s'):g} s apart: mostly the body's real motion, "
              "not per-frame jitter; the GT's own value is the floor. The GT's bone-length CV is not 0 because "
              "Human3.6M's joints are marker-derived points, not a rigid skeleton. Definitions: docs/metrics.md."]
    return lines


def report_markdown(runs: Sequence[ModelRun], title: str = "Human3.6M benchmark") -> str:
    if not runs:
        return f"# {title}\n\nNo models were scored.\n"
    protocol = runs[0].scores.protocol
    head = headline_metric(protocol)
    lines = [f"# {title}", ""]
    if getattr(runs[0], "dataset", ""):
        lines += [f"**Warning: {runs[0].dataset}: these numbers are not Human3.6M results.**", ""]
    lines.append(f"Test set: {with_dataset(test_set_label(protocol), runs[0])}, sampled {SAMPLING_NOTE}. Roots: "
                 + ", ".join(sorted({_root_description(r) for r in runs})) + ".")
    if any(not r.trained for r in runs):
        lines += ["", f"**Warning: rows marked ({UNTRAINED}) use random initialisation; their errors are "
                  "meaningless and only the timings or the pipeline are being tested.**"]
    for label in sorted({r.root_model.get("label", "?") for r in runs
                         if r.root_model and not r.root_model.get("trained", True)}):
        lines += ["", f"**Warning: the roots come from {label}: random initialisation, so the MRPE and the "
                  "absolute depths are meaningless.**"]
    lines += ["", "## Totals (mm, mean over samples x joints)", ""]
    lines.append(f"| model | samples | flip | {' | '.join(METRICS[m][0] for m in METRICS)} | "
                 f"published | difference |")
    lines.append("|---|---:|---|" + "---:|" * (len(METRICS) + 2))
    for r in runs:
        s = r.scores
        pub = r.published
        diff = s.total(pub["metric"]) - pub["value"] if pub else None
        pub_txt = f"{pub['value']:.2f} ({METRICS[pub['metric']][0]})" if pub else "-"
        name = r.label + (f", mapped {len(s.joint_names)} joints" if s.mapped else "")
        lines.append(f"| {name} | {s.num_samples} | {'yes' if r.flip else 'no' if r.flip is not None else '?'} | "
                     + " | ".join(fmt_mm(s.total(m)) for m in METRICS) + f" | {pub_txt} | "
                     + (f"{diff:+.2f}" if diff is not None else "-") + " |")
    lines += ["", "Columns: " + "; ".join(f"{metric_label(m, protocol)} = {METRICS[m][1]}" for m in METRICS) + "."]
    modes = sorted({r.protocol_mode for r in runs if getattr(r, "protocol_mode", None)})
    if modes:
        lines.append("Protocol mode: " + ", ".join(modes) + " (official: each model as its own test runs it; common: "
                     "every model through the 3DMPPE pipeline; docs/protocol_modes.md).")
    for r in runs:
        conv = getattr(r, "conventions", None) or {}
        extra = [f"{r.scores.label(m)} = {fmt_mm(r.scores.total(m))} mm" for m in r.scores.errors
                 if m in EXTRA_METRICS]
        if conv or extra:
            lines.append(f"{r.label}: crop {conv.get('crop', '?')}, pose to camera {conv.get('pose_to_camera', '?')}"
                         + (f"; {'; '.join(extra)}" if extra else "") + ".")
    mapped = [r for r in runs if r.scores.mapped]
    for r in mapped:
        lines.append(f"{r.label}: joint set {r.joint_set}, scored on the {len(r.scores.joint_names)} joints that map "
                     f"by name ({', '.join(r.scores.joint_names)}); not comparable with 17-joint figures.")
    if protocol == 2:
        lines.append("PA-MPJPE here is on the Protocol 2 test set (S9+S11) with Protocol 2 weights: not the papers' "
                     "Protocol 1 figure (S11, weights trained with S9).")
    lines += ["", f"## Per action: {METRICS[head][0]} (mm)", ""]
    lines.append("| action | " + " | ".join(r.label for r in runs) + " |")
    lines.append("|---|" + "---:|" * len(runs))
    per = [r.scores.per_action(head) for r in runs]
    for i, a in enumerate(ACTIONS):
        cells = []
        for r, p in zip(runs, per):
            c = fmt_mm(p[a])
            if r.published_per_action and head == "mpjpe":
                pv = r.published_per_action[i]
                c += f" (pub. {pv:.1f}, {p[a] - pv:+.1f})" if math.isfinite(p[a]) else f" (pub. {pv:.1f})"
            cells.append(c)
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
    lines += _gt_free_section(runs)
    roots = [r for r in runs if r.scores.mrpe]
    if roots:
        r = roots[0]
        m = r.scores.mrpe
        if r.root_model:
            rm = r.root_model
            head, src = (f"## Root ({rm.get('label', '?')}, run live on the GT boxes)",
                         f"checkpoint {rm.get('checkpoint') or '-'} (sha256 {rm.get('checkpoint_sha256') or '-'})")
        else:
            head, src = "## Root (RootNet result file)", f"file: {r.root_file or '?'}"
        lines += ["", head, "",
                  f"MRPE {m['mrpe']:.2f} mm (x {m['x']:.2f}, y {m['y']:.2f}, z {m['z']:.2f}) over "
                  f"{r.scores.num_samples} samples; {src}. Published RootNet on Protocol 2 (GT boxes): "
                  "120.0 mm (x 23.3, y 23.0, z 108.1)."]
    lines += ["", "## Provenance", ""]
    for r in runs:
        lines.append(f"- {r.label}: checkpoint {r.checkpoint or '-'} (sha256 {r.checkpoint_sha256 or '-'}), "
                     f"device {r.device or '-'}, precision {r.precision or '-'}, source {r.source}"
                     + (f"; published figure from {r.published['source']}" if r.published else ""))
        lines.extend(f"  - {n}" for n in r.notes)
    v = software_versions()
    lines.append("- software: " + ", ".join(f"{k} {val}" for k, val in v.items()))
    return "\n".join(lines) + "\n"
