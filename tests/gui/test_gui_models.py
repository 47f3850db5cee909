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


def test_foreign_checkpoint_import_names_the_family_and_keeps_key_lists_behind_details(window, qtbot, tmp_path):
    """A ResNet-18 state_dict gets a summary line (likely family, nearest models with counts);
    the key lists sit behind the dialog's "Show Details..." toggle, not in the message panel."""
    import torch
    import torchvision

    path = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18().state_dict(), path)
    tab = window.models_tab
    tab.import_file(str(path))
    qtbot.waitUntil(lambda: getattr(tab, "import_error_box", None) is not None, timeout=60_000)
    box = tab.import_error_box
    assert "torchvision-style ResNet" in box.text() and "missing" in box.text() and "\n" not in box.text()
    assert "conv1.weight" in box.detailedText() and "conv1.weight" not in box.text()
    (line,) = [m for m in window.messages.messages("error") if "resnet18.pth" in m]
    assert "Nearest:" in line and "layer1" not in line  # one readable line, no key lists
    box.close()


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


class _FakeDefaults:
    """Local fakes for "Get default models": model downloads and ultralytics' fetch write small files."""

    def __init__(self, fail=(), block=False):
        self.fail, self.block, self.calls = set(fail), block, []

    def download(self, name, weights_dir=None, progress=None, cancel=None, warn=None, **kw):
        import models.weights.download as WD
        import models.weights.store as W

        self.calls.append(name)
        if progress:
            progress(5, 10)
        while self.block and not cancel.is_set():
            time.sleep(0.02)
        if self.block:
            raise WD.DownloadCancelled("download cancelled; the partial file is kept for resuming")
        if name in self.fail:
            raise W.WeightsError(f"{name}: Google Drive's download quota for it is exceeded for now")
        d = W.resolve_weights_dir(weights_dir)
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{name}.pth").write_bytes(b"x")
        entry = W.ManifestEntry(name, f"{name}.pth", "cd" * 32, "fake", "2025-01-01T00:00:00+00:00", True)
        W.add_manifest_entry(entry, d)
        progress(10, 10)
        return entry

    def fetch_yolo(self, name, staged):
        self.calls.append(name)
        staged.write_bytes(b"yolo")
        return staged


@pytest.fixture
def fake_defaults(monkeypatch):
    import models.weights.defaults as WDF

    def install(**kw):
        fakes = _FakeDefaults(**kw)
        monkeypatch.setattr(WDF, "download", fakes.download)
        monkeypatch.setattr(WDF, "_fetch_yolo", fakes.fetch_yolo)
        monkeypatch.setattr(WDF, "_check_yolo", lambda path: None)
        return fakes

    return install


def test_get_default_models_reports_per_file(window, qtbot, fake_defaults):
    from gui.controllers.models import DEFAULTS

    fakes = fake_defaults(fail={"convnextpose-xs"})
    tab, reg = window.models_tab, window.registry
    items, progress = [], []
    reg.defaultsItemDone.connect(lambda n, s, d: items.append((n, s)))
    reg.downloadProgress.connect(lambda n, done, total: progress.append(n))
    with qtbot.waitSignal(reg.downloadDone, timeout=30_000) as blocker:
        tab.defaults_button.click()
        assert tab.cancel_button.isEnabled() and not tab.defaults_button.isEnabled()
    assert blocker.args == [DEFAULTS, "failed"]
    assert fakes.calls == ["convnextpose-xs", "rootnet-r50-muco", "yolo11n.pt"]
    qtbot.waitUntil(lambda: len(items) == 3, timeout=5_000)
    assert items == [("convnextpose-xs", "failed"), ("rootnet-r50-muco", "downloaded"), ("yolo11n.pt", "downloaded")]
    assert {"convnextpose-xs", "rootnet-r50-muco"} <= set(progress)
    assert any("convnextpose-xs" in m and "quota" in m for m in window.messages.messages("error"))
    qtbot.waitUntil(lambda: "✓" in tab.table.item(_row(tab, "rootnet-r50-muco"), COL["Weights"]).text(),
                    timeout=20_000)
    assert tab.table.item(_row(tab, "rootnet-r50-muco"), COL["sha256"]).toolTip() == "cd" * 32
    assert not tab.progress.isVisible() and tab.defaults_button.isEnabled()


def test_get_default_models_cancel(window, qtbot, fake_defaults):
    from gui.controllers.models import DEFAULTS

    fakes = fake_defaults(block=True)
    tab, reg = window.models_tab, window.registry
    progress = []
    reg.downloadProgress.connect(lambda n, done, total: progress.append(n))
    with qtbot.waitSignal(reg.downloadDone, timeout=30_000) as blocker:
        tab.defaults_button.click()
        qtbot.waitUntil(lambda: len(progress) >= 1, timeout=10_000)
        tab.cancel_button.click()
    assert blocker.args == [DEFAULTS, "cancelled"]
    assert fakes.calls == ["convnextpose-xs"]  # the rest was not started


def test_models_tab_text_says_each_thing_once_in_gui_words():
    """integral-r50's detail text says its notes once; the GUI never shows a command line."""
    from gui.controllers.models import registry_rows

    for row in registry_rows():
        if row.how_to_get:
            assert "python main.py" not in row.how_to_get and "--url" not in row.how_to_get, row.name
            if row.notes:
                assert row.notes not in row.how_to_get, row.name
    integral = next(r for r in registry_rows() if r.name == "integral-r50")
    assert "Import checkpoint" in integral.how_to_get
