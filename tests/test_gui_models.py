"""The Models tab: registry table, checkpoint import (identified from the file), download with progress/cancel."""

from __future__ import annotations

import functools
import http.server
import threading
import time

import pytest

from gui.models_tab import COL
from tests.conftest import show_main_window

pytestmark = pytest.mark.gui

MODEL = "mhp-lpski-w0.5"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A released-style checkpoint ({'network': state_dict} with 'module.' keys) of the small model."""
    import torch

    from models.spec import build

    net = build(MODEL)
    path = tmp_path_factory.mktemp("ckpt") / "snapshot_9.pth.tar"
    torch.save({"epoch": 9, "network": {f"module.{k}": v for k, v in net.state_dict().items()}}, path)
    return path


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    w = show_main_window(qtbot, tmp_path, monkeypatch, lambda w: w.models_tab.table.rowCount() > 0, tab="models_tab")
    yield w
    w.close()


def _row(tab, name):
    return next(r for r in range(tab.table.rowCount()) if tab.table.item(r, 0).text() == name)


def test_table_lists_registry(window):
    from models.spec import all_specs

    tab = window.models_tab
    assert tab.table.rowCount() == len(all_specs())
    r = _row(tab, "posenet-r50")
    assert tab.table.item(r, COL["Paper MPJPE\nS9+S11"]).text() == "53.30"
    assert tab.table.item(r, COL["Params (M)"]).text() == "34.29"  # params (M)
    assert "missing" in tab.table.item(_row(tab, MODEL), COL["Weights"]).text()


def test_import_identifies_the_model(window, qtbot, checkpoint):
    from models.checkpoint import sha256_file

    tab = window.models_tab
    with qtbot.waitSignal(window.registry.importDone, timeout=60_000) as blocker:
        tab.import_file(str(checkpoint))
    assert blocker.args == [MODEL]
    qtbot.waitUntil(lambda: "✓" in tab.table.item(_row(tab, MODEL), COL["Weights"]).text(), timeout=20_000)
    shown = tab.table.item(_row(tab, MODEL), COL["sha256"])
    assert len(shown.text()) > 10 and shown.toolTip() == sha256_file(checkpoint)
    live = window.live_tab.model_list
    item = next(live.item(i) for i in range(live.count()) if live.item(i).data(0x0100) == MODEL)
    assert item.text().endswith("✓")


def test_bad_import_is_a_message(window, qtbot, tmp_path):
    bad = tmp_path / "notes.pth"
    bad.write_text("not a checkpoint")
    window.models_tab.import_file(str(bad))
    qtbot.waitUntil(lambda: any("notes.pth" in m for m in window.messages.messages("error")), timeout=30_000)


class _SlowHandler(http.server.SimpleHTTPRequestHandler):
    delay = 0.0

    def copyfile(self, source, outputfile):
        while chunk := source.read(256 * 1024):
            outputfile.write(chunk)
            time.sleep(self.delay)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(checkpoint):
    handler = type("H", (_SlowHandler,), {})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(handler, directory=str(checkpoint.parent)))
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield handler, f"http://127.0.0.1:{httpd.server_address[1]}/{checkpoint.name}"
    httpd.shutdown()
    httpd.server_close()


def test_download_progress_cancel_and_finish(window, qtbot, server):
    handler, url = server
    tab, reg = window.models_tab, window.registry
    tab.select(MODEL)
    tab.url.setText(url)

    handler.delay = 0.3  # slow: cancel while it runs
    progress = []
    reg.downloadProgress.connect(lambda n, done, total: progress.append(done))
    with qtbot.waitSignal(reg.downloadDone, timeout=30_000) as blocker:
        tab.download_selected()
        assert tab.cancel_button.isEnabled()
        qtbot.waitUntil(lambda: len(progress) >= 1, timeout=10_000)
        tab.cancel_button.click()
    assert blocker.args == [MODEL, "cancelled"]
    assert "missing" in tab.table.item(_row(tab, MODEL), COL["Weights"]).text()

    handler.delay = 0.0
    progress.clear()
    with qtbot.waitSignal(reg.downloadDone, timeout=60_000) as blocker:
        tab.download_selected()
    assert blocker.args == [MODEL, "finished"]
    assert progress and progress[-1] > 1_000_000
    qtbot.waitUntil(lambda: "✓" in tab.table.item(_row(tab, MODEL), COL["Weights"]).text(), timeout=20_000)
    assert not tab.progress.isVisible()
