"""The Models tab: the registry as a table (size, cost, published figures, weights and their sha256), checkpoint
import (the model is identified from the file) and downloads with progress and cancel."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QFont, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.controllers.models import ModelRow, RegistryController, weights_dir_path

COLUMNS = ("Model", "Family / variant", "Joints", "Params (M)", "GMACs", "Speed (batch 1)", "Paper MPJPE\nS9+S11",
           "Paper PA-MPJPE\nS11", "Weights", "sha256", "Notes")
COL = {name: i for i, name in enumerate(COLUMNS)}
HEADER_TEXT = {"Params (M)": "Params\n(M)"}  # shown on two lines: the numbers under it are short
# the long-text columns give way first when the table is narrow (never below these widths); the rest keep theirs
ELASTIC_FLOOR = {COL["Family / variant"]: 90, COL["Speed (batch 1)"]: 80, COL["Weights"]: 70, COL["sha256"]: 60,
                 COL["Notes"]: 80}
MISSING = QColor("#e8a33d")
PRESENT = QColor("#7ee787")
CHECKPOINT_FILTER = "Checkpoints (*.pth *.pth.tar *.tar *.pt *.onnx);;All files (*)"


def _num(v, fmt: str) -> str:
    return "—" if v is None else format(v, fmt)


class ModelsTab(QWidget):
    message = Signal(str, str)

    def __init__(self, registry: RegistryController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.rows: list[ModelRow] = []
        self.table = QTableWidget(0, len(COLUMNS))
        self._headers = [HEADER_TEXT.get(c, c) for c in COLUMNS]  # in full; the header shows them cut to width
        self.table.setHorizontalHeaderLabels(self._headers)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setSortingEnabled(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)  # cut text keeps its full form in the tooltip
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setMinimumSectionSize(24)
        self._fitted_width = -1
        self._hints: list[int] = []
        self._hints_for: list[str] = []
        self.table.viewport().installEventFilter(self)
        self.table.itemSelectionChanged.connect(self._on_select)

        self.import_button = QPushButton("Import checkpoint…")
        self.import_button.setToolTip("Pick a .pth/.tar/.onnx file: the model is identified from its contents")
        self.import_button.clicked.connect(self._pick_import)
        self.download_button = QPushButton("Download selected")
        self.download_button.clicked.connect(self.download_selected)
        self.defaults_button = QPushButton("Get default models")
        self.defaults_button.setToolTip("Download what the default live view needs: the lightest official pose "
                                        "model, the live RootNet and YOLO's person detector (skips what is "
                                        "installed; same as python main.py weights download --defaults)")
        self.defaults_button.clicked.connect(self.download_defaults)
        self.cancel_button = QPushButton("Cancel download")
        self.cancel_button.clicked.connect(registry.cancel_download)
        self.url = QLineEdit()
        self.url.setPlaceholderText("direct download link (optional; default: the registry's source, Drive folders "
                                    "included)")
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(registry.refresh)
        open_dir = QPushButton("Open weights folder")
        open_dir.clicked.connect(self._open_weights_dir)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        bar = QHBoxLayout()
        for w in (self.import_button, self.download_button, self.defaults_button, self.cancel_button):
            bar.addWidget(w)
        bar.addWidget(self.url, 1)
        bar.addWidget(refresh)
        bar.addWidget(open_dir)
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(self.progress)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.detail)

        registry.rowsReady.connect(self.set_rows)
        registry.importFailed.connect(self._on_import_failed)
        registry.downloadProgress.connect(self._on_progress)
        registry.downloadDone.connect(self._on_download_done)
        self._set_downloading(False)

    # ---------------------------------------------------------------------------------------------------- table
    def set_rows(self, rows: list[ModelRow]) -> None:
        selected = self.selected_name()
        self.rows = list(rows)
        self.table.setRowCount(len(rows))
        devices = sorted({m.speed_device for m in rows if m.speed_device})
        speed = "Speed (batch 1)"
        self._headers[COL[speed]] = f"{speed}\n{', '.join(devices)}" if devices else speed
        for r, m in enumerate(rows):
            params = None if m.params is None else m.params / 1e6
            cells = [m.name, f"{m.family} / {m.variant}", m.joint_set, _num(params, ".2f"), _num(m.gmacs, ".2f"),
                     m.speed, _num(m.mpjpe_p2, ".2f"), _num(m.pa_mpjpe_p1, ".2f"),
                     "✓ trained" if m.has_weights else ("missing: untrained only" if m.can_run_untrained
                                                         else "missing"),
                     m.sha256[:16] + ("…" if len(m.sha256) > 16 else ""), _notes(m)]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if COL["Params (M)"] <= c <= COL["Paper PA-MPJPE\nS11"]:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if c == COL["Weights"]:
                    item.setForeground(PRESENT if m.has_weights else MISSING)
                    item.setToolTip(m.weights_file or "no checkpoint in the weights folder")
                if c == COL["sha256"] and m.sha256:
                    item.setToolTip(m.sha256)
                if c in (COL["Paper MPJPE\nS9+S11"], COL["Paper PA-MPJPE\nS11"]) and m.published_source:
                    item.setToolTip(m.published_source)
                if c == 1:
                    item.setToolTip(text)
                if c == COL["Notes"]:
                    item.setToolTip("\n".join(x for x in (m.notes, m.how_to_get) if x))
                if c == COL["Speed (batch 1)"]:
                    item.setToolTip(f"median forward, random weights, on {m.speed_device}" if m.speed_device
                                    else "run `python -m bench.model_speed` to measure this machine")
                tip = item.toolTip()
                if c in ELASTIC_FLOOR and c != COL["sha256"] and text and text not in tip:
                    item.setToolTip(f"{text}\n{tip}" if tip else text)  # the whole cell, whatever the width
                self.table.setItem(r, c, item)
            if m.name == selected:
                self.table.selectRow(r)
        self.fit_columns(force=True)

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:  # noqa: N802 - Qt API
        if obj is self.table.viewport() and ev.type() == QEvent.Type.Resize:
            self.fit_columns()
        return super().eventFilter(obj, ev)

    def fit_columns(self, force: bool = False) -> None:
        """Every column at its natural width when there is room; when not (1024 px), the long-text columns shrink
        toward their floors (text elided, full text in the tooltip) so the table needs no horizontal scrolling."""
        t = self.table
        avail = t.viewport().width()
        if avail <= 0 or (avail == self._fitted_width and not force):
            return
        self._fitted_width = avail
        heads = self._header_hints()
        natural = [max(heads[c], t.sizeHintForColumn(c)) for c in range(t.columnCount())]
        floor = [min(natural[c], ELASTIC_FLOOR.get(c, natural[c])) for c in range(t.columnCount())]
        notes = COL["Notes"]
        widths = list(natural)
        excess = sum(natural) - natural[notes] + floor[notes] - avail
        give = sum(natural[c] - floor[c] for c in ELASTIC_FLOOR if c != notes)
        if excess > 0 and give > 0:
            share = min(1.0, excess / give)
            for c in ELASTIC_FLOOR:
                widths[c] = int(natural[c] - share * (natural[c] - floor[c]))
        widths[notes] = max(floor[notes], avail - (sum(widths) - widths[notes]))  # Notes takes what is left
        bold = QFont(t.horizontalHeader().font())
        bold.setBold(True)
        fm = QFontMetrics(bold)
        for c, w in enumerate(widths):
            t.setColumnWidth(c, w)
            full = self._headers[c]
            lines = full.split("\n")
            pad = heads[c] - max(fm.horizontalAdvance(x) for x in lines) + 2
            shown = full if w >= heads[c] else "\n".join(
                fm.elidedText(x, Qt.TextElideMode.ElideRight, w - pad) for x in lines)
            self._set_header(c, shown, full)

    def _set_header(self, c: int, shown: str, full: str) -> None:
        item = self.table.horizontalHeaderItem(c)
        if item is None or item.text() != shown:
            item = QTableWidgetItem(shown)
            item.setToolTip(full if shown != full else "")
            self.table.setHorizontalHeaderItem(c, item)

    def _header_hints(self) -> list[int]:
        """The width each header asks for with its full text (measured once per set of header texts)."""
        if self._hints_for != self._headers:
            for c, full in enumerate(self._headers):
                self._set_header(c, full, full)
            hh = self.table.horizontalHeader()
            self._hints = [hh.sectionSizeHint(c) for c in range(len(self._headers))]
            self._hints_for = list(self._headers)
        return self._hints

    def selected_name(self) -> str | None:
        r = self.table.currentRow()
        return self.rows[r].name if 0 <= r < len(self.rows) and self.table.selectedItems() else None

    def select(self, name: str) -> None:
        for r, m in enumerate(self.rows):
            if m.name == name:
                self.table.selectRow(r)

    def _on_select(self) -> None:
        name = self.selected_name()
        m = next((x for x in self.rows if x.name == name), None)
        if m is None:
            self.detail.setText("")
            return
        pub = f"published: {m.published_source}" if m.published_source else "no published figures"
        how = "" if m.has_weights or not m.how_to_get else "<br>" + html.escape(m.how_to_get).replace("\n", "<br>")
        self.detail.setText(f"<b>{html.escape(m.name)}</b> — {html.escape(m.variant)}; {m.weights_text}"
                            f"{' (' + html.escape(m.weights_file) + ')' if m.weights_file else ''}"
                            f"{'; sha256 ' + html.escape(m.sha256) if m.sha256 else ''}; "
                            f"{html.escape(pub)}{'; third-party / unofficial' if not m.official else ''}. "
                            f"{html.escape(m.notes)}{how}")

    # --------------------------------------------------------------------------------------------------- import
    def _on_import_failed(self, summary: str, details: str) -> None:
        """A foreign file: the summary (likely family, nearest models with counts) with the key lists behind
        Qt's "Show Details…" toggle, not a wall of key names in the message panel."""
        if not details:
            return
        box = QMessageBox(QMessageBox.Icon.Warning, "Not a checkpoint PoseArena knows", summary,
                          QMessageBox.StandardButton.Close, self)
        box.setDetailedText(details)
        box.setModal(False)
        self.import_error_box = box
        box.show()

    def _pick_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a checkpoint", str(Path.home()), CHECKPOINT_FILTER)
        if path:
            self.import_file(path)

    def import_file(self, path: str) -> None:
        self.message.emit("info", f"Identifying {path}…")
        self.registry.import_checkpoint(path)

    # -------------------------------------------------------------------------------------------------- download
    def download_selected(self) -> None:
        name = self.selected_name()
        if name is None:
            self.message.emit("warning", "Select a model in the table first.")
            return
        if self.registry.download(name, self.url.text().strip() or None) is not None:
            self._set_downloading(True)
            self.progress.setRange(0, 0)
            self.progress.setFormat(f"{name}: starting…")

    def download_defaults(self) -> None:
        if self.registry.download_defaults() is not None:
            self._set_downloading(True)
            self.progress.setRange(0, 0)
            self.progress.setFormat("default models: starting…")

    def _set_downloading(self, on: bool) -> None:
        self.progress.setVisible(on)
        self.download_button.setEnabled(not on)
        self.defaults_button.setEnabled(not on)
        self.cancel_button.setEnabled(on)

    def _on_progress(self, name: str, done: int, total) -> None:
        mb = done / 1e6
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * done / max(total, 1)))
            self.progress.setFormat(f"{name}: {mb:.1f} / {total / 1e6:.1f} MB (%p%)")
        else:
            self.progress.setRange(0, 0)
            self.progress.setFormat(f"{name}: {mb:.1f} MB")

    def _on_download_done(self, name: str, status: str) -> None:
        self._set_downloading(False)

    def _open_weights_dir(self) -> None:
        d = weights_dir_path()
        d.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(d)))


def _notes(m: ModelRow) -> str:
    parts = []
    if not m.official:
        parts.append("third-party/unofficial")
    if m.backend_note:
        parts.append(m.backend_note)
    if not m.downloadable and not m.has_weights:
        parts.append("download by hand, then import")
    if m.notes:
        parts.append(m.notes.split(". ")[0].rstrip("."))
    return "; ".join(parts)
