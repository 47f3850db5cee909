"""Test set-up: offline ultralytics, torch imported before any GL context, shared GL contexts for Qt."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")
os.environ.setdefault("YOLO_VERBOSE", "false")
os.environ.setdefault("YOLO_CONFIG_DIR", str(Path(os.environ.get("TMPDIR", "/tmp")) / "posearena-yolo-cfg"))
os.environ.setdefault("POSEARENA_HOME", str(Path(os.environ.get("TMPDIR", "/tmp")) / "posearena-test-home"))

from gui.app import _preimport_heavy  # noqa: E402

_preimport_heavy()  # main thread, before any GL context (triton trap) and before workers (import deadlock)
import torch  # noqa: E402  (already imported by _preimport_heavy)

try:
    from PySide6.QtCore import QCoreApplication, Qt

    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
except ImportError:  # pragma: no cover
    pass

# Produced by the official upstream code (tests/fixtures/conformance/README.md says how and from which commits).
CONFORMANCE = ROOT / "tests" / "fixtures" / "conformance"


@pytest.fixture(scope="module")
def one_thread():
    """torch on one thread for a whole test module (CI shares 2 cores); the previous count is restored after it.
    Use with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def show_main_window(qtbot, tmp_path: Path, monkeypatch, ready, *, tab: str | None = None, **kwargs):
    """The main window with a private ``POSEARENA_HOME`` (empty weights folder, own settings file), shown, on
    ``tab`` (an attribute name such as "benchmark_tab"), once ``ready(window)`` holds; the caller closes it."""
    monkeypatch.setenv("POSEARENA_HOME", str(tmp_path / "home"))
    from gui.main_window import MainWindow

    w = MainWindow(autostart=False, **kwargs)
    w.resize(1100, 700)
    qtbot.addWidget(w)
    if tab:
        w.tabs.setCurrentWidget(getattr(w, tab))
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: ready(w), timeout=30_000)
    return w
