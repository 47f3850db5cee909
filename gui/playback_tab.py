"""The Playback tab: open a live recording (HDF5) and watch it again, frame by frame or at its own rate, in the
same linked 3D views as the Live tab (``gui.view_grid.ViewGrid``) beside the 2D overlay (``gui.video_view``), then
export it (MP4 overlay, JSON lines, C3D, TRC, CSV, BVH: a file per model) in a worker."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gui import settings
from gui.controllers.playback import EXPORT_SUFFIX, PlaybackController
from gui.export_paths import format_name, resolve_export, suggested_path
from gui.video_view import VideoView
from gui.view_grid import ViewGrid, ViewInfo


class PlaybackTab(QWidget):
    message = Signal(str, str)  # level, text

    def __init__(self, controller: PlaybackController | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctl = controller or PlaybackController(self)
        self.open_button = QPushButton("Open recording…")
        self.source_button = QPushButton("Source video…")
        self.source_button.setToolTip("The video or image folder that was recorded (when it moved)")
        self.back_button = QPushButton("◀ Step")
        self.play_button = QPushButton("Play")
        self.forward_button = QPushButton("Step ▶")
        self.kind = QComboBox()
        self.kind.addItems(["smoothed", "raw"])
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setEnabled(False)
        self.position = QLabel("No recording")
        self.export_format = QComboBox()
        self.export_format.addItems(list(EXPORT_SUFFIX))
        self.export_button = QPushButton("Export…")
        for b in (self.source_button, self.back_button, self.play_button, self.forward_button, self.export_button):
            b.setEnabled(False)

        bar = QHBoxLayout()
        for w in (self.open_button, self.source_button, self.back_button, self.play_button, self.forward_button):
            bar.addWidget(w)
        bar.addWidget(QLabel("Joints:"))
        bar.addWidget(self.kind)
        bar.addStretch(1)
        bar.addWidget(self.export_format)
        bar.addWidget(self.export_button)
        timeline = QHBoxLayout()
        timeline.addWidget(self.slider, 1)
        timeline.addWidget(self.position)

        self.video = VideoView()
        self.video.placeholder = "Open a recording (an .h5 file written by the Live tab's Record) to watch it again."
        self.views = ViewGrid(placeholder="The recorded models' 3D skeletons appear here once a recording is open.")
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.video)
        split.addWidget(self.views)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setSizes([500, 500])  # half each: the 3D views are not squeezed beside the video
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(split, 1)
        lay.addLayout(timeline)

        self.open_button.clicked.connect(self._pick_recording)
        self.source_button.clicked.connect(self._pick_source)
        self.back_button.clicked.connect(lambda: self.ctl.step(-1))
        self.forward_button.clicked.connect(lambda: self.ctl.step(1))
        self.play_button.clicked.connect(self.ctl.toggle)
        self.kind.currentTextChanged.connect(self.ctl.set_kind)
        self.slider.valueChanged.connect(self._on_slider)
        self.export_button.clicked.connect(self._pick_export)
        self.ctl.opened.connect(self._on_opened)
        self.ctl.frameChanged.connect(self._on_frame)
        self.ctl.playingChanged.connect(lambda on: self.play_button.setText("Pause" if on else "Play"))
        self.ctl.exported.connect(lambda fmt, p: self.message.emit("info", f"Exported {fmt}: {p}"))
        self.ctl.exportFailed.connect(lambda fmt, m: self.message.emit("error", f"Export {fmt} failed: {m}"))
        self.ctl.message.connect(self.message)
        for key, fn in (("Space", self.ctl.toggle), ("Left", lambda: self.ctl.step(-1)),
                        ("Right", lambda: self.ctl.step(1))):
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(fn)

    # -- actions ---------------------------------------------------------------------------------------------------
    def open_recording(self, path: str, source: str | None = None) -> bool:
        return self.ctl.open(path, source)

    def _pick_recording(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open recording", settings.last_dir(), "Recordings (*.h5);;All (*)")
        if path:
            settings.remember_dir(path)
            self.open_recording(path)

    def _pick_source(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Source video", settings.last_dir(),
                                              "Videos (*.mp4 *.avi *.mkv *.mov *.webm);;All (*)")
        if path:
            settings.remember_dir(path)
            self.ctl.set_source(path)

    def _pick_export(self) -> None:
        fmt = self.export_format.currentText()
        rec = self.ctl.rec
        default = suggested_path(Path(rec.path).with_suffix(EXPORT_SUFFIX[fmt]).name) if rec is not None else ""
        path, _ = QFileDialog.getSaveFileName(self, f"Export {format_name(fmt)}", default,
                                              f"{format_name(fmt)} (*{EXPORT_SUFFIX[fmt]});;All files (*)")
        if path:
            settings.remember_dir(path)
            self.export(fmt, path)

    def export(self, fmt: str, path: str):
        """Export to ``path`` in a worker (its extension, when it names a format, decides the format); the result is
        posted as a message. Returns the worker."""
        fmt, path = resolve_export(path, fmt, EXPORT_SUFFIX)
        opts = {"kind": self.ctl.kind} if fmt != "jsonl" else {}
        if fmt in ("trc", "c3d", "csv") and self.ctl.rec is not None and len(self.ctl.rec.models) > 1:
            opts["model"] = next(iter(self.ctl.rec.models))  # the first model; the CLI exports any one
        self.message.emit("info", f"Exporting {format_name(fmt)} to {path}…")
        return self.ctl.export(fmt, path, **opts)

    # -- updates from the controller -------------------------------------------------------------------------------
    def _on_opened(self, info: dict) -> None:
        self.views.set_views([ViewInfo(n, js, label, trained) for n, js, label, trained in info["models"]])
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, info["frames"] - 1))
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        has = info["frames"] > 0
        self.slider.setEnabled(has)
        for b in (self.source_button, self.back_button, self.play_button, self.forward_button, self.export_button):
            b.setEnabled(has)
        if not has:
            self.position.setText(f"{Path(info['path']).name}: no frames")

    def _on_slider(self, value: int) -> None:
        if value != self.ctl.index:
            self.ctl.pause()
            self.ctl.seek(value)

    def _on_frame(self, frame) -> None:
        self.video.show_frame(frame)
        self.views.show_frame(frame)
        self.slider.blockSignals(True)
        self.slider.setValue(frame.seq)
        self.slider.blockSignals(False)
        self.position.setText(frame.message)

    def shutdown(self) -> None:
        self.ctl.shutdown()
