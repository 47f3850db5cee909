"""The Benchmark tab: a Human3.6M folder (validated as soon as it is chosen), protocol, models and options; run,
cancel and resume with progress and ETA; results beside the published figures; charts; exports."""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.defaults import BENCHMARK
from gui import settings
from gui.charts import BarChart
from gui.controllers.bench_files import EXPORT_SUFFIX, default_export_name
from gui.controllers.benchmark import BenchmarkController, BenchmarkSettings
from gui.controllers.models import ModelRow, RegistryController
from gui.model_picker import UNTRAINED_COLOUR, check_only, checked_names, model_item, runnable

RESULT_COLUMNS = ("Model", "Weights", "N", "MPJPE", "PA-MPJPE", "PA (scale)", "Published", "Ours", "Diff.")
COLUMN_TIPS = ("registry name", "trained, or UNTRAINED (random weights: the errors mean nothing)", "samples scored",
               "mean per-joint position error (mm), root-relative", "after rigid alignment without scale (3DMPPE)",
               "after similarity alignment (with scale): not the papers' PA-MPJPE",
               "the published figure comparable with this protocol and root", "our value of that same metric",
               "ours minus published (mm)")


def _fmt(v, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{v:.{digits}f}"


def format_eta(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "ETA —"
    s = int(round(seconds))
    return f"ETA {s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"ETA {s // 60}:{s % 60:02d}"


class BenchmarkTab(QWidget):
    message = Signal(str, str)
    status = Signal(str)

    def __init__(self, bench: BenchmarkController, registry: RegistryController, parent: QWidget | None = None):
        super().__init__(parent)
        self.bench, self.registry = bench, registry
        self._rows: dict[str, ModelRow] = {}
        self._valid: dict[str, bool] = {}
        self.ask_path = self._ask_path  # tests replace it to skip the file dialog
        self._build()
        self._restore()
        bench.validated.connect(self._on_validated)
        bench.progress.connect(self._on_progress)
        bench.finished.connect(self._on_finished)
        bench.failed.connect(self._on_failed)
        bench.cancelled.connect(self._on_cancelled)
        bench.syntheticDone.connect(self._on_synthetic)
        registry.rowsReady.connect(self._on_rows)
        self._validate_timer = QTimer(self)
        self._validate_timer.setSingleShot(True)
        self._validate_timer.setInterval(400)
        self._validate_timer.timeout.connect(self.validate_now)
        self.data_dir.textChanged.connect(lambda _: self._validate_timer.start())
        self.protocol.currentIndexChanged.connect(lambda _: self.validate_now())
        self._set_running(False)

    # ------------------------------------------------------------------------------------------------ layout
    def _build(self) -> None:
        top = QWidget()
        tl = QHBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)

        data_box = QGroupBox("Data and options")
        fl = QFormLayout(data_box)
        row = QHBoxLayout()
        self.data_dir = QLineEdit()
        self.data_dir.setPlaceholderText("folder with annotations/ and images/ (3DMPPE layout)")
        row.addWidget(self.data_dir, 1)
        b = QPushButton("Browse…")
        b.clicked.connect(self._pick_data)
        row.addWidget(b)
        self.synth_button = QPushButton("Make synthetic dataset…")
        self.synth_button.clicked.connect(self._make_synthetic)
        row.addWidget(self.synth_button)
        fl.addRow("Dataset", row)
        self.validation = QLabel("Choose a dataset folder.")
        self.validation.setWordWrap(True)
        fl.addRow("", self.validation)
        self.protocol = QComboBox()
        self.protocol.addItem("Protocol 2: MPJPE on S9 + S11", 2)
        self.protocol.addItem("Protocol 1: PA-MPJPE on S11", 1)
        fl.addRow("Protocol", self.protocol)
        self.root = QComboBox()
        self.root.addItem("Ground-truth root depth and boxes", "gt")
        self.root.addItem("RootNet result file (boxes and roots)", "rootnet")
        self.root.addItem("RootNet network run live (rootnet-r50 weights)", "rootnet-model")
        fl.addRow("Root", self.root)
        opts = QHBoxLayout()
        self.flip = QCheckBox("Flip test")
        opts.addWidget(self.flip)
        opts.addWidget(QLabel("Samples (0 = all):"))
        self.limit = QSpinBox()
        self.limit.setRange(0, 1_000_000)
        self.limit.setSingleStep(100)
        opts.addWidget(self.limit)
        opts.addWidget(QLabel("Batch:"))
        self.batch_size = QSpinBox()
        self.batch_size.setRange(1, 1024)
        self.batch_size.setToolTip("Samples per forward pass (smaller needs less memory; Cancel takes effect "
                                   "between batches)")
        opts.addWidget(self.batch_size)
        self.overwrite = QCheckBox("Overwrite other results")
        self.overwrite.setToolTip("Allow replacing finished results of a different configuration in the results "
                                  "folder (the same configuration is reused, an interrupted one resumed)")
        opts.addWidget(self.overwrite)
        opts.addStretch(1)
        fl.addRow("Options", opts)
        orow = QHBoxLayout()
        self.out_dir = QLineEdit()
        orow.addWidget(self.out_dir, 1)
        b = QPushButton("Browse…")
        b.clicked.connect(self._pick_out)
        orow.addWidget(b)
        fl.addRow("Results folder", orow)
        tl.addWidget(data_box, 3)

        mbox = QGroupBox("Models")
        ml = QVBoxLayout(mbox)
        self.model_list = QListWidget()
        ml.addWidget(self.model_list)
        tl.addWidget(mbox, 2)

        run_row = QHBoxLayout()
        self.run_button = QPushButton("Run")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.bench.cancel)
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(self.resume)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m samples")
        self.eta = QLabel("")
        self.eta.setMinimumWidth(220)
        for w in (self.run_button, self.cancel_button, self.resume_button):
            run_row.addWidget(w)
        run_row.addWidget(self.progress, 1)
        run_row.addWidget(self.eta)

        self.errors = QPlainTextEdit()
        self.errors.setReadOnly(True)
        self.errors.setMaximumHeight(120)
        self.errors.setVisible(False)
        self.errors.setStyleSheet("QPlainTextEdit { color: #ff9a90; background: #1d1416; }")

        self.table = QTableWidget(0, len(RESULT_COLUMNS))
        self.table.setHorizontalHeaderLabels(RESULT_COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
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
        for kind, text in (("csv", "CSV"), ("json", "JSON"), ("markdown", "Markdown"), ("hdf5", "HDF5"),
                           ("png", "PNG")):
            b = QPushButton(text)
            b.clicked.connect(lambda _=False, k=kind: self.export(k))
            self.export_buttons[kind] = b
            exp.addWidget(b)
        exp.addStretch(1)
        self.open_button = QPushButton("Open folder")
        self.open_button.clicked.connect(self.open_folder)
        exp.addWidget(self.open_button)
        rl.addLayout(exp)

        self.charts = QTabWidget()
        self.action_chart = BarChart("Per action")
        self.joint_chart = BarChart("Per joint")
        self.charts.addTab(self.action_chart, "Per action")
        self.charts.addTab(self.joint_chart, "Per joint")
        self.charts.addTab(self.summary, "Summary")

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(res)
        split.addWidget(self.charts)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setSizes([650, 550])

        lay = QVBoxLayout(self)
        lay.addWidget(top)
        lay.addLayout(run_row)
        lay.addWidget(self.errors)
        lay.addWidget(split, 1)

    # ---------------------------------------------------------------------------------------------- settings
    def _restore(self) -> None:
        self.data_dir.setText(settings.get("bench/data_dir", ""))
        self.out_dir.setText(settings.get("bench/out_dir", str(Path.home() / "posearena_results")))
        protocol = settings.get("bench/protocol", BENCHMARK.protocol)
        self.protocol.setCurrentIndex(max(0, self.protocol.findData(protocol)))
        self.root.setCurrentIndex(max(0, self.root.findData(settings.get("bench/root", BENCHMARK.root))))
        self.flip.setChecked(settings.get("bench/flip", BENCHMARK.flip))
        self.limit.setValue(settings.get("bench/limit", 0))
        self.batch_size.setValue(settings.get("bench/batch_size", BENCHMARK.batch_size))
        self._wanted = set(settings.get("bench/models", []))

    def save_settings(self) -> None:
        settings.put("bench/data_dir", self.data_dir.text())
        settings.put("bench/out_dir", self.out_dir.text())
        settings.put("bench/protocol", self.protocol.currentData())
        settings.put("bench/root", self.root.currentData())
        settings.put("bench/flip", self.flip.isChecked())
        settings.put("bench/limit", self.limit.value())
        settings.put("bench/batch_size", self.batch_size.value())
        settings.put("bench/models", self.selected_models())

    # -------------------------------------------------------------------------------------------------- models
    def _on_rows(self, rows: list[ModelRow]) -> None:
        keep = set(self.selected_models()) or self._wanted
        self._rows = {r.name: r for r in rows if r.is_pose_model}
        self.model_list.clear()
        for r in self._rows.values():
            status = "✓ weights" if r.has_weights else ("untrained (no weights)" if runnable(r) else "no weights")
            item = model_item(r, f"{r.name}  —  {status}", r.name in keep)
            if not r.has_weights:
                item.setToolTip("No weights: a run scores random weights (labelled 'untrained'), useful only to "
                                "test the pipeline and its speed")
            self.model_list.addItem(item)

    def selected_models(self) -> list[str]:
        return checked_names(self.model_list)

    def set_models(self, names: list[str]) -> None:
        self._wanted = set(names)
        check_only(self.model_list, names)

    # ---------------------------------------------------------------------------------------------- validation
    def _pick_data(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Human3.6M folder (3DMPPE layout)", self.data_dir.text())
        if path:
            self.data_dir.setText(path)
            self.validate_now()

    def _pick_out(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Results folder", self.out_dir.text())
        if path:
            self.out_dir.setText(path)

    def validate_now(self) -> None:
        self._validate_timer.stop()
        path = self.data_dir.text().strip()
        if not path:
            self.validation.setText("Choose a dataset folder.")
            self.errors.setVisible(False)
            return
        self.validation.setText(f"Checking {path}…")
        self.validation.setStyleSheet("")
        self.bench.validate(path, int(self.protocol.currentData()))

    def _on_validated(self, data_dir: str, d: dict) -> None:
        if data_dir != self.data_dir.text().strip():
            return  # an older request
        self._valid[data_dir] = bool(d["ok"])
        counts = ", ".join(f"{v} {k}" for k, v in d.get("counts", {}).items())
        if d["ok"]:
            warn = f"; {len(d['warnings'])} warning(s)" if d["warnings"] else ""
            self.validation.setText(f"✓ Valid for Protocol {self.protocol.currentData()}"
                                    + (f" ({counts})" if counts else "") + warn)
            self.validation.setStyleSheet("color: #7ee787;")
            self.errors.setVisible(bool(d["warnings"]))
            self.errors.setPlainText(d["text"] if d["warnings"] else "")
        else:
            n = len(d["errors"])
            self.validation.setText(f"✗ Not usable: {n} error(s), listed below")
            self.validation.setStyleSheet("color: #ff7b72;")
            self.errors.setPlainText(d["text"])
            self.errors.setVisible(True)
            self.message.emit("error", f"Dataset {data_dir}: {n} error(s); first: "
                                       f"{d['errors'][0] if d['errors'] else d['text']}")
        self._set_running(self.bench.running)

    # -------------------------------------------------------------------------------------------------- run
    def current_settings(self) -> BenchmarkSettings:
        models = tuple(self.selected_models())
        return BenchmarkSettings(
            data_dir=self.data_dir.text().strip(), out_dir=self.out_dir.text().strip(), models=models,
            protocol=int(self.protocol.currentData()), root=str(self.root.currentData()), flip=self.flip.isChecked(),
            limit=self.limit.value() or None, batch_size=self.batch_size.value(),
            allow_untrained=any(not self._rows[m].has_weights for m in models if m in self._rows),
            overwrite=self.overwrite.isChecked(),
        )

    def run(self) -> None:
        s = self.current_settings()
        problems = []
        if not s.data_dir:
            problems.append("choose a dataset folder")
        elif self._valid.get(s.data_dir) is False:
            problems.append("the dataset folder has errors (listed above)")
        if not s.models:
            problems.append("select at least one model")
        if not s.out_dir:
            problems.append("choose a results folder")
        if problems:
            self.message.emit("error", "Cannot run the benchmark: " + "; ".join(problems) + ".")
            return
        if s.allow_untrained:
            self.message.emit("warning", "Scoring untrained (random) weights: the errors say nothing about the "
                                         "models (pipeline and speed test only).")
        if getattr(self.window(), "persist_settings", True):  # scripted runs (--screenshot) leave them alone
            self.save_settings()
        self.table.setRowCount(0)
        self.progress.setRange(0, 0)
        self.eta.setText("starting…")
        if self.bench.run(s) is not None:
            self._set_running(True)

    def resume(self) -> None:
        if self.bench.resume() is not None:
            self.progress.setRange(0, 0)
            self._set_running(True)

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.resume_button.setEnabled(not running and self.bench.last_settings is not None
                                      and self.bench.last_result is None)
        has = self.bench.last_result is not None and not running
        for b in self.export_buttons.values():
            b.setEnabled(has)
        self.open_button.setEnabled(has)
        self.synth_button.setEnabled(not running)

    def _on_progress(self, p: dict) -> None:
        total, done = int(p["total"]), int(p["done"])
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        rate = f", {p['rate']:.1f} samples/s" if p.get("rate") else ""
        eta = format_eta(p.get("eta_s")) if p["phase"] == "infer" else p["phase"]
        self.eta.setText(f"{eta}{rate}")
        self.status.emit(f"Benchmark {p['phase']}: {done}/{total}" + (f" — {p['message']}" if p["message"] else ""))

    def _on_cancelled(self, payload: dict) -> None:
        self._set_running(False)
        self.eta.setText(f"stopped at {payload['done']}/{payload['total']}")
        self.status.emit("Benchmark cancelled: Resume continues from the saved batches")

    def _on_failed(self, msg: str) -> None:
        self._set_running(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.eta.setText("failed")
        self.errors.setPlainText(msg)
        self.errors.setVisible(True)

    def _on_finished(self, payload: dict) -> None:
        self._set_running(False)
        self.progress.setRange(0, max(1, payload["total"]))
        self.progress.setValue(payload["total"])
        self.eta.setText(payload["status"])
        self.show_results(payload["results"], payload.get("published_per_action"), payload.get("actions"))
        self.summary.setPlainText(payload.get("summary", ""))
        self.status.emit(f"Benchmark {payload['status']}: {payload['out_dir']}")

    # -------------------------------------------------------------------------------------------------- results
    def show_results(self, results: list[dict], published_per_action: dict[str, list[float] | None] | None = None,
                     actions: list[str] | None = None) -> None:
        """The results table and charts. From the ``BenchmarkController`` payload: ``published_per_action``, per
        model, the published per-action figures the engine found comparable with its result (drawn beside ours);
        ``actions``, the engine's action names (chart categories when a result lists none)."""
        self.table.setRowCount(len(results))
        for r, d in enumerate(results):
            pub = d.get("published") or {}
            metric = pub.get("metric")
            ours = d.get(f"{metric}_mm") if metric else None
            cells = [
                d["model"], "trained" if d.get("trained", True) else "UNTRAINED", str(d.get("num_samples", "")),
                _fmt(d.get("mpjpe_mm")), _fmt(d.get("pa_mpjpe_mm")), _fmt(d.get("pa_mpjpe_similarity_mm")),
                _fmt(pub.get("value")) if pub else "—", _fmt(ours),
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
        head = results[0].get("headline_metric", "mpjpe")
        label = (results[0].get("labels") or {}).get(head, head)
        actions = list(results[0].get(f"per_action_{head}_mm", {}).keys()) or list(actions or ())
        series = {d["label"]: [d.get(f"per_action_{head}_mm", {}).get(a) for a in actions] for d in results}
        for model, published in (published_per_action or {}).items():
            if published:
                series[f"published {model}"] = list(published)
        self.action_chart.set_data(actions, series, f"{label}: per action")
        joints: list[str] = []
        for d in results:
            joints += [j for j in d.get(f"per_joint_{head}_mm", {}) if j not in joints]
        self.joint_chart.set_data(joints, {d["label"]: [d.get(f"per_joint_{head}_mm", {}).get(j) for j in joints]
                                           for d in results}, f"{label}: per joint")

    # -------------------------------------------------------------------------------------------------- exports
    def _ask_path(self, kind: str, suggested: str) -> str | None:
        suffix = EXPORT_SUFFIX[kind]
        path, _ = QFileDialog.getSaveFileName(self, f"Export {kind.upper()}", suggested,
                                              f"{kind.upper()} (*{suffix});;All files (*)")
        return path or None

    def export(self, kind: str) -> None:
        payload = self.bench.last_result
        if payload is None:
            self.message.emit("warning", "Nothing to export yet: run the benchmark first.")
            return
        suggested = str(Path(payload["out_dir"]) / "export" / default_export_name(kind))
        dest = self.ask_path(kind, suggested)
        if dest:
            self.bench.export(kind, dest)

    def open_folder(self) -> None:
        payload = self.bench.last_result
        if payload is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(payload["out_dir"]))

    # --------------------------------------------------------------------------------------------- synthetic
    def _make_synthetic(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the synthetic dataset (created inside)",
                                                  str(Path.home()))
        if not folder:
            return
        samples, ok = QInputDialog.getInt(self, "Synthetic dataset", "Test samples (S9 + S11):", 120, 1, 20000)
        if ok:
            self.make_synthetic(str(Path(folder) / "h36m_synthetic"), samples)

    def make_synthetic(self, folder: str, samples: int = 120) -> None:
        self.validation.setText(f"Writing a synthetic dataset to {folder}…")
        self.synth_button.setEnabled(False)
        self.bench.make_synthetic(folder, samples)

    def _on_synthetic(self, folder: str) -> None:
        self.synth_button.setEnabled(not self.bench.running)
        if not folder:
            self.validation.setText("The synthetic dataset could not be written (see Messages).")
            return
        self.data_dir.setText(folder)
        self.validate_now()
