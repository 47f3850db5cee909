"""The main window: Live, Benchmark and Models tabs, a message area and a status bar.

Errors from any tab, worker or slot end up as readable lines in the message area (and the status bar), never as a
traceback dialog. Shortcuts: Ctrl+R start/stop live, Ctrl+E record, Ctrl+1/2/3 tabs, Ctrl+Q quit (all listed in the
menu bar, ``gui.menus``). The window remembers its geometry and the Messages panel's size, takes dropped files
(``gui.drops``), and wheel events change a box's value only while it has focus (``gui.wheel_guard``).
"""

from __future__ import annotations

import sys
import traceback

from PySide6.QtCore import QByteArray, QEvent, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMainWindow, QTabWidget

from gui import settings
from gui.benchmark_tab import BenchmarkTab
from gui.controllers.benchmark import BenchmarkController
from gui.controllers.live import LiveController
from gui.controllers.models import RegistryController
from gui.controllers.playback import PlaybackController
from gui.controllers.sources import SourceController
from gui.drops import handle_paths
from gui.live_tab import LiveTab
from gui.main_thread_gc import acquire_main_thread_gc, release_main_thread_gc
from gui.menus import build_menus
from gui.messages import MessageArea, displayable
from gui.models_tab import ModelsTab
from gui.playback_tab import PlaybackTab
from gui.wheel_guard import no_wheel_focus, no_wheel_focus_below, wheel_without_focus
from gui.workers import active_workers, await_workers, readable_error


class MainWindow(QMainWindow):
    def __init__(self, source: str | None = None, models: str | list[str] | None = None,
                 autostart: bool | None = None) -> None:
        super().__init__()
        acquire_main_thread_gc()  # before any worker thread starts
        self._gc_released = False
        self.setWindowTitle("PoseArena")
        self.persist_settings = True
        self.registry = RegistryController(self)
        self.live = LiveController(self)
        self.sources = SourceController(self)
        self.bench = BenchmarkController(self)
        self.playback = PlaybackController(self)

        self.live_tab = LiveTab(self.live, self.registry, self.sources)
        self.benchmark_tab = BenchmarkTab(self.bench, self.registry)
        self.models_tab = ModelsTab(self.registry)
        self.playback_tab = PlaybackTab(self.playback)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.live_tab, "Live")
        self.tabs.addTab(self.benchmark_tab, "Benchmark")
        self.tabs.addTab(self.models_tab, "Models")
        self.tabs.addTab(self.playback_tab, "Playback")
        # an explicit minimum: the Models tab's table alone asks for ~810 px, which made an 800x600 window impossible
        self.models_tab.setMinimumWidth(min(self.models_tab.minimumSizeHint().width(), 640))
        self.setCentralWidget(self.tabs)

        self.messages = MessageArea()
        dock = QDockWidget("Messages", self)
        dock.setObjectName("messages")
        dock.setWidget(self.messages)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable |
                         QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self.resizeDocks([dock], [90], Qt.Orientation.Vertical)
        self.messages_dock = dock

        self.status_label = QLabel("Ready")
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.statusBar().addWidget(self.status_label, 1)

        for src in (self.registry, self.live, self.bench, self.playback, self.live_tab, self.benchmark_tab,
                    self.models_tab, self.playback_tab):
            src.message.connect(self.post)
        self.live_tab.status.connect(self.status_label.setText)
        self.benchmark_tab.status.connect(self.status_label.setText)
        self._shortcuts()
        build_menus(self)
        self.setAcceptDrops(True)
        QApplication.instance().installEventFilter(self)
        no_wheel_focus_below(self)
        self.geometry_restored = self._restore_geometry()
        self._install_excepthook()

        if source:
            self.live_tab.set_source(str(source))
        if models:
            names = models if isinstance(models, list) else [m.strip() for m in str(models).split(",") if m.strip()]
            self.live_tab.set_models(names)
        self.registry.refresh()
        if autostart if autostart is not None else bool(source or models):
            QTimer.singleShot(0, self.live_tab.start)

    # ---------------------------------------------------------------------------------------------- messages
    def post(self, level: str, text: str) -> None:
        self.messages.post(level, text)
        first = displayable(text.strip().splitlines()[0]) if text.strip() else ""
        self.status_label.setText(f"Error: {first}" if level == "error" else first)  # the newest word stands

    def _install_excepthook(self) -> None:
        """An exception escaping a slot is shown as a message (and printed), the window keeps running."""
        previous = sys.excepthook

        def hook(etype, value, tb) -> None:
            traceback.print_exception(etype, value, tb, file=sys.stderr)
            try:
                self.post("error", f"Unexpected error: {readable_error(value)}")
            except Exception:  # noqa: BLE001 - the window may be gone already
                previous(etype, value, tb)

        sys.excepthook = hook
        self._previous_hook = previous

    # --------------------------------------------------------------------------------------------- shortcuts
    def _shortcuts(self) -> None:
        def act(text: str, keys: str, slot) -> QAction:
            a = QAction(text, self)
            a.setShortcut(QKeySequence(keys))
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            a.triggered.connect(slot)
            self.addAction(a)
            return a

        self.act_run = act("Start/stop live", "Ctrl+R", self._toggle_live)
        self.act_record = act("Record", "Ctrl+E", self.live_tab.toggle_record)
        self.tab_actions = [act(f"{self.tabs.tabText(i)} tab", f"Ctrl+{i + 1}",
                                lambda _=False, i=i: self.tabs.setCurrentIndex(i)) for i in range(self.tabs.count())]
        self.act_quit = act("Quit", "Ctrl+Q", self.close)

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 - Qt API
        """Text fields claim Ctrl+E (end of line) and similar keys; our window shortcuts must win. The wheel over
        an unfocused combo / spin box scrolls the panel instead of changing the value."""
        no_wheel_focus(obj, ev)
        if wheel_without_focus(obj, ev):
            return True
        if ev.type() == QEvent.Type.ShortcutOverride and self.isActiveWindow():
            seq = QKeySequence(ev.keyCombination())
            if any(a.shortcut() == seq for a in (self.act_run, self.act_record)):
                return True  # not accepted by the text field: the shortcut map triggers our action
        return super().eventFilter(obj, ev)

    def _toggle_live(self) -> None:
        self.tabs.setCurrentWidget(self.live_tab)
        self.live_tab.toggle_run()

    # ----------------------------------------------------------------------------------------- drag and drop
    def dragEnterEvent(self, ev) -> None:  # noqa: N802 - Qt API
        if ev.mimeData().hasUrls() and any(u.isLocalFile() for u in ev.mimeData().urls()):
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:  # noqa: N802 - Qt API
        paths = [u.toLocalFile() for u in ev.mimeData().urls() if u.isLocalFile()]
        if paths:
            handle_paths(self, paths)
            ev.acceptProposedAction()

    # ------------------------------------------------------------------------------------------------ state
    def _restore_geometry(self) -> bool:
        """Geometry, dock sizes (the Messages panel), splitter and tab; True when a saved geometry was applied."""
        geo = settings.get("window/geometry", "")
        restored = bool(geo) and self.restoreGeometry(QByteArray.fromBase64(geo.encode()))
        state = settings.get("window/state", "")
        if state:
            self.restoreState(QByteArray.fromBase64(state.encode()))
        split = settings.get("window/live_splitter", "")
        if split:
            self.live_tab.splitter.restoreState(QByteArray.fromBase64(split.encode()))
        self.tabs.setCurrentIndex(min(max(settings.get("window/tab", 0), 0), self.tabs.count() - 1))
        return restored

    def fit_to_screen(self) -> None:
        """The default size: 1280x800 or less, so that the whole window, frame and status bar included, is on the
        screen's available area; centred there."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None:
            self.resize(1280, 800)
            return
        avail = screen.availableGeometry()
        frame_w = max(0, self.frameGeometry().width() - self.geometry().width()) if self.isVisible() else 0
        frame_h = max(0, self.frameGeometry().height() - self.geometry().height()) if self.isVisible() else 0
        w = min(1280, avail.width() - frame_w)
        h = min(800, avail.height() - frame_h)
        self.resize(max(w, self.minimumSizeHint().width()), max(h, 480))
        self.move(avail.x() + max(0, (avail.width() - w - frame_w) // 2),
                  avail.y() + max(0, (avail.height() - h - frame_h) // 2))

    def keep_on_screen(self) -> None:
        """After the window manager framed the window: shrink / move it so that nothing is off screen."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None or self.isMaximized() or self.isFullScreen():
            return
        avail, frame = screen.availableGeometry(), self.frameGeometry()
        extra_w, extra_h = frame.width() - self.width(), frame.height() - self.height()
        w = min(self.width(), avail.width() - extra_w)
        h = min(self.height(), avail.height() - extra_h)
        if (w, h) != (self.width(), self.height()):
            self.resize(w, h)
        x = min(max(frame.x(), avail.x()), avail.right() + 1 - (w + extra_w))
        y = min(max(frame.y(), avail.y()), avail.bottom() + 1 - (h + extra_h))
        if (x, y) != (frame.x(), frame.y()):
            self.move(x, y)

    def save_settings(self) -> None:
        settings.put("window/geometry", bytes(self.saveGeometry().toBase64()).decode())
        settings.put("window/maximized", self.isMaximized())
        settings.put("window/state", bytes(self.saveState().toBase64()).decode())
        settings.put("window/live_splitter", bytes(self.live_tab.splitter.saveState().toBase64()).decode())
        settings.put("window/tab", self.tabs.currentIndex())
        self.live_tab.save_settings()
        self.benchmark_tab.save_settings()

    def closeEvent(self, ev) -> None:  # noqa: N802 - Qt API
        try:
            if self.persist_settings:
                self.save_settings()
        except Exception as exc:  # noqa: BLE001 - never block closing
            print(f"could not save settings: {exc}", file=sys.stderr)
        self.live_tab.grid.stop()
        self.playback_tab.shutdown()
        self.live.shutdown(timeout=5.0)
        self.bench.cancel()
        self.registry.cancel_download()
        if not await_workers(8000):  # e.g. models still loading: wait for them, a QThread must not be destroyed running
            for w in active_workers():
                w.wait(30_000)
        sys.excepthook = self._previous_hook
        QApplication.instance().removeEventFilter(self)
        if not self._gc_released:
            self._gc_released = True
            release_main_thread_gc()
        super().closeEvent(ev)
