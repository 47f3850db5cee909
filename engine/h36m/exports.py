"""Benchmark outputs, every file written atomically (temp file in the same folder, then os.replace).

Per scored model, in ``OUT/<model>/``: results.json, results.csv, per_action.csv, per_joint.csv, predictions.h5.
For the run, in ``OUT/``: results.json (the model's results object for a one-model run; a list of them for
several), results.csv (one row per model), per_action.csv and per_joint.csv (long format, all
models), report.md (ours beside the published figures), per_action.png and per_joint.png (models side by side).
Numbers computed with random weights carry "untrained weights" in every file.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import platform
import re
import sys
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from engine.h36m.metrics import ACTIONS, EVAL_JOINTS, METRICS, H36MScores, metric_label, test_set_label
from models import fileio
from models.fileio import FILE_MODE

__all__ = [
    "FILE_MODE",
    "ModelRun",
    "OutputWriteError",
    "PREDICTIONS_SCHEMA",
    "atomic_path",
    "atomic_write_text",
    "published_for",
    "read_predictions_h5",
    "result_dict",
    "safe_name",
    "software_versions",
    "summary_text",
    "load_results",
    "report_markdown",
    "results_summary_from_json",
    "write_json",
    "write_model_files",
    "write_run_files",
]

PREDICTIONS_SCHEMA = "posearena.h36m.predictions/1"
RESULTS_SCHEMA = "posearena.h36m.results/1"
SAMPLING_NOTE = "every 64th frame (frame_idx % 64 == 0), all 4 cameras"
UNTRAINED = "untrained weights"


@dataclass
class ModelRun:
    """One model's scores plus what is needed to describe and reproduce them."""

    scores: H36MScores
    name: str  # registry name or a label for imported predictions
    trained: bool = True
    joint_set: str = "h36m18"
    root: str = "gt"  # gt | rootnet (result file) | rootnet-model (RootNet network run live on the GT boxes)
    root_file: str | None = None
    root_model: dict[str, Any] | None = None  # live RootNet: name, label, trained, checkpoint, checkpoint_sha256
    flip: bool | None = True
    checkpoint: str | None = None
    checkpoint_sha256: str | None = None
    device: str | None = None
    precision: str | None = None
    limit: int | None = None
    source: str = "benchmark"  # benchmark | evaluate:<file>
    published: dict[str, Any] | None = None  # from the spec: {"value": mm, "metric": ..., "key": ..., "source": ...}
    published_per_action: tuple[float, ...] | None = None
    predictions: dict[str, np.ndarray] = field(default_factory=dict)  # image_id, joints_cam, root_cam, bbox, ...
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.name if self.trained else f"{self.name} ({UNTRAINED})"

    @property
    def folder(self) -> str:
        return safe_name(self.name)


def safe_name(name: str) -> str:
    """A model name as a folder name (letters, digits, . _ - only)."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return s or "model"


# ------------------------------------------------------------------------------------------------------------------
# atomic files


_DISK_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


class OutputWriteError(OSError):
    """Writing an output file failed (disk full, file too large, no permission): the message names the final file,
    not the hidden temp file, and ``advice`` (set by the caller that knows what was kept) says what to do."""

    def __init__(self, path: str | os.PathLike, cause: BaseException, advice: str = "") -> None:
        code = getattr(cause, "errno", None)
        text = os.strerror(code) if code else str(cause) or type(cause).__name__
        super().__init__(code, text, str(path))
        self.advice = advice

    @property
    def disk_full(self) -> bool:
        return self.errno in _DISK_FULL

    def __str__(self) -> str:
        hint = " (disk full, or the file is larger than a size limit allows)" if self.disk_full else ""
        msg = f"{self.filename}: cannot write it: {self.strerror}{hint}"
        return f"{msg}; {self.advice}" if self.advice else msg


@contextmanager
def atomic_path(path: str | os.PathLike):
    """``models.fileio.atomic_path`` (temp file beside ``path``, one-step replace, mode ``FILE_MODE``, temp removed
    on failure), with an ``OSError`` coming out as ``OutputWriteError`` naming ``path``."""
    path = Path(path)
    try:
        with fileio.atomic_path(path, FILE_MODE) as tmp:
            yield tmp
    except OutputWriteError:
        raise
    except OSError as exc:
        raise OutputWriteError(path, exc) from exc


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


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


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if (isinstance(v, float) and not math.isfinite(v)) else
                    (f"{v:.4f}" if isinstance(v, float) else v) for v in r])
    atomic_write_text(path, buf.getvalue())


# ------------------------------------------------------------------------------------------------------------------
# content


def software_versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "platform": platform.platform(terse=True)}
    # versions from the installed metadata: importing a package here (a GUI worker thread) is avoidable work and
    # importing matplotlib off the main thread next to a running Qt event loop was seen to deadlock
    from importlib.metadata import PackageNotFoundError, version

    for key, dist in (("numpy", "numpy"), ("torch", "torch"), ("opencv", "opencv-python"), ("h5py", "h5py"),
                      ("matplotlib", "matplotlib")):
        m = sys.modules.get("cv2" if key == "opencv" else key)
        try:
            out[key] = str(getattr(m, "__version__", None) or version(dist))
        except PackageNotFoundError:
            continue
    try:
        import tomllib

        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        out["posearena"] = tomllib.loads(pyproject.read_text())["project"]["version"]
    except (OSError, KeyError, ValueError):
        pass
    return out


def published_for(spec, protocol: int, root: str) -> tuple[dict[str, Any] | None, tuple[float, ...] | None]:
    """The spec's published figure comparable with (protocol, root), and per-action MPJPE when comparable."""
    pub = getattr(spec, "published", None)
    if pub is None:
        return None, None
    # RootNet's Human3.6M results were computed on the GT boxes, so a live run of the same checkpoint compares with
    # the papers' "with RootNet" rows just as its result file does
    with_rootnet = root in ("rootnet", "rootnet-model")
    key = {(2, False): "mpjpe_p2", (2, True): "mpjpe_p2_rootnet",
           (1, False): "pa_mpjpe_p1", (1, True): "pa_mpjpe_p1_rootnet"}[(protocol, with_rootnet)]
    value = getattr(pub, key, None)
    per_action = pub.per_action_mpjpe_p2 if (protocol, root) == (2, "gt") else None
    if value is None:
        return None, per_action
    metric = "mpjpe" if protocol == 2 else "pa_mpjpe"
    return {"key": key, "metric": metric, "value": float(value), "source": pub.source}, per_action


def headline_metric(protocol: int) -> str:
    return "mpjpe" if protocol == 2 else "pa_mpjpe"


def result_dict(run: ModelRun) -> dict[str, Any]:
    """results.json content for one model."""
    s = run.scores
    labels = {m: s.label(m) for m in METRICS}
    d: dict[str, Any] = {
        "schema": RESULTS_SCHEMA,
        "model": run.name,
        "label": run.label,
        "trained": run.trained,
        "weights": "trained" if run.trained else UNTRAINED,
        "protocol": s.protocol,
        "test_set": test_set_label(s.protocol),
        "sampling": SAMPLING_NOTE,
        "num_samples": s.num_samples,
        "limit": run.limit,
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
    if run.published:
        ours = d[f"{run.published['metric']}_mm"]
        d["published"] = {**run.published, "difference_mm": ours - run.published["value"]}
    if not run.trained:
        d["notes"].insert(0, "untrained weights: random initialisation, the errors say nothing about the model")
    return d


_RESULT_COLUMNS = ("model", "label", "trained", "protocol", "test_set", "num_samples", "root", "flip", "mpjpe_mm",
                   "pa_mpjpe_mm", "pa_mpjpe_similarity_mm", "mrpe_mm", "published_metric", "published_mm",
                   "difference_mm", "scored_joints", "checkpoint_sha256", "root_model")


def _result_row(d: Mapping[str, Any]) -> list[Any]:
    pub = d.get("published") or {}
    mrpe = (d.get("mrpe_mm") or {}).get("mrpe", float("nan"))
    return [d["model"], d["label"], d["trained"], d["protocol"], d["test_set"], d["num_samples"], d["root"],
            d["flip"], d["mpjpe_mm"], d["pa_mpjpe_mm"], d["pa_mpjpe_similarity_mm"], mrpe,
            pub.get("metric", ""), pub.get("value", float("nan")), pub.get("difference_mm", float("nan")),
            len(d["scored_joints"]), d.get("checkpoint_sha256") or "", (d.get("root_model") or {}).get("label", "")]


def _per_action_rows(run: ModelRun) -> list[list[Any]]:
    s = run.scores
    m = {k: s.per_action(k) for k in METRICS}
    return [[run.label, a, int((s.actions == i).sum()), *(m[k][a] for k in METRICS)] for i, a in enumerate(ACTIONS)]


def _per_joint_rows(run: ModelRun) -> list[list[Any]]:
    s = run.scores
    m = {k: s.per_joint(k) for k in METRICS}
    return [[run.label, j, *(m[k][j] for k in METRICS)] for j in s.joint_names]


_METRIC_COLS = [f"{k}_mm" for k in METRICS]


def write_predictions_h5(path: Path, run: ModelRun) -> None:
    import h5py

    p = run.predictions
    # Built in memory, then written with one plain write: when the disk fills up, HDF5 failing inside its own close
    # prints "Exception ignored" tracebacks and can crash the interpreter at exit; a plain write just raises OSError.
    buf = io.BytesIO()
    with h5py.File(buf, "w") as h:
        for key, arr in p.items():
            a = np.asarray(arr)
            if a.dtype.kind in "UO":
                h.create_dataset(key, data=np.array([str(v) for v in a], dtype=h5py.string_dtype()))
            else:
                h.create_dataset(key, data=a, compression="gzip", compression_opts=4)
        h.attrs["schema"] = PREDICTIONS_SCHEMA
        h.attrs["model"] = run.name
        h.attrs["label"] = run.label
        h.attrs["trained"] = bool(run.trained)
        h.attrs["joint_set"] = run.joint_set
        h.attrs["protocol"] = int(run.scores.protocol)
        h.attrs["root"] = run.root
        if run.root_model:
            h.attrs["root_model"] = str(run.root_model.get("label", ""))
            h.attrs["root_model_trained"] = bool(run.root_model.get("trained", True))
        h.attrs["flip"] = "" if run.flip is None else str(bool(run.flip))
        h.attrs["checkpoint_sha256"] = run.checkpoint_sha256 or ""
        h.attrs["units"] = "camera mm; joints_cam absolute, joints_rel root-relative"
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getbuffer())


def read_predictions_h5(path: str | os.PathLike) -> dict[str, Any]:
    """{image_id, joints_cam, joint_set, root_cam?, model, root, ...} from a PoseArena predictions.h5."""
    import h5py

    path = Path(path)
    try:
        with h5py.File(path, "r") as h:
            if h.attrs.get("schema") != PREDICTIONS_SCHEMA:
                raise ValueError(f"{path}: not a PoseArena predictions file (schema {h.attrs.get('schema')!r})")
            for key in ("image_id", "joints_cam"):
                if key not in h:
                    raise ValueError(f"{path}: dataset {key!r} is missing")
            out = {k: h[k][()] for k in h.keys()}
            out.update({k: (v.decode() if isinstance(v, bytes) else v) for k, v in h.attrs.items()})
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read as HDF5 ({exc})") from None
    return out


def write_model_files(out_dir: Path, run: ModelRun) -> dict[str, Path]:
    """OUT/<model>/{results.json, results.csv, per_action.csv, per_joint.csv, predictions.h5}."""
    d = Path(out_dir) / run.folder
    files = {
        "results.json": d / "results.json", "results.csv": d / "results.csv", "per_action.csv": d / "per_action.csv",
        "per_joint.csv": d / "per_joint.csv",
    }
    res = result_dict(run)
    write_json(files["results.json"], res)
    _write_csv(files["results.csv"], _RESULT_COLUMNS, [_result_row(res)])
    _write_csv(files["per_action.csv"], ["model", "action", "num_samples", *_METRIC_COLS], _per_action_rows(run))
    _write_csv(files["per_joint.csv"], ["model", "joint", *_METRIC_COLS], _per_joint_rows(run))
    if run.predictions:
        files["predictions.h5"] = d / "predictions.h5"
        write_predictions_h5(files["predictions.h5"], run)
    return files


def summary_text(runs: Sequence[ModelRun]) -> str:
    """Console summary: headline metric per model in words, the other columns, and the published figure."""
    lines = []
    for r in runs:
        s = r.scores
        head = headline_metric(s.protocol)
        others = [m for m in METRICS if m != head]
        line = f"{r.label}: {s.label(head)} = {s.total(head):.2f} mm over {s.num_samples} samples"
        if r.published:
            ours = s.total(r.published["metric"])
            line += f" (published {r.published['value']:.2f}, difference {ours - r.published['value']:+.2f})"
        lines.append(line)
        lines.extend(f"    {s.label(m)} = {s.total(m):.2f} mm" for m in others)
        lines.extend(_root_lines(r.root, r.root_model, s.mrpe))
        if not r.trained:
            lines.append(f"    NOTE: {UNTRAINED} - random initialisation, these errors are meaningless")
    return "\n".join(lines)


def _root_lines(root: str, root_model: Mapping[str, Any] | None, m: Mapping[str, float] | None) -> list[str]:
    """The summary's root lines: MRPE of the roots used, and a warning when they came from an untrained RootNet."""
    lines = []
    source = f"roots from {root_model.get('label', '?')} (run live)" if root_model else f"{root} roots"
    if m:
        lines.append(f"    MRPE of the {source} = {_fmt(m.get('mrpe'))} mm "
                     f"(x {_fmt(m.get('x'))}, y {_fmt(m.get('y'))}, z {_fmt(m.get('z'))})")
    if root_model and not root_model.get("trained", True):
        lines.append(f"    NOTE: the roots come from {root_model.get('label', '?')} - random initialisation, "
                     "its MRPE and the absolute depths are meaningless")
    return lines


def _root_description(run: ModelRun) -> str:
    if run.root == "gt":
        return "GT root depth and GT boxes"
    if run.root_model:
        return f"GT boxes with roots from {run.root_model.get('label', '?')} run live"
    return "RootNet boxes and roots (result file)"


def _fmt(v: float | None) -> str:
    return "-" if v is None or not math.isfinite(v) else f"{v:.2f}"


def report_markdown(runs: Sequence[ModelRun], title: str = "Human3.6M benchmark") -> str:
    if not runs:
        return f"# {title}\n\nNo models were scored.\n"
    protocol = runs[0].scores.protocol
    head = headline_metric(protocol)
    lines = [f"# {title}", ""]
    lines.append(f"Test set: {test_set_label(protocol)}, sampled {SAMPLING_NOTE}. Roots: "
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
                     + " | ".join(_fmt(s.total(m)) for m in METRICS) + f" | {pub_txt} | "
                     + (f"{diff:+.2f}" if diff is not None else "-") + " |")
    lines += ["", "Columns: " + "; ".join(f"{metric_label(m, protocol)} = {METRICS[m][1]}" for m in METRICS) + "."]
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
            c = _fmt(p[a])
            if r.published_per_action and head == "mpjpe":
                pv = r.published_per_action[i]
                c += f" (pub. {pv:.1f}, {p[a] - pv:+.1f})" if math.isfinite(p[a]) else f" (pub. {pv:.1f})"
            cells.append(c)
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
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
        ax.bar(x + (k - (n - 1) / 2) * width, v, width, label=name)
    ax.set_xticks(x)
    ax.set_xticklabels(categories, rotation=45, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    _save_fig(fig, path)


def write_run_files(out_dir: Path, runs: Sequence[ModelRun], *, title: str = "Human3.6M benchmark") -> dict[str, Path]:
    """Run-level files: results.json, results.csv, per_action.csv, per_joint.csv, report.md and the two plots."""
    out_dir = Path(out_dir)
    files: dict[str, Path] = {}
    results = [result_dict(r) for r in runs]
    files["results.json"] = out_dir / "results.json"
    write_json(files["results.json"], results[0] if len(results) == 1 else results)
    files["results.csv"] = out_dir / "results.csv"
    _write_csv(files["results.csv"], _RESULT_COLUMNS, [_result_row(d) for d in results])
    files["per_action.csv"] = out_dir / "per_action.csv"
    _write_csv(files["per_action.csv"], ["model", "action", "num_samples", *_METRIC_COLS],
               [row for r in runs for row in _per_action_rows(r)])
    files["per_joint.csv"] = out_dir / "per_joint.csv"
    _write_csv(files["per_joint.csv"], ["model", "joint", *_METRIC_COLS],
               [row for r in runs for row in _per_joint_rows(r)])
    files["report.md"] = out_dir / "report.md"
    atomic_write_text(files["report.md"], report_markdown(runs, title))
    if runs:
        protocol = runs[0].scores.protocol
        head = headline_metric(protocol)
        files["per_action.png"] = out_dir / "per_action.png"
        _grouped_bars(files["per_action.png"], ACTIONS,
                      {r.label: list(r.scores.per_action(head).values()) for r in runs},
                      f"{metric_label(head, protocol)}: per action", "error (mm)")
        joints = [j for j in EVAL_JOINTS if any(j in r.scores.joint_names for r in runs)]  # H36M order
        files["per_joint.png"] = out_dir / "per_joint.png"
        _grouped_bars(files["per_joint.png"], joints,
                      {r.label: [r.scores.per_joint(head).get(j) for j in joints] for r in runs},
                      f"{metric_label(head, protocol)}: per joint", "error (mm)")
    return files


def load_results(out_dir: Path, names: Sequence[str]) -> list[dict[str, Any]]:
    """results.json of each model folder (for reprinting a finished run)."""
    return [json.loads((Path(out_dir) / safe_name(n) / "results.json").read_text()) for n in names]


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
        lines.extend(_root_lines(d.get("root", "gt"), d.get("root_model"), d.get("mrpe_mm")))
        if not d.get("trained", True):
            lines.append(f"    NOTE: {UNTRAINED} - random initialisation, these errors are meaningless")
    return "\n".join(lines)

