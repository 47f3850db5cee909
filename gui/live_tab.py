"""The Live tab: source and model pickers, detector / smoothing / recording options, the video and the 3D grid.

Everything slow goes through ``gui.controllers.live.LiveController``; this widget only collects settings, shows
frames the view grid pulls at its capped rate, and reports state in the status text.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QListWidgetItem,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QWidget,
)

from engine.defaults import CAMERA, DETECTOR
from engine.live.default_models import default_live_models
from gui import settings
from gui.compare_panel import ComparePanel
from gui.controllers.compare import CompareController
from gui.controllers.live import LiveController, LiveSettings
from gui.controllers.models import ModelRow, RegistryController
from gui.controllers.sources import SourceController
from gui.live_models import ModelTicks, fill_model_list, is_group, show_checked, toggle_group
from gui.live_side_panel import build_side_panel, remember_failed_source, restore_stream, save_stream, stream_extra
from gui.model_picker import check_only, checked_names
from gui.video_view import VideoView
from gui.view_grid import ViewGrid, ViewInfo

VIDEO_FILTER = "Videos and images (*.mp4 *.avi *.mov *.mkv *.webm *.m4v *.mpg *.jpg *.jpeg *.png);;All files (*)"


class LiveTab(QWidget):
    message = Signal(str, str)  # level, text
    status = Signal(str)

    def __init__(self, live: LiveController, registry: RegistryController, sources: SourceController,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.live, self.registry, self.sources = live, registry, sources
        self._rows: dict[str, ModelRow] = {}
        self._start_when_ready = False
        self._start_after_stop = False  # Ctrl+R pressed while stopping: start again once idle
        self._started = False  # the current run got as far as showing its views
        self._calibration = ""  # camera calibration file; empty: assumed FOV
        self._build()
        self.ticks = ModelTicks(self, lambda: self._rows, lambda: self.live.busy, self.message.emit)
        self.model_list.itemClicked.connect(self._on_model_clicked)
        self.compare = CompareController(live, self.compare_panel, parent=self)
        self.compare.message.connect(self.message)
        self.compare_panel.highlightChanged.connect(self.grid.set_highlight)
        self._restore()
        live.stateChanged.connect(self._on_state)
        live.started.connect(self._on_started)
        live.stopped.connect(self._on_stopped)
        live.recordingChanged.connect(self._on_recording)
        registry.rowsReady.connect(self._on_rows)
        sources.camerasFound.connect(self._on_cameras)
        self.grid.painted.connect(self.video.show_frame)
        self.stats_timer = QTimer(self)
        self.stats_timer.setInterval(500)
        self.stats_timer.timeout.connect(self._emit_stats)
        self._on_state("idle")

    # ------------------------------------------------------------------------------------------------ layout
    def _build(self) -> None:
        scroll = build_side_panel(self)

        self.video = VideoView()
        self.latency = QTableWidget(0, 5)
        self.latency.setHorizontalHeaderLabels(["Stage (ms)", "last", "mean", "p50", "p95"])
        self.latency.verticalHeader().setVisible(False)
        self.latency.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.latency.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.latency.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.latency.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.latency.verticalHeader().setDefaultSectionSize(20)
        self.latency.setToolTip("Per-stage latency over the recent frames; end-to-end = capture to result")
        left = QSplitter(Qt.Orientation.Vertical)
        self.compare_panel = ComparePanel()
        self.compare_panel.setMinimumWidth(240)  # its tables scroll: the window must still fit 800x600
        self.stats_tabs = QTabWidget()
        self.stats_tabs.addTab(self.latency, "Latency")
        self.stats_tabs.addTab(self.compare_panel, "Compare")
        left.addWidget(self.video)
        left.addWidget(self.stats_tabs)
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 2)
        self.grid = ViewGrid()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.grid)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([400, 600])

        lay = QHBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(scroll)
        lay.addWidget(self.splitter, 1)

    # ----------------------------------------------------------------------------------------------- settings
    def _restore(self) -> None:
        src = settings.get("live/source", "demo")
        for p in settings.get("live/recent_sources", []):
            self._add_source(p, select=False)
        self.set_source(src)
        self._wanted_models: list[str] | None = settings.get("live/models", None)  # None: the engine's defaults
        self.realtime.setChecked(bool(settings.get("live/realtime", False)))
        self.smoothing.setChecked(settings.get("live/smoothing", True))
        self.rootnet.setChecked(settings.get("live/rootnet", True))
        self.placement.setCurrentIndex(1 if settings.get("live/absolute", False) else 0)
        self.imgsz.setValue(settings.get("live/imgsz", DETECTOR.imgsz))
        self.conf.setValue(settings.get("live/conf", DETECTOR.conf))
        self.every.setValue(settings.get("live/every", DETECTOR.every))
        self.hfov.setValue(float(settings.get("live/hfov", CAMERA.hfov_deg)))
        if not self._set_calibration(settings.get("live/calibration", "")):
            self._set_calibration("")  # a remembered file that is gone or broken: back to the assumed FOV
        self.record_path.setText(settings.get("live/record_path", str(Path.home() / "posearena_recording.h5")))
        restore_stream(self)

    def save_settings(self) -> None:
        settings.put("live/source", self.source_spec())
        settings.put("live/models", self.selected_models() or self._wanted_models or [])
        settings.put("live/realtime", self.realtime.isChecked())
        settings.put("live/smoothing", self.smoothing.isChecked())
        settings.put("live/rootnet", self.rootnet.isChecked())
        settings.put("live/absolute", self.placement.currentIndex() == 1)
        settings.put("live/imgsz", self.imgsz.value())
        settings.put("live/conf", round(self.conf.value(), 3))
        settings.put("live/every", self.every.value())
        settings.put("live/hfov", round(self.hfov.value(), 2))
        settings.put("live/calibration", self._calibration)
        settings.put("live/record_path", self.record_path.text())
        save_stream(self)
        recent = [self.source_combo.itemData(i) for i in range(self.source_combo.count())]
        settings.put("live/recent_sources", [r for r in recent if r and r != "demo" and not str(r).isdigit()][-8:])

    # ------------------------------------------------------------------------------------------------ sources
    def source_spec(self) -> str:
        i = self.source_combo.currentIndex()
        text = self.source_combo.currentText().strip()
        if i >= 0 and self.source_combo.itemText(i) == text:
            return str(self.source_combo.itemData(i))
        return text or "demo"

    def set_source(self, spec: str) -> None:
        self._add_source(spec, select=True)

    def _add_source(self, spec: str, select: bool, label: str | None = None) -> None:
        spec = str(spec)
        i = self.source_combo.findData(spec)
        if i < 0:
            if label is None:
                label = spec if spec != "demo" else "Demo video (built in)"
                if spec.isdigit():
                    label = f"Camera {spec}"
            self.source_combo.addItem(label, spec)
            i = self.source_combo.count() - 1
        if select:
            self.source_combo.setCurrentIndex(i)

    def _source_locked(self) -> bool:
        """While live runs the source cannot change (the box would show a path that is not playing)."""
        if self.live.busy:
            self.message.emit("warning", "Stop the live view (Ctrl+R) before choosing another source.")
            return True
        return False

    def _pick_file(self) -> None:
        if self._source_locked():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open a video or image", settings.last_dir(), VIDEO_FILTER)
        if path:
            settings.remember_dir(path)
            self.set_source(path)

    def _pick_folder(self) -> None:
        if self._source_locked():
            return
        path = QFileDialog.getExistingDirectory(self, "Open a folder of images", settings.last_dir())
        if path:
            settings.remember_dir(path)
            self.set_source(path)

    def _pick_url(self) -> None:
        if self._source_locked():
            return
        url, ok = QInputDialog.getText(self, "Stream URL", "rtsp://, http(s)://, udp://… URL:")
        if ok and url.strip():
            self.set_source(url.strip())

    def open_source(self, spec: str) -> bool:
        """A source from outside the panel (menu, drag and drop): refused while live runs."""
        if self._source_locked():
            return False
        self.set_source(spec)
        return True

    def find_cameras(self) -> None:
        if not self._source_locked():
            self.sources.scan()

    def _on_cameras(self, cams: list) -> None:
        for index, label in cams:
            self._add_source(str(index), select=False, label=f"Camera {index}: {label}")
        self.message.emit("info", f"{len(cams)} camera(s) found" if cams else "No camera found")

    # ------------------------------------------------------------------------------------------------- models
    def _on_rows(self, rows: list[ModelRow]) -> None:
        if self._wanted_models is None:  # first run: models the user has (the bundled one + installed official)
            self._wanted_models = default_live_models({r.name for r in rows if r.has_weights})
        keep = self.selected_models() if self.model_list.count() else self._wanted_models
        self._rows = {r.name: r for r in rows if r.is_pose_model}
        fill_model_list(self.model_list, self._rows.values(), keep)
        if self._start_when_ready:
            self._start_when_ready = False
            self.start()

    def selected_models(self) -> list[str]:
        """Checked models, in the order they were asked for (views appear in this order), then registry order."""
        checked = checked_names(self.model_list)
        first = [n for n in (self._wanted_models or []) if n in checked]
        return first + [n for n in checked if n not in first]

    def set_models(self, names: list[str]) -> None:
        self._wanted_models = list(names)
        if not self.model_list.count():
            return
        self.model_list.blockSignals(True)  # chosen in code (command line, settings): nothing to ask about
        known = check_only(self.model_list, names)
        self.model_list.blockSignals(False)
        show_checked(self.model_list)
        unknown = [n for n in names if n not in known]
        if unknown:
            self.message.emit("error", f"Unknown model(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")

    def _on_model_checked(self, item: QListWidgetItem) -> None:
        self.ticks.on_changed(item)
        self._wanted_models = self.selected_models()

    def _on_model_clicked(self, item: QListWidgetItem) -> None:
        if is_group(item):
            toggle_group(self.model_list)

    # ------------------------------------------------------------------------------------------------ run
    def toggle_run(self) -> None:
        if self.live.state == "stopping":
            self._start_after_stop = not self._start_after_stop
            self.message.emit("info", "The live view starts again once it has stopped." if self._start_after_stop
                              else "It will not start again after stopping.")
            self.run_button.setText("Stopping… (then starts again)" if self._start_after_stop else "Stopping…")
        elif self.live.busy:
            self.stop()
        else:
            self.start()

    def start(self) -> None:
        if not self._rows:
            self._start_when_ready = True  # the registry is still being read
            self.registry.refresh()
            return
        models = self.selected_models()
        if not models:
            self.message.emit("error", "Select at least one pose model (Models list on the left).")
            return
        missing = [m for m in models if not self._rows[m].has_weights]
        if missing:
            self.message.emit("warning", "No weights for " + ", ".join(missing) +
                              ": running them with untrained (random) weights for speed only; their poses mean "
                              "nothing. Import weights in the Models tab.")
        rec = self.record_path.text().strip() if self.record_button.isChecked() else None
        if getattr(self.window(), "persist_settings", True):  # scripted runs (--screenshot) leave them alone
            self.save_settings()
        self._clear_run("Starting…")
        self.live.start(LiveSettings(
            source=self.source_spec(), models=tuple(models), allow_untrained=bool(missing),
            use_rootnet=self.rootnet.isChecked(), smoothing=self.smoothing.isChecked(), imgsz=self.imgsz.value(),
            det_conf=self.conf.value(), det_every=self.every.value(), record=rec or None,
            realtime=True if self.realtime.isChecked() else None,
            extra={"intrinsics": self._calibration or None, "hfov_deg": float(self.hfov.value()),
                   **stream_extra(self)},
        ))

    def stop(self) -> None:
        self.live.stop()

    def _clear_run(self, placeholder: str) -> None:
        """No skeletons, frame, FPS or stage table of an earlier run stay on screen."""
        self.grid.stop()
        self.grid.set_views([])
        self.video.clear(placeholder)
        self.latency.setRowCount(0)

    # ----------------------------------------------------------------------------------------------- intrinsics
    def _pick_calibration(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Camera calibration", settings.last_dir(),
                                              "Calibration (*.yml *.yaml *.xml *.json);;All files (*)")
        if path:
            settings.remember_dir(path)
            self._set_calibration(path)

    def _set_calibration(self, path: str) -> bool:
        """A calibration file replaces the assumed FOV. It is read and checked now: a bad file is refused with a
        message and the previous choice is kept. Returns whether ``path`` was taken."""
        path = str(path or "")
        if path:
            from engine.inference.camera import IntrinsicsError, load_intrinsics  # numpy only, no torch

            try:
                k = load_intrinsics(path)
            except (IntrinsicsError, OSError, ValueError) as exc:
                self.message.emit("error", f"Calibration file not used: {exc}")
                return False
            self._calibration_text = f"fx {k.fx:.1f}, fy {k.fy:.1f}, cx {k.cx:.1f}, cy {k.cy:.1f}"
        self._calibration = path
        self.hfov.setEnabled(not self._calibration)
        self.calib_clear.setEnabled(bool(self._calibration))
        self._show_intrinsics()
        return True

    def _show_intrinsics(self) -> None:
        if self._calibration:
            text = f"From calibration file: {self._calibration} ({getattr(self, '_calibration_text', '')})"
        else:
            text = (f"Assumed {self.hfov.value():.0f}° horizontal FOV, principal point at the image centre "
                    "(load a calibration file for metric accuracy)")
        self.intrinsics_label.setText(text)

    def _on_started(self, infos: list[dict]) -> None:
        self._started = True
        remember_failed_source(self, "")
        self.grid.set_views([ViewInfo(i["name"], i["joint_set"], i["label"], i["trained"]) for i in infos])
        self.grid.set_absolute(self.placement.currentIndex() == 1)
        current = self.overlay_combo.currentData()
        self.overlay_combo.blockSignals(True)
        self.overlay_combo.clear()
        self.overlay_combo.addItem("(boxes only)", None)
        for i in infos:  # the short name fits the side panel; the label (untrained...) is in the tooltip
            self.overlay_combo.addItem(i["name"], i["name"])
            self.overlay_combo.setItemData(self.overlay_combo.count() - 1, i["label"], Qt.ItemDataRole.ToolTipRole)
        names = [i["name"] for i in infos]
        idx = self.overlay_combo.findData(current if current in names else names[0])
        self.overlay_combo.setCurrentIndex(max(idx, 0))
        self.overlay_combo.blockSignals(False)
        self.video.set_overlay_model(self.overlay_combo.currentData())
        self.grid.start(self.live.latest)
        self.stats_timer.start()

    def may_autostart(self) -> bool:
        """False (with a word) when the remembered source failed to open last time: no error at every launch."""
        failed = settings.get("live/failed_source", "")
        if failed and failed == self.source_spec():
            self.message.emit("info", f"Not started: {failed} could not be opened last time. Press Start to try "
                                      "again, or choose another source.")
            return False
        return True

    def _on_stopped(self, why: str) -> None:
        self.grid.stop()
        self.stats_timer.stop()
        if not self._started and why not in ("stopped", "source ended"):  # a failed start
            self._clear_run(f"Could not start: {why}")
            remember_failed_source(self, self.source_spec())
        self._started = False
        self.status.emit(f"Live view {why}")

    def _on_state(self, state: str) -> None:
        busy = state in ("starting", "running", "stopping")
        self.run_button.setText({"idle": "Start  (Ctrl+R)", "starting": "Starting…  (Ctrl+R stops)",
                                 "running": "Stop  (Ctrl+R)", "stopping": "Stopping…"}[state])
        self.run_button.setEnabled(state != "stopping")
        for w in (self.source_combo, self.imgsz, self.conf, self.every, self.rootnet, self.realtime,
                  self.calib_button, *self.source_buttons):
            w.setEnabled(not busy)
        self.hfov.setEnabled(not busy and not self._calibration)
        self.calib_clear.setEnabled(not busy and bool(self._calibration))
        if self.isVisible() and (self.focusWidget() is None or not self.focusWidget().isEnabled()):
            self.run_button.setFocus()  # keep keyboard focus in the window so shortcuts keep working
        if state == "starting":
            self.status.emit("Loading models and opening the source…")
        elif state == "stopping":
            self.status.emit("Stopping the live view…")
        elif state == "idle" and self._start_after_stop:
            self._start_after_stop = False
            QTimer.singleShot(0, self.start)

    def _on_smoothing(self, on: bool) -> None:
        self.live.smoothing = on  # applies immediately: the engine publishes raw and smoothed poses

    # ---------------------------------------------------------------------------------------------- record
    def _pick_record_path(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Record to", self.record_path.text() or settings.last_dir(),
                                              "HDF5 (*.h5 *.hdf5)")
        if path:
            settings.remember_dir(path)
            self.record_path.setText(path)

    def toggle_record(self) -> None:
        self.record_button.setChecked(not self.record_button.isChecked())
        self._on_record_clicked()

    def _on_record_clicked(self) -> None:
        on = self.record_button.isChecked()
        if not self.live.running:  # armed, not recording: the button says so instead of just looking pressed
            self.record_button.setText("Records from Start  (Ctrl+E: off)" if on else "Record  (Ctrl+E)")
            if on:
                self.message.emit("info", "Recording will start with the live view.")
            return
        if on:
            path = self.record_path.text().strip()
            if not path:
                self.message.emit("error", "Choose a file to record to first.")
                self.record_button.setChecked(False)
                return
            self.live.start_recording(path)
        else:
            self.live.stop_recording()

    def _on_recording(self, on: bool, path: str) -> None:
        self.record_button.setChecked(on)
        self.record_button.setText("● Recording  (Ctrl+E stops)" if on else "Record  (Ctrl+E)")

    # ----------------------------------------------------------------------------------------------- status
    def _emit_stats(self) -> None:
        text = self.live.stats_text()
        if text:
            self.status.emit(text)
        rows = self.live.stage_table()
        self.latency.setRowCount(len(rows))
        for r, (stage, *vals) in enumerate(rows):
            cells = [stage, *(f"{v:.1f}" for v in vals)]
            for c, t in enumerate(cells):
                item = self.latency.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    if c:
                        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    self.latency.setItem(r, c, item)
                item.setText(t)
