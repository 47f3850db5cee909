"""Launch to window and launch to first poses of the desktop app (``python main.py --source demo --models M``).

Prints the seconds from process start to the main window's first paint and to the first frame of poses reaching the
window. Needs a display (``xvfb-run -a python bench/gui_startup.py``). A private home folder keeps settings apart.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--models", default="blazepose-full")
    p.add_argument("--source", default="demo")
    p.add_argument("--imports-first", action="store_true",
                   help="load the heavy libraries before the window (the order before the window-first launch)")
    a = p.parse_args()
    os.environ.setdefault("POSEARENA_HOME", tempfile.mkdtemp(prefix="posearena-startup-"))
    os.environ.setdefault("YOLO_OFFLINE", "1")
    marks: dict[str, float] = {}

    from PySide6.QtCore import QEvent, QObject, QTimer

    import gui.app as app_mod

    class FirstPaint(QObject):
        def eventFilter(self, obj, ev) -> bool:  # noqa: N802 - Qt API
            if ev.type() == QEvent.Type.Paint and "window" not in marks:
                marks["window"] = time.perf_counter() - T0
            return False

    spy = FirstPaint()
    original = app_mod.prepare_window

    def prepare(win, scripted: bool = False) -> None:
        original(win, scripted)
        win.installEventFilter(spy)
        win.persist_settings = False

        def first_pose() -> None:
            if "poses" not in marks:
                marks["poses"] = time.perf_counter() - T0
                QTimer.singleShot(500, win.close)

        win.live.frameReady.connect(first_pose)
        QTimer.singleShot(120_000, win.close)

    app_mod.prepare_window = prepare
    if a.imports_first:
        app_mod._preimport_heavy()
    code = app_mod.run_gui(argparse.Namespace(source=a.source, models=a.models, idle=False, screenshot=None,
                                              after=0.0))
    print(f"launch to window:      {marks.get('window', float('nan')):.2f} s")
    print(f"launch to first poses: {marks.get('poses', float('nan')):.2f} s  ({a.models} on {a.source})")
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
