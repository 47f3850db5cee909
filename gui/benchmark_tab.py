"""The Benchmark tab: a Human3.6M folder (validated as soon as it is chosen, and again when the app reopens),
protocol, models and options; run, cancel and resume with progress and ETA; results and charts
(``gui.benchmark_results``); exports."""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gui import settings
from gui.benchmark_form import BenchmarkForm
from gui.benchmark_results import RESULT_COLUMNS, ResultsPanel  # noqa: F401 - RESULT_COLUMNS re-exported
from gui.controllers.bench_files import EXPORT_SUFFIX, default_export_name, finished_config
from gui.controllers.benchmark import BenchmarkController, BenchmarkSettings
from gui.controllers.models import ModelRow, RegistryController
from gui.export_paths import format_name, resolve_export, suggested_path
from gui.model_picker import check_only, checked_names, model_item, runnable
from gui.open_folder import open_folder


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
        self.out_dir.editingFinished.connect(self.check_interrupted)
        self._set_running(False)
        QTimer.singleShot(0, self._after_restore)  # a remembered folder is checked as if just chosen

    # ------------------------------------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.form = BenchmarkForm()
        fm = self.form
        for name in ("data_dir", "synth_button", "validation", "protocol", "root", "flip", "limit", "batch_size",
                     "out_dir", "overwrite", "model_list"):
            setattr(self, name, getattr(fm, name))
        fm.pickData.connect(self._pick_data)
        fm.pickOut.connect(self._pick_out)
        fm.synthetic.connect(self._make_synthetic)
        top = fm

        run_row = QHBoxLayout()
        self.run_button = QPushButton("Run")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(self.resume)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m samples")
        self.eta = QLabel("")
        self.eta.setMinimumWidth(160)
        for w in (self.run_button, self.cancel_button, self.resume_button):
            run_row.addWidget(w)
        run_row.addWidget(self.progress, 1)
        run_row.addWidget(self.eta)

        self.errors = QPlainTextEdit()
        self.errors.setReadOnly(True)
        self.errors.setMaximumHeight(90)
        self.errors.setVisible(False)
        self.errors.setStyleSheet("QPlainTextEdit { color: #ff9a90; background: #1d1416; }")

        self.results = ResultsPanel()
        self.results.exportRequested.connect(self.export)
        self.results.openRequested.connect(self.open_folder)
        r = self.results  # the names tests and scripts use
        self.table, self.summary, self.charts = r.table, r.summary, r.charts
        self.action_chart, self.joint_chart = r.action_chart, r.joint_chart
        self.export_buttons, self.open_button = r.export_buttons, r.open_button

        upper = QWidget()
        ul = QVBoxLayout(upper)
        ul.setContentsMargins(0, 0, 0, 0)
        ul.addWidget(top, 1)
        scroll = QScrollArea()  # at small window sizes the form scrolls instead of squeezing the results
        scroll.setWidget(upper)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumHeight(80)
        controls = QWidget()  # the Run row stays in view below the form however small the window
        cl = QVBoxLayout(controls)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(scroll, 1)
        cl.addLayout(run_row)
        cl.addWidget(self.errors)
        self._controls = controls
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.addWidget(controls)
        self.split.addWidget(self.results)
        self.split.setChildrenCollapsible(False)
        self.split.setStretchFactor(0, 0)
        self.split.setStretchFactor(1, 1)
        self.split.splitterMoved.connect(lambda *_: setattr(self, "_user_split", True))
        self._upper = upper
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.split, 1)

    def resizeEvent(self, ev) -> None:  # noqa: N802 - Qt API
        """The form gets what it needs up to ~45% of the height; the results (table and chart) get the rest."""
        super().resizeEvent(ev)
        h = self.split.height()
        if h > 0 and not getattr(self, "_user_split", False):
            extra = self._controls.sizeHint().height() - self._controls.layout().itemAt(0).sizeHint().height()
            want = min(self._upper.sizeHint().height() + max(extra, 0), int(h * 0.45))
            self.split.setSizes([want, h - want])

    # ---------------------------------------------------------------------------------------------- settings
    def _restore(self) -> None:
        self.form.restore()

    def _after_restore(self) -> None:
        if self.data_dir.text().strip():
            self.validate_now()
        self.check_interrupted()
        self.bench.show_finished(self.out_dir.text().strip())

    def save_settings(self) -> None:
        self.form.save_settings()

    # -------------------------------------------------------------------------------------------------- models
    def _on_rows(self, rows: list[ModelRow]) -> None:
        keep = set(self.selected_models()) or self.form.wanted
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
        self.form.wanted = set(names)
        check_only(self.model_list, names)

    # ---------------------------------------------------------------------------------------------- validation
    def _pick_data(self) -> None:
        start = self.data_dir.text() or settings.last_dir()
        path = QFileDialog.getExistingDirectory(self, "Human3.6M folder (3DMPPE layout)", start)
        if path:
            settings.remember_dir(path)
            self.set_data_dir(path)

    def set_data_dir(self, path: str) -> None:
        self.data_dir.setText(path)
        self.validate_now()

    def _pick_out(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Results folder", self.out_dir.text() or settings.last_dir())
        if path:
            settings.remember_dir(path)
            self.out_dir.setText(path)
            self.check_interrupted()

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

    def check_interrupted(self) -> None:
        """An unfinished run in the results folder (one the app was closed during) can be resumed."""
        s = self.bench.find_interrupted(self.out_dir.text().strip())
        if s is not None:
            self.eta.setText("interrupted run found")
            self.message.emit("info", f"An unfinished run is in {s.out_dir} ({s.describe()}): Resume continues it.")
        self._set_running(self.bench.running)

    # -------------------------------------------------------------------------------------------------- run
    def current_settings(self) -> BenchmarkSettings:
        return self.form.current_settings(self._rows)

    def apply_settings(self, s: BenchmarkSettings) -> None:
        self._validate_timer.stop()
        self.form.apply_settings(s)
        self._validate_timer.stop()

    def _problems(self, s: BenchmarkSettings) -> list[str]:
        problems = []
        valid = self._valid.get(s.data_dir)
        if not s.data_dir:
            problems.append("choose a dataset folder")
        elif valid is False:
            problems.append("the dataset folder has errors (listed above)")
        elif valid is None:
            self.validate_now()
            problems.append("the dataset folder is still being checked; press Run again in a moment")
        if not s.models:
            problems.append("select at least one model")
        if not s.out_dir:
            problems.append("choose a results folder")
        done = finished_config(s.out_dir) if s.out_dir else None
        if done and not s.overwrite and not self._same_as_finished(s, done):
            problems.append(f"the results folder {s.out_dir} already holds finished results of another "
                            "configuration: choose another results folder, or tick 'Overwrite other results'")
        return problems

    @staticmethod
    def _same_as_finished(s: BenchmarkSettings, done: dict) -> bool:
        c = done.get("config") or {}
        try:
            return (str(Path(c["data_dir"]).resolve()) == str(Path(s.data_dir).resolve())
                    and int(c["protocol"]) == s.protocol and c["root"] == s.root and bool(c["flip"]) == s.flip
                    and (c.get("limit") or None) == s.limit and tuple(c["models"]) == tuple(s.models))
        except (KeyError, TypeError, ValueError):
            return True  # unknown layout: let the engine decide (its message is translated)

    def run(self) -> None:
        s = self.current_settings()
        problems = self._problems(s)
        if problems:
            self.message.emit("error", "Cannot run the benchmark: " + "; ".join(problems) + ".")
            return
        if s.allow_untrained:
            self.message.emit("warning", "Scoring untrained (random) weights: the errors say nothing about the "
                                         "models (pipeline and speed test only).")
        r = self.bench.resumable
        if r is not None and r.key() == s.key():
            self.message.emit("info", f"Run continues the interrupted run of this configuration in {s.out_dir}.")
        if getattr(self.window(), "persist_settings", True):  # scripted runs (--screenshot) leave them alone
            self.save_settings()
        self._start(s)

    def _start(self, s: BenchmarkSettings, resume: bool = False) -> None:
        self.table.setRowCount(0)
        self.progress.setRange(0, 0)
        self.eta.setText("starting…")
        w = self.bench.resume(batch_size=s.batch_size) if resume else self.bench.run(s)
        if w is not None:
            self._set_running(True)

    def resume(self) -> None:
        """Resume what ``bench.resumable`` holds; the form is set to it first, so what runs is what it shows."""
        r = self.bench.resumable
        if r is None:
            self.message.emit("warning", "Nothing to resume.")
            return
        batch = self.batch_size.value()
        if r.key() != self.current_settings().key():
            self.apply_settings(r)
            self.message.emit("warning", "The form was changed after the run stopped; it now shows the run being "
                                         f"resumed ({r.describe()}). Press Run for a new configuration instead.")
        self._valid.setdefault(r.data_dir, True)
        self._start(BenchmarkSettings(**{**r.__dict__, "batch_size": batch}), resume=True)

    def cancel(self) -> None:
        if not self.bench.running or self.bench.cancelling:
            return
        self.bench.cancel()
        self.cancel_button.setText("Cancelling…")
        self.cancel_button.setEnabled(False)
        self.eta.setText("cancelling after this batch…")
        self.status.emit("Cancelling the benchmark: the batch in progress is saved first")

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        cancelling = running and self.bench.cancelling
        self.cancel_button.setEnabled(running and not cancelling)
        self.cancel_button.setText("Cancelling…" if cancelling else "Cancel")
        r = self.bench.resumable
        self.resume_button.setEnabled(not running and r is not None)
        self.resume_button.setToolTip(f"Continue the interrupted run: {r.describe()}" if r is not None else
                                      "Nothing to resume: a cancelled or interrupted run can be continued")
        self.results.set_exports_enabled(self.bench.last_result is not None and not running)
        self.synth_button.setEnabled(not running)

    def _on_progress(self, p: dict) -> None:
        total, done = int(p["total"]), int(p["done"])
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        if self.bench.cancelling:
            return
        rate = f", {p['rate']:.1f} samples/s" if p.get("rate") else ""
        eta = format_eta(p.get("eta_s")) if p["phase"] == "infer" else p["phase"]
        self.eta.setText(f"{eta}{rate}")
        self.status.emit(f"Benchmark {p['phase']}: {done}/{total}" + (f" — {p['message']}" if p["message"] else ""))

    def _on_cancelled(self, payload: dict) -> None:
        self._set_running(False)
        self.eta.setText(f"stopped at {payload['done']}/{payload['total']}")
        self.status.emit("Benchmark cancelled: Resume continues "
                         f"{self.bench.resumable.describe() if self.bench.resumable else 'from the saved batches'}")

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

    def show_results(self, results: list[dict], published_per_action: dict[str, list[float] | None] | None = None,
                     actions: list[str] | None = None) -> None:
        self.results.show_results(results, published_per_action, actions)

    # -------------------------------------------------------------------------------------------------- exports
    def _ask_path(self, kind: str, suggested: str) -> str | None:
        suffix = EXPORT_SUFFIX[kind]
        path, _ = QFileDialog.getSaveFileName(self, f"Export {format_name(kind)}", suggested,
                                              f"{format_name(kind)} (*{suffix});;All files (*)")
        return path or None

    def export(self, kind: str) -> None:
        payload = self.bench.last_result
        if payload is None:
            self.message.emit("warning", "Nothing to export yet: run the benchmark first.")
            return
        dest = self.ask_path(kind, suggested_path(default_export_name(kind)))
        if not dest:
            return
        settings.remember_dir(dest)
        kind, dest = resolve_export(dest, kind, EXPORT_SUFFIX)
        if kind == "png":  # the charts as shown here (legend outside, published bars, engine's action order)
            try:
                self.bench.report_export(kind, self.results.write_chart_pngs(dest))
            except OSError as exc:
                self.message.emit("error", f"Export (png) failed: {exc}")
            return
        self.bench.export(kind, dest)

    def open_folder(self) -> None:
        payload = self.bench.last_result
        if payload is not None:
            self._path_dialog = open_folder(payload["out_dir"], self)

    # --------------------------------------------------------------------------------------------- synthetic
    def synthetic_dialog(self) -> QInputDialog:
        dlg = QInputDialog(self)
        dlg.setWindowTitle("Make a synthetic dataset")
        dlg.setLabelText("Test samples (S9 + S11):")
        dlg.setInputMode(QInputDialog.InputMode.IntInput)
        dlg.setIntRange(1, 20000)
        dlg.setIntValue(120)
        dlg.setMinimumWidth(max(380, dlg.fontMetrics().horizontalAdvance(dlg.windowTitle()) + 200))
        return dlg

    def _make_synthetic(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for the synthetic dataset (created inside)",
                                                  settings.last_dir())
        if not folder:
            return
        settings.remember_dir(folder)
        dlg = self.synthetic_dialog()
        if dlg.exec():
            self.make_synthetic(str(Path(folder) / "h36m_synthetic"), dlg.intValue())

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
