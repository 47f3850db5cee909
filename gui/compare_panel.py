"""The Live tab's Compare panel: which model is steadier, more human-shaped, and how much the models
agree, without ground truth. Definitions: docs/metrics.md.

A per-model table (jitter raw / smoothed, bone-length CV, limb asymmetry, root-depth std, visibility, latency, and
a DEGENERATE / untrained badge with its reason) and a pairwise agreement matrix (root-aligned mm; a switch for
rigid-aligned mm and 2D px). It only renders plain data: ``show_snapshot`` takes ``engine.compare.Snapshot`` or its
``to_dict()`` (the ``overall`` block of compare.json has the same shape), so the widget imports nothing from
engine/ or torch; ``gui.controllers.compare.CompareController`` feeds it about twice a second.

"Highlight worst-agreeing joints" emits ``highlightChanged({model: [joint indices in the model's own joint
set]})`` (``{}`` when switched off): the joints whose root-aligned distance to the other models, averaged over the
pairs, is largest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from models.joints import H36M18

__all__ = ["MATRIX_METRICS", "TABLE_COLUMNS", "ComparePanel", "worst_joints"]

# (key in the stats dict, header, format); "status" is the badge column
TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("model", "Model"), ("visibility", "Visible %"), ("jitter_mm_s2", "Jitter raw mm/s²"),
    ("jitter_smoothed_mm_s2", "Jitter smoothed mm/s²"), ("bone_cv_mean", "Bone CV %"),
    ("mean_bone_mm", "Mean bone mm"), ("asymmetry_mean", "Asymmetry %"), ("root_z_std_mm", "Root z std mm"),
    ("latency_mean_ms", "Latency ms"), ("status", "Status"),
)
MATRIX_METRICS: tuple[tuple[str, str, float], ...] = (  # key, label, value shown fully red
    ("root_aligned_mm", "Root-aligned (mm)", 150.0),
    ("rigid_aligned_mm", "Rigid-aligned (mm)", 150.0),
    ("px_2d", "2D (px)", 50.0),
)
_PCT = {"visibility", "bone_cv_mean", "asymmetry_mean"}
_DIGITS = {"jitter_mm_s2": 0, "jitter_smoothed_mm_s2": 0, "mean_bone_mm": 0, "root_z_std_mm": 1,
           "latency_mean_ms": 1, "visibility": 0, "bone_cv_mean": 1, "asymmetry_mean": 1}
BAD = QColor("#e09a9a")
WARN = QColor("#ecd38f")


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and math.isfinite(v) else None


def _fmt(key: str, v: Any) -> str:
    x = _num(v)
    if x is None:
        return "–"
    if key in _PCT:
        x *= 100.0
    return f"{x:,.{_DIGITS.get(key, 1)}f}"


def _as_dict(snapshot: Any) -> Mapping[str, Any]:
    return snapshot.to_dict() if hasattr(snapshot, "to_dict") else snapshot


def worst_joints(snap: Mapping[str, Any], k: int = 3) -> dict[str, list[str]]:
    """{model: the k H36M18 joint names with the largest root-aligned distance to the other models}, averaged over
    the pairs with data; degenerate models neither get nor give a ranking (a collapsed skeleton disagrees
    everywhere). Models without a usable pair are left out."""
    stats = snap.get("stats", {})
    bad = {n for n, s in stats.items() if s.get("degenerate")}
    acc: dict[str, dict[str, list[float]]] = {}
    for p in snap.get("pairs", []):
        if p["a"] in bad or p["b"] in bad or not p.get("samples"):
            continue
        for m in (p["a"], p["b"]):
            d = acc.setdefault(m, {})
            for j, v in (p.get("per_joint_mm") or {}).items():
                if _num(v) is not None:
                    d.setdefault(j, []).append(float(v))
    out = {}
    for m, d in acc.items():
        means = sorted(((sum(v) / len(v), j) for j, v in d.items() if v), reverse=True)
        if means:
            out[m] = [j for _, j in means[:k]]
    return out


class ComparePanel(QWidget):
    """See the module docstring. ``set_models`` (optional) gives labels and each model's joint indices;
    ``show_snapshot`` renders one comparison; ``clear`` empties it."""

    highlightChanged = Signal(dict)  # {model name: [joint indices in the model's own joint set]}

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._joint_index: dict[str, dict[str, int]] = {}  # model -> {H36M18 joint name: own index}
        self._joint_sets: dict[str, str] = {}
        self._snap: Mapping[str, Any] | None = None
        self._highlight: dict[str, list[int]] = {}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(3)
        self.header = QLabel("Compare: start the live view with two or more models.")
        self.header.setWordWrap(True)
        self.header.setToolTip("No ground truth: how steady, how human-shaped and how consistent the models are, "
                               "not how accurate (docs/metrics.md)")
        lay.addWidget(self.header)
        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels([h for _, h in TABLE_COLUMNS])
        self._setup(self.table)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        lay.addWidget(self.table, 3)
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        lay.addWidget(self.verdict)
        row = QHBoxLayout()
        row.addWidget(QLabel("Agreement"))
        self.metric_combo = QComboBox()
        for key, label, _ in MATRIX_METRICS:
            self.metric_combo.addItem(label, key)
        self.metric_combo.setToolTip("Mean per-joint distance between two models on their common joints: each "
                                     "model's root subtracted; or after a rigid fit (rotation + translation, no "
                                     "scale); or in image pixels")
        self.metric_combo.currentIndexChanged.connect(lambda _i: self._render_matrix())
        row.addWidget(self.metric_combo)
        row.addStretch(1)
        self.highlight_box = QCheckBox("Highlight worst-agreeing joints")
        self.highlight_box.setToolTip("Mark in the 3D views the joints on which each model disagrees most with the "
                                      "others (root-aligned)")
        self.highlight_box.toggled.connect(lambda _on: self._update_highlight(force=True))
        row.addWidget(self.highlight_box)
        self.top_k = QSpinBox()
        self.top_k.setRange(1, 17)
        self.top_k.setValue(3)
        self.top_k.setToolTip("How many joints per model")
        self.top_k.valueChanged.connect(lambda _v: self._update_highlight(force=False))
        row.addWidget(self.top_k)
        lay.addLayout(row)
        self.matrix = QTableWidget(0, 0)
        self._setup(self.matrix)
        self.matrix.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        lay.addWidget(self.matrix, 2)

    @staticmethod
    def _setup(t: QTableWidget) -> None:
        t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        t.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        t.verticalHeader().setDefaultSectionSize(20)

    # -- inputs ----------------------------------------------------------------------------------------------------
    def set_models(self, infos: Sequence[Mapping[str, Any]]) -> None:
        """[{name, joint_set, joint_index: {H36M18 joint name: own index}}] (from the controller); clears."""
        self._joint_index = {str(i["name"]): dict(i.get("joint_index") or {}) for i in infos}
        self._joint_sets = {str(i["name"]): str(i.get("joint_set", "")) for i in infos}
        self.clear("Compare: waiting for the first frames…")

    def clear(self, text: str = "Compare: no data yet.") -> None:
        self._snap = None
        self.table.setRowCount(0)
        self.matrix.setRowCount(0)
        self.matrix.setColumnCount(0)
        self.header.setText(text)
        self.verdict.setText("")
        self._update_highlight(force=False)

    def show_snapshot(self, snapshot: Any) -> None:
        """Render an ``engine.compare.Snapshot`` (or its ``to_dict()``)."""
        snap = _as_dict(snapshot)
        self._snap = snap
        names = list(snap.get("models", []))
        stats = snap.get("stats", {})
        t0, t1 = _num(snap.get("t_start")), _num(snap.get("t_end"))
        span = f", {t1 - t0:.1f} s" if t0 is not None and t1 is not None else ""
        self.header.setText(f"Compare: last {snap.get('frames', 0)} frames{span}; no ground truth (steadiness, "
                            "body shape, agreement, not accuracy)")
        self._render_table(names, stats)
        self._render_verdict(snap.get("verdicts", {}), len(names))
        self._render_matrix()
        self._update_highlight(force=False)

    # -- rendering -------------------------------------------------------------------------------------------------
    def _cell(self, t: QTableWidget, r: int, c: int, text: str, tip: str = "",
              bg: QColor | None = None, right: bool = True) -> None:
        item = t.item(r, c)
        if item is None:
            item = QTableWidgetItem()
            t.setItem(r, c, item)
        item.setText(text)
        item.setToolTip(tip)
        item.setTextAlignment((Qt.AlignmentFlag.AlignRight if right else Qt.AlignmentFlag.AlignLeft)
                              | Qt.AlignmentFlag.AlignVCenter)
        item.setBackground(QBrush(bg) if bg is not None else QBrush())

    def _render_table(self, names: list[str], stats: Mapping[str, Any]) -> None:
        self.table.setRowCount(len(names))
        for r, n in enumerate(names):
            s = stats.get(n, {})
            degenerate, untrained = bool(s.get("degenerate")), s.get("trained") is False
            for c, (key, _h) in enumerate(TABLE_COLUMNS):
                if key == "model":
                    label = s.get("label") or n
                    mapped = f" · {s.get('joint_set')} mapped ({len(s.get('joints', []))} joints)" \
                        if s.get("mapped") else ""
                    self._cell(self.table, r, c, f"{label}{mapped}", f"{n}: joints used: "
                               + ", ".join(s.get("joints", [])), right=False)
                elif key == "status":
                    parts, tips = [], []
                    if degenerate:
                        parts.append("DEGENERATE")
                        tips.append(s.get("degenerate_reason", ""))
                    if untrained:
                        parts.append("untrained")
                        tips.append("random weights: speed tests only, the poses mean nothing")
                    if not s.get("valid_frames"):
                        parts.append("no poses")
                    self._cell(self.table, r, c, " · ".join(parts) or "ok",
                               "; ".join(t for t in tips if t) or "a human-shaped skeleton",
                               BAD if degenerate else WARN if untrained else None, right=False)
                else:
                    tip = ""
                    if key == "latency_mean_ms":
                        tip = f"p95 {_fmt(key, s.get('latency_p95_ms'))} ms"
                    elif key == "root_z_std_mm":
                        tip = f"root depth jitter {_fmt('jitter_mm_s2', s.get('root_z_jitter_mm_s2'))} mm/s²"
                    elif key == "jitter_mm_s2" and degenerate:
                        tip = "a collapsed skeleton barely moves: low jitter here is not steadiness"
                    self._cell(self.table, r, c, _fmt(key, s.get(key)), tip,
                               BAD if degenerate and key in ("jitter_mm_s2", "bone_cv_mean", "mean_bone_mm") else None)

    def _render_verdict(self, v: Mapping[str, Any], n_models: int) -> None:
        excluded = v.get("excluded") or {}
        ranked = n_models - len(excluded)
        if ranked >= 2:  # a ranking of one model names nothing
            text = "; ".join([f"Steadiest: {v.get('steadiest') or '–'}",
                              f"most human-like: {v.get('most_human_like') or '–'}",
                              f"agrees most: {v.get('agrees_most') or '–'}"])
        else:
            text = ("Nothing to rank: one model" if n_models < 2 else
                    "Nothing to rank: fewer than two models give a usable skeleton")
        if excluded:
            text += ". Not ranked: " + "; ".join(f"{n} ({why})" for n, why in excluded.items())
        self.verdict.setText(text)

    def matrix_metric(self) -> str:
        return str(self.metric_combo.currentData())

    def _render_matrix(self) -> None:
        snap = self._snap
        if snap is None:
            return
        names = list(snap.get("models", []))
        key = self.matrix_metric()
        full = next(f for k, _l, f in MATRIX_METRICS if k == key)
        mat = (snap.get("matrix") or {}).get(key) or []
        labels = [n for n in names]
        self.matrix.setRowCount(len(names))
        self.matrix.setColumnCount(len(names))
        self.matrix.setHorizontalHeaderLabels(labels)
        self.matrix.setVerticalHeaderLabels(labels)
        unit = "px" if key == "px_2d" else "mm"
        mapped = {(p["a"], p["b"]): p for p in snap.get("pairs", [])}
        degenerate = {n for n, st in (snap.get("stats") or {}).items() if st.get("degenerate")}
        for i, a in enumerate(names):
            for j, b in enumerate(names):
                v = _num(mat[i][j]) if i < len(mat) and j < len(mat[i]) else None
                p = mapped.get((a, b)) or mapped.get((b, a))
                tip = ""
                if p is not None:
                    tip = (f"{a} vs {b}: {p.get('samples', 0)} samples, {len(p.get('joints', []))} common joints"
                           + (" (mapped joint sets" + (f"; approximate: {', '.join(p['approx_joints'])}"
                                                       if p.get("approx_joints") else "") + ")"
                              if p.get("mapped") else ""))
                bg = None
                if i != j and v is not None and not ({a, b} & degenerate):  # collapsed skeletons "agree"
                    frac = min(v / full, 1.0)
                    bg = QColor.fromHsvF((1.0 - frac) / 3.0, 0.45, 0.9)
                if {a, b} & degenerate and i != j:
                    tip += "; a degenerate (collapsed) skeleton: agreement means nothing"
                self._cell(self.matrix, i, j, "–" if v is None else f"{v:.1f}" if i != j else "0",
                           tip + (f" ({unit})" if tip else ""), bg)

    # -- reading back (tests, screenshots) --------------------------------------------------------------------
    def cell_text(self, row: int, column: int | str) -> str:
        c = column if isinstance(column, int) else [k for k, _ in TABLE_COLUMNS].index(column)
        item = self.table.item(row, c)
        return item.text() if item is not None else ""

    def matrix_values(self) -> list[list[float | None]]:
        out = []
        for i in range(self.matrix.rowCount()):
            row = []
            for j in range(self.matrix.columnCount()):
                t = self.matrix.item(i, j).text()
                row.append(None if t == "–" else float(t.replace(",", "")))
            out.append(row)
        return out

    # -- highlight -------------------------------------------------------------------------------------------------
    def _own_indices(self, model: str, joints: Sequence[str]) -> list[int]:
        index = self._joint_index.get(model)
        if not index and self._joint_sets.get(model, "h36m18") == H36M18.name:
            index = {n: i for i, n in enumerate(H36M18.names)}
        return [index[j] for j in joints if index and j in index]

    def worst(self) -> dict[str, list[int]]:
        """{model: own joint indices of its worst-agreeing joints} for the current snapshot."""
        if self._snap is None:
            return {}
        return {m: idx for m, js in worst_joints(self._snap, self.top_k.value()).items()
                if (idx := self._own_indices(m, js))}

    def _update_highlight(self, force: bool) -> None:
        new = self.worst() if self.highlight_box.isChecked() else {}
        if self.highlight_box.isChecked() and not new and self._snap is not None:
            self.verdict.setText(self.verdict.text().split(" Highlight:")[0] + " Highlight: no joints to mark (it "
                                 "needs two models with usable skeletons).")
        if force or new != self._highlight:
            self._highlight = new
            self.highlightChanged.emit(dict(new))
