"""The Benchmark tab's results: the table beside the published figures, export buttons, per-action / per-joint
charts and the run summary. Fed with ``show_results`` from the controller's payload."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gui.charts import BarChart
from gui.model_picker import UNTRAINED_COLOUR

# "Ours" is gone: our value of the published metric is already the MPJPE or PA-MPJPE column (Diff. says which)
RESULT_COLUMNS = ("Model", "Weights", "N", "MPJPE", "PA-MPJPE", "PA (scale)", "Published", "Diff.")
COLUMN_TIPS = ("registry name", "trained, or UNTRAINED (random weights: the errors mean nothing)", "samples scored",
               "mean per-joint position error (mm), root-relative", "after rigid alignment without scale (3DMPPE)",
               "after similarity alignment (with scale): not the papers' PA-MPJPE",
               "the published figure comparable with this protocol and root",
               "ours minus published (mm), on the metric the published figure uses")
EXPORT_KINDS = (("csv", "CSV"), ("json", "JSON"), ("markdown", "Markdown"), ("hdf5", "HDF5"), ("png", "PNG"))


def _fmt(v, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{v:.{digits}f}"


def chart_series(results: list[dict], published_per_action: dict | None, actions: list[str] | None):
    """(actions, per-action series, joints, per-joint series, metric label) for the charts. Actions follow the
    engine's order (``actions``), which is also the order of the published per-action figures."""
    head = results[0].get("headline_metric", "mpjpe")
    label = (results[0].get("labels") or {}).get(head, head)
    order = list(actions or ())
    for d in results:
        order += [a for a in d.get(f"per_action_{head}_mm", {}) if a not in order]
    series = {d["label"]: [d.get(f"per_action_{head}_mm", {}).get(a) for a in order] for d in results}
    canon = list(actions or ())
    for model, published in (published_per_action or {}).items():
        if published and len(published) == len(canon):
            by_name = dict(zip(canon, published, strict=True))
            series[f"published {model}"] = [by_name.get(a) for a in order]
    joints: list[str] = []
    for d in results:
        joints += [j for j in d.get(f"per_joint_{head}_mm", {}) if j not in joints]
    jseries = {d["label"]: [d.get(f"per_joint_{head}_mm", {}).get(j) for j in joints] for d in results}
    return order, series, joints, jseries, label


class ResultsPanel(QSplitter):
    """Table + exports on the left, charts and summary on the right."""

    exportRequested = Signal(str)
    openRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.table = QTableWidget(0, len(RESULT_COLUMNS))
        self.table.setHorizontalHeaderLabels(RESULT_COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        head = self.table.horizontalHeader()  # the numbers keep their width; the model name gives way (tooltip)
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        head.setStretchLastSection(False)
        self.table.setMinimumHeight(110)
        for c, tip in enumerate(COLUMN_TIPS):
            self.table.horizontalHeaderItem(c).setToolTip(tip)
        self.summary = QPlainTextEdit()
        self.summary.setReadOnly(True)
        self.summary.setPlaceholderText("The run's summary appears here.")
        res = QWidget()
        rl = QVBoxLayout(res)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.table, 1)
        exp = QHBoxLayout()
        exp.addWidget(QLabel("Export:"))
        self.export_buttons: dict[str, QPushButton] = {}
        for kind, text in EXPORT_KINDS:
            b = QPushButton(text)
            b.clicked.connect(lambda _=False, k=kind: self.exportRequested.emit(k))
            self.export_buttons[kind] = b
            exp.addWidget(b)
        exp.addStretch(1)
        self.open_button = QPushButton("Open folder")
        self.open_button.clicked.connect(self.openRequested.emit)
        exp.addWidget(self.open_button)
        rl.addLayout(exp)

        self.charts = QTabWidget()
        self.action_chart = BarChart("Per action")
        self.joint_chart = BarChart("Per joint")
        self.charts.addTab(self.action_chart, "Per action")
        self.charts.addTab(self.joint_chart, "Per joint")
        self.charts.addTab(self.summary, "Summary")
        self.addWidget(res)
        self.addWidget(self.charts)
        self.setChildrenCollapsible(False)
        self.setStretchFactor(0, 1)
        self.setStretchFactor(1, 1)
        self.setSizes([600, 600])

    def set_exports_enabled(self, on: bool) -> None:
        for b in self.export_buttons.values():
            b.setEnabled(on)
        self.open_button.setEnabled(on)

    def show_results(self, results: list[dict], published_per_action: dict[str, list[float] | None] | None = None,
                     actions: list[str] | None = None) -> None:
        """The results table and charts. ``published_per_action``: per model, the published per-action figures the
        engine found comparable with its result (drawn beside ours, in the engine's ``actions`` order)."""
        self.table.setRowCount(len(results))
        for r, d in enumerate(results):
            pub = d.get("published") or {}
            metric = pub.get("metric")
            cells = [
                d["model"], "trained" if d.get("trained", True) else "UNTRAINED", str(d.get("num_samples", "")),
                _fmt(d.get("mpjpe_mm")), _fmt(d.get("pa_mpjpe_mm")), _fmt(d.get("pa_mpjpe_similarity_mm")),
                _fmt(pub.get("value")) if pub else "—",
                (f"{pub['difference_mm']:+.2f}" if pub.get("difference_mm") is not None else "—"),
            ]
            setup = f"root {d.get('root', '?')}, flip {'on' if d.get('flip') else 'off'}, {d.get('test_set', '')}"
            for c, text in enumerate(cells):
                item = QTableWidgetItem(str(text))
                if c >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if not d.get("trained", True):
                    item.setForeground(UNTRAINED_COLOUR)
                if c == 0:
                    item.setToolTip(f"{d.get('label', d['model'])}: {setup}")
                if c in (6, 7) and pub:
                    item.setToolTip(f"{(d.get('labels') or {}).get(metric, metric)}; {pub.get('source', '')}")
                self.table.setItem(r, c, item)
        if not results:
            return
        acts, series, joints, jseries, label = chart_series(results, published_per_action, actions)
        self.action_chart.set_data(acts, series, f"Per action — {label}")
        self.joint_chart.set_data(joints, jseries, f"Per joint — {label}")

    def write_chart_pngs(self, dest: str) -> str:
        """The PNG export: the charts as the window draws them (legend outside, published bars, the same order)."""
        from pathlib import Path

        p = Path(dest).expanduser()
        if not p.suffix:
            p = p.with_suffix(".png")
        self.action_chart.render_png(p)
        if self.joint_chart.categories:
            self.joint_chart.render_png(p.with_name(f"{p.stem}_per_joint.png"))
        return str(p)
