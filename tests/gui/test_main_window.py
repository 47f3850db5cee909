"""The main window opens with its four tabs in order."""

from __future__ import annotations


def test_main_window_opens(qtbot):
    from gui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    assert [w.tabs.tabText(i) for i in range(w.tabs.count())] == ["Live", "Benchmark", "Models", "Playback"]
