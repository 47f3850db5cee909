"""The Benchmark tab on a synthetic Human3.6M folder: validation, run, cancel, resume, results and exports."""

from __future__ import annotations

import csv
import json

import pytest

pytestmark = pytest.mark.gui

MODEL = "mhp-lpski-w0.5"


@pytest.fixture
def window(benchmark_window):
    return benchmark_window


def test_invalid_folder_lists_errors_and_app_stays_usable(window, qtbot, tmp_path):
    tab = window.benchmark_tab
    bad = tmp_path / "not_h36m"
    (bad / "annotations").mkdir(parents=True)
    (bad / "annotations" / "Human36M_subject9_data.json").write_text("{ not json")
    tab.data_dir.setText(str(bad))
    tab.validate_now()
    qtbot.waitUntil(lambda: tab.errors.isVisible() and "error" in tab.errors.toPlainText().lower(), timeout=20_000)
    assert "Not usable" in tab.validation.text()
    assert any(str(bad) in m for m in window.messages.messages("error"))
    tab.set_models([MODEL])
    tab.run()  # refused with a message, nothing starts
    assert not window.bench.running
    assert any("Cannot run the benchmark" in m for m in window.messages.messages("error"))
    tab.data_dir.setText(str(tmp_path / "missing"))  # another bad folder: still answered
    tab.validate_now()
    qtbot.waitUntil(lambda: "does not exist" in tab.errors.toPlainText(), timeout=20_000)
    window.tabs.setCurrentIndex(0)
    assert window.tabs.currentWidget() is window.live_tab


def test_synthetic_run_cancel_resume_export(window, qtbot, tmp_path):
    import h5py
    from PySide6.QtGui import QImage

    tab, bench = window.benchmark_tab, window.bench
    tab.make_synthetic(str(tmp_path / "h36m"), samples=40)
    qtbot.waitUntil(lambda: tab.data_dir.text() == str(tmp_path / "h36m"), timeout=60_000)
    qtbot.waitUntil(lambda: "Valid" in tab.validation.text(), timeout=30_000)
    tab.set_models([MODEL])
    tab.flip.setChecked(False)
    tab.batch_size.setValue(8)  # 40 samples in 5 batches: a Cancel after the first lands between batches
    tab.out_dir.setText(str(tmp_path / "results"))

    cancels = []

    def cancel_once(p: dict) -> None:
        if p["phase"] == "infer" and p["done"] > 0 and not cancels:
            cancels.append(p["done"])
            tab.cancel_button.click()

    bench.progress.connect(cancel_once)
    with qtbot.waitSignal(bench.cancelled, timeout=120_000) as blocker:
        tab.run()
    stopped = blocker.args[0]
    assert 0 < stopped["done"] < stopped["total"] == 40
    assert tab.resume_button.isEnabled() and tab.progress.value() == stopped["done"]
    bench.progress.disconnect(cancel_once)

    seen = []
    bench.progress.connect(lambda p: seen.append(p["done"]))
    with qtbot.waitSignal(bench.finished, timeout=120_000) as blocker:
        tab.resume_button.click()
    payload = blocker.args[0]
    assert payload["status"] == "finished" and payload["done"] == 40
    assert min(d for d in seen if d > 0) >= stopped["done"]  # resumed, not restarted
    assert tab.table.rowCount() == 1 and tab.table.item(0, 0).text() == MODEL
    assert tab.table.item(0, 1).text() == "UNTRAINED"
    assert float(tab.table.item(0, 3).text()) > 0  # MPJPE
    assert len(tab.action_chart.categories) == 15 and tab.joint_chart.categories

    out = tmp_path / "exports"
    tab.ask_path = lambda kind, suggested: str(out / f"bench.{kind}")
    for kind in ("csv", "json", "markdown", "hdf5", "png"):
        with qtbot.waitSignal(bench.exported, timeout=30_000):
            tab.export_buttons[kind].click()
    rows = list(csv.DictReader((out / "bench.csv").open()))
    assert rows[0]["model"] == MODEL and float(rows[0]["mpjpe_mm"]) > 0
    data = json.loads((out / "bench.json").read_text())
    assert data["models"][0]["model"] == MODEL and data["models"][0]["num_samples"] == 40  # results.json's layout
    assert "MPJPE" in (out / "bench.markdown").read_text()
    with h5py.File(out / "bench.hdf5", "r") as h:
        assert h[MODEL]["joints_cam"].shape[0] == 40
    assert not QImage(str(out / "bench.png")).isNull()
    assert not window.messages.messages("error"), window.messages.messages("error")
