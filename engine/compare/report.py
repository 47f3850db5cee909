"""Writers for a comparison result (the dict ``compare_recording`` returns, or ``compare.json`` read back):
``compare.json`` and ``report.md``; plots are in ``engine.compare.plots``.

Why they read the plain dict rather than dataclasses: a report can be regenerated from an old ``compare.json``
without the recording. Every file goes through ``models.fileio`` (temp file + atomic replace).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from engine.compare.offline import SCHEMA
from models.fileio import atomic_write_json, atomic_write_text

__all__ = ["render_report", "verdict_lines", "write_all", "write_compare_json", "write_report"]

_METRIC_TITLES = {"root_aligned_mm": "root-aligned, mm", "rigid_aligned_mm": "rigid-aligned (no scale), mm",
                  "absolute_mm": "absolute camera, mm", "px_2d": "2D, px"}


def _f(v: Any, digits: int = 1, pct: bool = False) -> str:
    if v is None:
        return "–"
    return f"{100 * v:.{digits}f} %" if pct else f"{v:,.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|",
            *("| " + " | ".join(r) + " |" for r in rows)]


def _status(s: Mapping[str, Any]) -> str:
    out = []
    if s.get("degenerate"):
        out.append(f"**DEGENERATE**: {s.get('degenerate_reason')}")
    if s.get("trained") is False:
        out.append("untrained weights")
    return "; ".join(out) or "ok"


def verdict_lines(result: Mapping[str, Any]) -> list[str]:
    """The console summary: one line per model (the headline measures and its status), then the verdicts."""
    ov = result["overall"]
    stats, v = ov["stats"], ov["verdicts"]
    lines = []
    for n in ov["models"]:
        s = stats[n]
        lines.append(f"{s.get('label') or n}: mean bone {_f(s['mean_bone_mm'], 0)} mm, bone-length CV "
                     f"{_f(s['bone_cv_mean'], 1, pct=True)}, L/R asymmetry {_f(s['asymmetry_mean'], 1, pct=True)}, "
                     f"jitter {_f(s['jitter_mm_s2'], 0)} mm/s² raw / {_f(s['jitter_smoothed_mm_s2'], 0)} smoothed, "
                     f"root z std {_f(s['root_z_std_mm'], 0)} mm, visible {_f(s['visibility'], 0, pct=True)}"
                     + ("" if _status(s) == "ok" else f" [{_status(s).replace('**', '')}]"))
    for key, what in (("steadiest", "steadiest"), ("most_human_like", "most human-like"),
                      ("agrees_most", "agrees most with the others")):
        if key == "agrees_most" and len(ov["models"]) < 2:
            continue
        lines.append(f"verdict: {what}: {v.get(key) or 'none (no model qualifies)'}")
    lines.extend(f"verdict: not ranked: {n}: {why}" for n, why in v.get("excluded", {}).items())
    names = ov["models"]
    for p in ov["pairs"]:
        lines.append(f"agreement {p['a']} – {p['b']}: {_f(p['root_aligned_mm'])} mm root-aligned, "
                     f"{_f(p['rigid_aligned_mm'])} mm rigid-aligned, {_f(p['px_2d'])} px 2D over "
                     f"{len(p['joints'])} joints" + (" (mapped)" if p["mapped"] else ""))
    if not names:
        lines.append("verdict: the recording holds no model")
    return lines


def write_compare_json(result: Mapping[str, Any], path: str | Path) -> Path:
    """``compare.json``: the result as plain JSON (NaN already null), schema ``SCHEMA``."""
    if result.get("schema") != SCHEMA:
        raise ValueError(f"not a comparison result (schema {result.get('schema')!r}, expected {SCHEMA!r})")
    return atomic_write_json(path, result, allow_nan=False)


def render_report(result: Mapping[str, Any]) -> str:
    """The markdown report: verdicts, a summary table, a table per model, the agreement matrices."""
    ov, src = result["overall"], result["source"]
    names: list[str] = ov["models"]
    stats: Mapping[str, Any] = ov["stats"]
    v = ov["verdicts"]
    lines = [f"# Model comparison: {Path(src['path']).name}", "",
             f"{src['frames']} frames, {_f(src['duration_s'], 1)} s ({result['conventions']['clock']} clock), "
             f"{len(names)} models; recording {'complete' if src.get('complete') else 'INCOMPLETE (cut short)'}. "
             "No ground truth: these numbers say how steady, how human-shaped and how consistent the models are, "
             "not how accurate. Definitions: docs/metrics.md.", "", "## Verdict", ""]

    def named(key: str, what: str, detail: str) -> None:
        n = v.get(key)
        lines.append(f"- {what}: **{n}** ({detail.format(s=stats[n], a=v.get('mean_agreement_mm', {}).get(n))})"
                     if n else f"- {what}: none (no model qualifies)")

    named("steadiest", "Steadiest", "raw jitter {s[jitter_mm_s2]:,.0f} mm/s²")
    named("most_human_like", "Most human-like", "bone-length CV {s[bone_cv_mean]:.3f}, "
          "limb asymmetry {s[asymmetry_mean]:.3f}")
    if len(names) > 1:
        named("agrees_most", "Agrees most with the others", "mean root-aligned distance {a:.1f} mm")
    for n, why in v.get("excluded", {}).items():
        lines.append(f"- Not ranked: **{n}**: {why}")
    untrained = [n for n in names if stats[n].get("trained") is False]
    if untrained:
        lines.append(f"- Running untrained (random) weights: {', '.join(untrained)}: speed tests only")
    lines += ["", "## Models", ""]
    rows = [[n, stats[n]["joint_set"] + (" (mapped)" if stats[n]["mapped"] else ""),
             _f(stats[n]["visibility"], 1, pct=True), _f(stats[n]["jitter_mm_s2"], 0),
             _f(stats[n]["jitter_smoothed_mm_s2"], 0), _f(stats[n]["bone_cv_mean"], 3), _f(stats[n]["mean_bone_mm"]),
             _f(stats[n]["asymmetry_mean"], 3), _f(stats[n]["root_z_std_mm"]), _f(stats[n]["root_z_jitter_mm_s2"], 0),
             f"{_f(stats[n]['latency_mean_ms'])} / {_f(stats[n]['latency_p95_ms'])}", _status(stats[n])]
            for n in names]
    lines += _table(["model", "joints", "visible", "jitter raw mm/s²", "jitter smoothed mm/s²", "bone CV",
                     "mean bone mm", "L/R asymmetry", "root z std mm", "root z jitter mm/s²", "latency mean/p95 ms",
                     "status"], rows)
    for n in names:
        s = stats[n]
        lines += ["", f"### {n}", "", f"{s['label']}; joints used ({len(s['joints'])}): {', '.join(s['joints'])}.", ""]
        tracks = ov["per_track"].get(n, [])
        if tracks:
            lines += _table(["track", "frames", "visible", "jitter mm/s²", "bone CV", "mean bone mm", "asymmetry",
                             "root z std mm", "status"],
                            [[str(t["track_id"]), str(t["frames"]), _f(t["visibility"], 1, pct=True),
                              _f(t["jitter_mm_s2"], 0), _f(t["bone_cv_mean"], 3), _f(t["mean_bone_mm"]),
                              _f(t["asymmetry_mean"], 3), _f(t["root_z_std_mm"]), _status(t)] for t in tracks])
            lines.append("")
        lines += _table(["bone", "mean length mm", "CV"],
                        [[b, _f(s["bone_length_mm"][b]), _f(s["bone_cv"][b], 3)] for b in s["bone_length_mm"]])
        lines += ["", "Asymmetry per limb pair: " + ", ".join(f"{k} {_f(x, 3)}" for k, x in s["asymmetry"].items())]
    if len(names) > 1:
        lines += ["", "## Agreement between models", ""]
        for metric, title in _METRIC_TITLES.items():
            mat = ov["matrix"][metric]
            lines += [f"Mean per-joint distance, {title}:", ""]
            lines += _table(["", *names], [[a, *(_f(x) for x in mat[i])] for i, a in enumerate(names)])
            lines.append("")
        lines += _table(["pair", "samples", "joints", "mapped", "approximate joints"],
                        [[f"{p['a']} – {p['b']}", str(p["samples"]), str(len(p["joints"])),
                          "yes" if p["mapped"] else "no", ", ".join(p["approx_joints"]) or "–"] for p in ov["pairs"]])
    return "\n".join(lines) + "\n"


def write_report(result: Mapping[str, Any], path: str | Path) -> Path:
    """``report.md`` (see ``render_report``)."""
    return atomic_write_text(path, render_report(result))


def write_all(result: Mapping[str, Any], out_dir: str | Path, *, plots: bool = True) -> dict[str, Path]:
    """compare.json, report.md and (``plots``) the PNGs into ``out_dir``; returns {what: path}."""
    out = Path(out_dir)
    files = {"json": write_compare_json(result, out / "compare.json"),
             "report": write_report(result, out / "report.md")}
    if plots:
        from engine.compare.plots import write_plots

        files.update(write_plots(result, out))
    return files
