"""The house: CLI lists subcommands, registry names, the main window opens."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

EXPECTED = {
    "rootnet-r50", "posenet-r50", "posenet-r50-muco", "convnextpose-xs", "convnextpose-s", "convnextpose-m",
    "convnextpose-l", "mhp-lpski", "mhp-lpski-w0.5", "mhp-lpres", "mhp-lpwo", "integral-r50", "integral-r101",
    "integral-r152-384x288",
}


def test_help_lists_subcommands():
    out = subprocess.run([sys.executable, "main.py", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "usage: posearena" in out.stdout


def test_registry_has_every_issue_name():
    from models import model_names

    assert EXPECTED <= set(model_names())


def test_main_window_opens(qtbot):
    from gui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    assert [w.tabs.tabText(i) for i in range(w.tabs.count())] == ["Live", "Benchmark", "Models", "Playback"]
