"""The real main window for the GUI benches (bench/gui_soak.py, bench/gui_vs_headless.py), set up one way.

Why shared: a GUI measurement is only comparable to another when both start the window alike: a private settings
home (the user's settings and weights stay untouched, nothing is written back), the heavy libraries imported before
the first GL context, the same thread count, the same window size, and the model list filled before anything starts.
Everything Qt or torch is imported inside the functions, so a bench's ``--help`` stays instant.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Wait = Callable[[Callable[[], bool], float], bool]

WINDOW_SIZE = (1280, 800)  # the size the benches' xvfb-run screens are made for
MODELS_LISTED_S = 60.0  # how long the Live tab may take to fill its model list


def private_home(prefix: str) -> Path:
    """A fresh ``POSEARENA_HOME`` for this process (YOLO kept offline): the bench never reads or changes the user's
    settings."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["POSEARENA_HOME"] = str(home)
    os.environ.setdefault("YOLO_OFFLINE", "1")
    return home


def preload(threads: int) -> None:
    """Import the heavy libraries as the app does before its window (gui.app) and fix torch's thread count."""
    from gui.app import _preimport_heavy

    _preimport_heavy()
    import torch

    torch.set_num_threads(threads)


def open_window(source: str, poll_s: float = 0.01) -> tuple[Any, Wait]:
    """(main window, wait): the shown window with settings persistence off and its model list filled.

    ``wait(cond, timeout)`` runs the Qt event loop (sleeping ``poll_s`` between rounds) until ``cond()`` holds
    (True) or ``timeout`` seconds pass (False)."""
    from gui.app import make_app

    app = make_app()
    from gui.main_window import MainWindow

    def wait(cond: Callable[[], bool], timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            app.processEvents()
            if cond():
                return True
            time.sleep(poll_s)
        return False

    win = MainWindow(source=source, autostart=False)
    win.persist_settings = False
    win.resize(*WINDOW_SIZE)
    win.show()
    wait(lambda: win.live_tab.model_list.count() > 0, MODELS_LISTED_S)
    return win, wait
