"""The Live tab's stream box is remembered between sessions (host, port, message set); streaming itself starts off."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def test_stream_host_port_and_format_survive_a_restart(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("POSEARENA_HOME", str(tmp_path / "home"))
    from gui.main_window import MainWindow

    w = MainWindow(autostart=False)
    qtbot.addWidget(w)
    tab = w.live_tab
    tab.stream_host.setText("127.0.0.2")
    tab.stream_port.setValue(9000)
    other = 1 - max(0, tab.stream_format.currentIndex())  # the message set that is not the default
    tab.stream_format.setCurrentIndex(other)
    chosen = tab.stream_format.currentData()
    tab.stream_on.setChecked(True)
    w.close()
    w2 = MainWindow(autostart=False)
    qtbot.addWidget(w2)
    tab2 = w2.live_tab
    assert (tab2.stream_host.text(), tab2.stream_port.value(), tab2.stream_format.currentData()) == (
        "127.0.0.2", 9000, chosen)
    assert not tab2.stream_on.isChecked()  # never sends on its own at launch
    w2.close()
