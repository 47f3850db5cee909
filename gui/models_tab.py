"""The Models tab: the registry as a table (size, cost, published figures, weights and their sha256), checkpoint
import (the model is identified from the file) and downloads with progress and cancel."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices
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
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setSortingEnabled(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        notes = COL["Notes"]
        hh.setSectionResizeMode(notes, QHeaderView.ResizeMode.Stretch)  # full text in its tooltip
        self.table.setColumnWidth(1, 200)
        self.table.setColumnWidth(notes, 150)
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
        self.table.setHorizontalHeaderItem(COL["Speed (batch 1)"], QTableWidgetItem(
            f"Speed (batch 1)\n{', '.join(devices)}" if devices else "Speed (batch 1)"))
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
                self.table.setItem(r, c, item)
            if m.name == selected:
                self.table.selectRow(r)

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
