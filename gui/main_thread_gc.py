"""Cyclic garbage is collected on the GUI thread only, while a main window is open.

Why: CPython's cycle collector runs in whichever thread happens to allocate when a generation's threshold is
crossed. A background job (a worker building a model, reading the speed table) could then finalise Qt wrappers that
belong to the GUI thread; the C++ side of such a finaliser can wait for the GUI thread while that thread waits for
the interpreter lock, and the window stalled (seen as a worker stuck in plain Python for minutes while the GUI
thread sat in its event filter). The usual remedy for Qt applications: switch the automatic collector off and let a
timer on the GUI thread run each generation when its count passes its threshold, as the automatic one would. The
collector is switched back on when the last window closes.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication

__all__ = ["acquire_main_thread_gc", "release_main_thread_gc"]

INTERVAL_MS = 200

_state: dict[str, object] = {"users": 0, "timer": None, "was_enabled": True}


def _collect_due() -> None:
    """Collect the oldest generation whose count passed its threshold (what the automatic collector would do)."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    for gen in (2, 1, 0):
        if thresholds[gen] and counts[gen] > thresholds[gen]:
            gc.collect(gen)
            return


def acquire_main_thread_gc() -> None:
    """A window opened: collection moves to the GUI thread (call on the GUI thread)."""
    _state["users"] = int(_state["users"]) + 1  # type: ignore[call-overload]
    if _state["timer"] is None:
        app = QApplication.instance()
        timer = QTimer(app if isinstance(app, QObject) else None)
        timer.setInterval(INTERVAL_MS)
        timer.timeout.connect(_collect_due)
        timer.start()
        _state["timer"], _state["was_enabled"] = timer, gc.isenabled()
        gc.disable()


def release_main_thread_gc() -> None:
    """A window closed: with none left, the automatic collector is back as it was."""
    _state["users"] = max(0, int(_state["users"]) - 1)  # type: ignore[call-overload]
    timer = _state["timer"]
    if _state["users"] == 0 and isinstance(timer, QTimer):
        timer.stop()
        timer.deleteLater()
        _state["timer"] = None
        if _state["was_enabled"]:
            gc.enable()
        gc.collect()
