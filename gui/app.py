"""QApplication set-up: attributes that must precede the app, then the main window.

Order matters: torch/ultralytics are imported before any GL context exists (triton segfaults when first imported
after a Mesa context), and AA_ShareOpenGLContexts is set before the QApplication (pyqtgraph caches shader programs
per class; several GLViewWidgets otherwise render blank or crash).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from models.fileio import atomic_path


def _preimport_heavy(between: Callable[[], None] = lambda: None) -> None:
    """Import the heavy libraries on the main thread before any GL view exists; ``between`` runs after each (the
    shown window keeps painting while they load).

    triton (pulled in by torch/ultralytics) segfaults if first imported after a Mesa GL context exists, and a first
    import of matplotlib (pyparsing's module-level ABC checks) in a worker thread while the Qt event loop runs was
    seen to deadlock; the benchmark's plots and HDF5 exports run in workers.
    """
    import cv2  # noqa: F401
    import h5py  # noqa: F401
    between()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    between()
    import torch  # noqa: F401
    between()

    try:  # torchvision's ops (imported by a checkpoint import in a worker) pull triton in through torch._dynamo
        import triton  # noqa: F401
    except Exception:  # noqa: BLE001 - not installed (CPU-only torch)
        pass

    try:
        import onnxruntime  # noqa: F401
    except ImportError:  # optional backend
        pass

    try:
        import ultralytics  # noqa: F401
    except Exception:  # noqa: BLE001 - detector falls back later with a message
        pass


def make_app():
    # Software OpenGL (Mesa llvmpipe: no GPU, remote desktops, Xvfb) renders on as many threads as there are cores,
    # which take them from the models: on 2 cores the live view ran at ~0.7x the headless FPS. One thread draws
    # the skeleton views fast enough; hardware GL ignores the variable. Set before the first GL context.
    os.environ.setdefault("LP_NUM_THREADS", "1")
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
        app = QApplication(sys.argv[:1])
        app.setOrganizationName("PoseArena")
        app.setApplicationName("PoseArena")
    import pyqtgraph as pg

    pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)
    return app


def save_window_png(widget, path: str | os.PathLike) -> Path:
    """Grab the window (GL views included) and write it atomically; raises OSError when it cannot be written."""
    dest = Path(path).expanduser().resolve()
    with atomic_path(dest) as tmp:
        if not widget.grab().save(str(tmp), "PNG"):
            raise OSError(f"{dest}: Qt could not write the PNG")
    return dest


def prepare_window(win, scripted: bool = False) -> None:
    """Size the main window before it is shown: the saved geometry when there is one (``MainWindow`` restored it),
    else a default that fits the screen. A scripted run (--screenshot) is always 1280x800 on the Live tab and
    leaves the remembered settings alone."""
    if scripted:
        win.persist_settings = False
        win.resize(1280, 800)
        win.tabs.setCurrentWidget(win.live_tab)
    elif not win.geometry_restored:
        win.fit_to_screen()


def run_gui(args: argparse.Namespace) -> int:
    """The window first, then the heavy libraries (on the main thread, painting between them), then the live view:
    the user sees the app at once and the models load behind it."""
    app = make_app()
    from PySide6.QtCore import QTimer

    from gui import settings
    from gui.main_window import MainWindow

    screenshot = getattr(args, "screenshot", None)
    win = MainWindow(source=args.source, models=args.models, autostart=False)
    prepare_window(win, scripted=bool(screenshot))
    if not screenshot and settings.get("window/maximized", False):
        win.showMaximized()  # saved geometry alone does not bring the maximized state back on every desktop
    else:
        win.show()
    if not screenshot and not win.geometry_restored:
        QTimer.singleShot(300, win.keep_on_screen)  # once the window manager has put its frame around it
    autostart = not getattr(args, "idle", False)

    def load_then_start() -> None:
        win.status_label.setText("Loading the pose libraries…")
        _preimport_heavy(app.processEvents)
        win.status_label.setText("Ready")
        if autostart and (args.source or win.live_tab.may_autostart()):
            win.live_tab.start()

    app.processEvents()  # the first paint before the imports take the main thread
    QTimer.singleShot(0, load_then_start)
    status = {"code": 0}
    if screenshot:

        def shoot() -> None:
            try:
                path = save_window_png(win, screenshot)
                print(f"screenshot saved: {path}")
            except OSError as exc:
                print(f"screenshot failed: {exc}", file=sys.stderr)
                status["code"] = 1
            win.close()
            app.quit()

        QTimer.singleShot(int(max(0.0, float(args.after)) * 1000), shoot)
    code = app.exec()
    from gui.workers import active_workers

    for w in active_workers():  # a QThread destroyed while running aborts with "QThread: Destroyed while ..."
        w.request_cancel()
        w.wait(30_000)
    return status["code"] or int(code)
