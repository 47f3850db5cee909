"""QApplication set-up: attributes that must precede the app, then the main window."""

from __future__ import annotations

import argparse
import sys


def _preimport_heavy() -> None:
    # triton (pulled in by torch/ultralytics) segfaults if first imported after a Mesa GL context exists.
    import torch  # noqa: F401

    try:
        import ultralytics  # noqa: F401
    except Exception:  # noqa: BLE001 - detector falls back later with a message
        pass


def make_app():
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
        app = QApplication(sys.argv[:1])
        app.setOrganizationName("PoseArena")
        app.setApplicationName("PoseArena")
    return app


def run_gui(args: argparse.Namespace) -> int:
    _preimport_heavy()
    app = make_app()
    from gui.main_window import MainWindow

    win = MainWindow(source=args.source, models=args.models)
    win.resize(1280, 800)
    win.show()
    if args.screenshot:
        from PySide6.QtCore import QTimer

        def shoot() -> None:
            win.grab().save(args.screenshot)
            win.close()
            app.quit()

        QTimer.singleShot(int(args.after * 1000), shoot)
    return app.exec()
