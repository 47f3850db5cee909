"""The desktop app as a user finds it: charts that tell the truth, Resume that does what it says, a window
that fits, no accidental wheel changes, feedback on Cancel / Stop, menus, drops. Real widgets under Xvfb."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import show_main_window

pytestmark = pytest.mark.gui

MODEL = "mhp-lpski-w0.5"


@pytest.fixture
def window(benchmark_window):
    return benchmark_window


def _fake_results():
    from engine.h36m.metrics import ACTIONS

    rng = np.random.default_rng(0)
    per_action = {a: float(v) for a, v in zip(ACTIONS, rng.uniform(398, 407, len(ACTIONS)), strict=True)}
    per_action = dict(sorted(per_action.items()))  # a results.json may list the actions in another order
    joints = {f"J{i}": 100.0 + 70 * i for i in range(17)}  # up to 1220 mm: must not read "kmm"
    d = {"model": "posenet-r50", "label": "posenet-r50", "trained": True, "num_samples": 10, "mpjpe_mm": 402.0,
         "pa_mpjpe_mm": 300.0, "pa_mpjpe_similarity_mm": 250.0, "headline_metric": "mpjpe",
         "labels": {"mpjpe": "MPJPE"}, "per_action_mpjpe_mm": per_action, "per_joint_mpjpe_mm": joints,
         "published": {"metric": "mpjpe", "value": 53.3, "difference_mm": 348.7, "source": "paper"}}
    published = [50.0 + i for i in range(len(ACTIONS))]  # in the engine's ACTIONS order
    return [d], {"posenet-r50": published}, list(ACTIONS)


def _bars(chart):
    import pyqtgraph as pg

    return {it.name(): dict(zip(np.asarray(it.opts["x"]).round(6), np.asarray(it.opts["height"]), strict=True))
            for it in chart.plotItem.items if isinstance(it, pg.BarGraphItem)}


def test_item1_charts_plot_the_results_legend_clear_of_bars_mm_axis(window, qtbot, tmp_path):
    from PySide6.QtGui import QImage

    tab = window.benchmark_tab
    results, published, actions = _fake_results()
    tab.show_results(results, published, actions)
    tab.charts.setCurrentIndex(0)
    qtbot.wait(50)
    chart = tab.action_chart
    bars = _bars(chart)
    ours = [h for _, h in sorted(bars["posenet-r50"].items())]
    pub = [h for _, h in sorted(bars["published posenet-r50"].items())]
    # category i holds action i: our value and the published value of that same action
    np.testing.assert_allclose(ours, [results[0]["per_action_mpjpe_mm"][a] for a in actions])
    np.testing.assert_allclose(pub, published["posenet-r50"])
    assert chart.categories == actions
    vb = chart.plotItem.getViewBox()
    assert not chart.legend.sceneBoundingRect().intersects(vb.sceneBoundingRect()), "legend covers the bars"
    top = vb.viewRange()[1][1]
    assert top >= max(ours) * 1.02  # every bar top is inside the view
    label = tab.joint_chart.getAxis("left").labelString()
    assert "kmm" not in label and "(mm)" in label
    assert max(h for v in _bars(tab.joint_chart).values() for h in v.values()) > 1000

    # the PNG export is the chart as shown (published bars included), not the engine's older plot
    png = tmp_path / "chart.png"
    tab.results.write_chart_pngs(str(png))
    img = QImage(str(png))
    assert not img.isNull() and img.width() >= 1000
    assert (tmp_path / "chart_per_joint.png").is_file()
    grey = img.pixelColor(0, 0)  # the published bars' grey is drawn somewhere in the export
    found = any(img.pixelColor(x, y).name() == "#9c9c9c" for x in range(0, img.width(), 3)
                for y in range(0, img.height(), 7))
    assert found, grey.name()


def test_item12_results_table_has_no_duplicate_ours_column_and_dialog_title_fits(window):
    tab = window.benchmark_tab
    results, published, actions = _fake_results()
    tab.show_results(results, published, actions)
    headers = [tab.table.horizontalHeaderItem(c).text() for c in range(tab.table.columnCount())]
    assert "Ours" not in headers
    cells = [tab.table.item(0, c).text() for c in range(tab.table.columnCount())]
    assert cells.count("402.00") == 1  # MPJPE shown once
    dlg = tab.synthetic_dialog()
    assert dlg.minimumWidth() >= dlg.fontMetrics().horizontalAdvance(dlg.windowTitle()) + 150


def _synthetic(path, samples=40):
    from engine.h36m.synthetic import generate

    return str(generate(str(path), samples=samples).root)


def test_item2_8_resume_says_and_runs_what_the_form_shows_cancel_feedback(window, qtbot, tmp_path, monkeypatch):
    from dataclasses import replace

    tab, bench = window.benchmark_tab, window.bench
    # in-process loading: this test is about the form and the buttons; test_gui_benchmark runs the GUI's benchmark
    # with its loader worker processes, cancel and resume included
    run = bench.run
    monkeypatch.setattr(bench, "run", lambda s: run(replace(s, num_workers=0)))
    tab.data_dir.setText(_synthetic(tmp_path / "h36m"))
    tab.validate_now()
    qtbot.waitUntil(lambda: "Valid" in tab.validation.text(), timeout=30_000)
    tab.set_models([MODEL])
    tab.flip.setChecked(False)
    tab.batch_size.setValue(8)
    tab.out_dir.setText(str(tmp_path / "results"))
    feedback = []

    def cancel_once(p: dict) -> None:
        if p["phase"] == "infer" and p["done"] > 0 and not feedback:
            tab.cancel_button.click()
            feedback.append((tab.cancel_button.text(), tab.cancel_button.isEnabled()))

    bench.progress.connect(cancel_once)
    with qtbot.waitSignal(bench.cancelled, timeout=120_000):
        tab.run()
    bench.progress.disconnect(cancel_once)
    assert feedback[0] == ("Cancelling…", False)  # answered at once, not after the batch
    assert tab.cancel_button.text() == "Cancel"
    assert tab.resume_button.isEnabled() and "Protocol 2" in tab.resume_button.toolTip()

    tab.protocol.setCurrentIndex(tab.protocol.findData(1))  # the form now says something else
    tab.root.setCurrentIndex(tab.root.findData("rootnet"))
    with qtbot.waitSignal(bench.finished, timeout=120_000) as blocker:
        tab.resume_button.click()
        assert tab.protocol.currentData() == 2 and tab.root.currentData() == "gt"  # the form shows what runs
    assert blocker.args[0]["results"][0]["protocol"] == 2
    assert any("resum" in m.lower() and "Protocol 2" in m for m in window.messages.messages())
    assert not tab.resume_button.isEnabled()


def test_item3_reopen_validates_refuses_bad_folders_and_finds_unfinished_runs(qtbot, tmp_path, monkeypatch):
    from gui import settings
    from gui.main_window import MainWindow

    monkeypatch.setenv("POSEARENA_HOME", str(tmp_path / "home"))
    data = _synthetic(tmp_path / "h36m", samples=20)
    out = tmp_path / "results"
    part = out / ".partial" / "abcd"
    part.mkdir(parents=True)
    fp = {"data_dir": data, "protocol": 2, "root": "gt", "flip": False, "limit": None,
          "models": [{"name": MODEL, "trained": False, "sha256": None}]}
    (part / "state.json").write_text(json.dumps({"config_hash": "abcd", "fingerprint": fp, "total": 20,
                                                 "status": "running"}))
    settings.put("bench/data_dir", data)
    settings.put("bench/out_dir", str(out))
    w = MainWindow(autostart=False)
    qtbot.addWidget(w)
    tab = w.benchmark_tab
    qtbot.waitUntil(lambda: "Valid" in tab.validation.text(), timeout=30_000)  # checked without user action
    assert tab.resume_button.isEnabled() and MODEL in tab.resume_button.toolTip()
    w.persist_settings = False
    w.close()

    bad = tmp_path / "bad"
    (bad / "annotations").mkdir(parents=True)
    settings.put("bench/data_dir", str(bad))
    finished = tmp_path / "finished"
    finished.mkdir()
    (finished / "run.json").write_text(json.dumps({"status": "finished", "config": {
        "data_dir": data, "protocol": 1, "root": "gt", "flip": True, "limit": None, "models": ["posenet-r50"]}}))
    settings.put("bench/out_dir", str(finished))
    w2 = MainWindow(autostart=False)
    qtbot.addWidget(w2)
    tab = w2.benchmark_tab
    qtbot.waitUntil(lambda: "Not usable" in tab.validation.text(), timeout=30_000)
    assert not tab.resume_button.isEnabled()
    qtbot.waitUntil(lambda: tab.model_list.count() > 0, timeout=30_000)
    tab.set_models([MODEL])
    tab.run()
    assert not w2.bench.running
    err = w2.messages.messages("error")[-1]
    assert "errors" in err
    tab.data_dir.setText(data)
    tab.validate_now()
    qtbot.waitUntil(lambda: "Valid" in tab.validation.text(), timeout=30_000)
    tab.run()
    assert not w2.bench.running
    err = w2.messages.messages("error")[-1]
    assert "Overwrite other results" in err and "--out" not in err
    w2.persist_settings = False
    w2.close()


@pytest.fixture
def live_window(qtbot, tmp_path, monkeypatch):
    import torch

    torch.set_num_threads(1)
    w = show_main_window(qtbot, tmp_path, monkeypatch, lambda w: w.live_tab.model_list.count() > 0, source="demo",
                         models=[MODEL])
    yield w
    w.close()


def test_item4_failed_start_clears_the_previous_run_and_bad_calibration_is_refused(live_window, qtbot, tmp_path):
    from gui.view_grid import ViewInfo

    win = live_window
    tab, live = win.live_tab, win.live
    calib = tmp_path / "cam.json"
    calib.write_text('{"fx": "abc", "fy": 800, "cx": 320, "cy": 240}')
    assert tab._set_calibration(str(calib)) is False
    assert "Assumed" in tab.intrinsics_label.text() and tab.hfov.isEnabled()
    assert any("cam.json" in m for m in win.messages.messages("error"))

    tab.grid.set_views([ViewInfo(MODEL, "h36m18", MODEL, False)])  # what an earlier run left
    tab.latency.setRowCount(4)
    tab.set_source(str(tmp_path / "missing.mp4"))
    tab.start()
    qtbot.waitUntil(lambda: live.state == "idle" and bool(win.messages.messages("error")[1:]), timeout=60_000)
    assert tab.latency.rowCount() == 0 and not tab.grid.views
    assert tab.video.placeholder.startswith("Could not start")
    assert tab.run_button.text().startswith("Start")


def test_item5_8_source_locked_while_live_and_ctrl_r_while_stopping_is_queued(live_window, qtbot, monkeypatch):
    tab, live = live_window.live_tab, live_window.live
    live._set_state("running")
    try:
        assert tab.source_buttons and not any(b.isEnabled() for b in tab.source_buttons)
        before = tab.source_spec()
        assert tab.open_source("/some/other.mp4") is False
        assert tab.source_spec() == before
        live._set_state("stopping")
        started = []
        monkeypatch.setattr(tab, "start", lambda: started.append(True))
        tab.toggle_run()  # Ctrl+R while stopping
        assert "again" in tab.run_button.text()
        assert any("starts again" in m for m in live_window.messages.messages())
    finally:
        live._set_state("idle")
    qtbot.waitUntil(lambda: bool(started), timeout=2_000)
    assert all(b.isEnabled() for b in tab.source_buttons)


def test_item8_gui_batch_is_small_on_a_cpu():
    import torch

    from gui.controllers.benchmark import CPU_BATCH, gui_default_batch

    if not torch.cuda.is_available():
        assert gui_default_batch() == CPU_BATCH <= 4


def test_item7_wheel_over_an_unfocused_box_keeps_its_value(live_window, qtbot):
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    tab = live_window.live_tab
    tab.run_button.setFocus()

    def wheel(w, dy=-120):
        ev = QWheelEvent(QPointF(5, 5), QPointF(w.mapToGlobal(QPoint(5, 5))), QPoint(0, 0), QPoint(0, dy),
                         Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(w, ev)

    tab.placement.setCurrentIndex(0)
    value = tab.imgsz.value()
    for _ in range(3):
        wheel(tab.placement)
        wheel(tab.imgsz)
        wheel(tab.imgsz.lineEdit() if hasattr(tab.imgsz, "lineEdit") else tab.imgsz)
    assert tab.placement.currentIndex() == 0
    assert tab.imgsz.value() == value
    assert not tab.imgsz.hasFocus()


def test_item6_geometry_restored_window_fits_small_sizes_usable(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import Qt

    from gui.app import prepare_window
    from gui.main_window import MainWindow

    monkeypatch.setenv("POSEARENA_HOME", str(tmp_path / "home"))
    w = MainWindow(autostart=False)
    qtbot.addWidget(w)
    prepare_window(w)
    assert not w.geometry_restored
    w.show()
    qtbot.waitExposed(w)
    avail = w.screen().availableGeometry()
    assert avail.contains(w.frameGeometry()), (w.frameGeometry(), avail)  # nothing off screen, status bar visible
    w.resize(800, 600)
    qtbot.waitUntil(lambda: w.width() == 800 and w.height() == 600, timeout=3_000)
    w.resize(1024, 640)
    w.tabs.setCurrentWidget(w.benchmark_tab)
    qtbot.wait(200)
    tab = w.benchmark_tab
    assert tab.action_chart.height() >= 150, tab.action_chart.height()
    assert tab.table.viewport().height() >= 3 * tab.table.verticalHeader().defaultSectionSize()
    w.resize(940, 610)
    w.resizeDocks([w.messages_dock], [160], Qt.Orientation.Vertical)
    qtbot.wait(100)
    dock_h = w.messages_dock.height()
    w.close()

    w2 = MainWindow(autostart=False)
    qtbot.addWidget(w2)
    prepare_window(w2)
    assert w2.geometry_restored
    w2.show()
    qtbot.waitExposed(w2)
    assert (w2.width(), w2.height()) == (940, 610)  # the saved size, not 1280x800
    assert abs(w2.messages_dock.height() - dock_h) <= 8  # the Messages panel keeps its size
    w2.persist_settings = False
    w2.close()


def test_item9_open_folder_without_a_launcher_shows_the_path_with_copy(qtbot, tmp_path, monkeypatch):
    from PySide6.QtGui import QGuiApplication

    import gui.open_folder as of

    monkeypatch.setattr(of, "_launch", lambda url: False)
    dlg = of.open_folder(str(tmp_path))
    qtbot.addWidget(dlg)
    assert dlg.isVisible() and dlg.path_edit.text() == str(tmp_path)
    dlg.copy_button.click()
    assert QGuiApplication.clipboard().text() == str(tmp_path)
    monkeypatch.setattr(of, "_launch", lambda url: True)
    assert of.open_folder(str(tmp_path)) is None


def test_item10_menus_about_drops_last_folder_steady_form(window, qtbot, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    from gui import settings
    from gui.menus import about_text, shortcuts_text

    titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert titles == ["File", "View", "Help"]
    assert "Ctrl+R" in shortcuts_text(window) and "Ctrl+E" in shortcuts_text(window)
    about = about_text()
    assert "MIT" in about and "AGPL" in about and "LGPL" in about and "python" in about

    settings.remember_dir(tmp_path / "file.mp4")
    assert settings.last_dir() == str(tmp_path)

    tab = window.benchmark_tab
    h0 = tab.validation.height()
    tab.validation.setText("✗ Not usable: " + "a long reason that wraps " * 12)
    qtbot.wait(50)
    assert tab.validation.height() == h0  # the form below does not move

    video = tmp_path / "clip.mp4"
    video.write_bytes(b"")
    data = tmp_path / "ds"
    (data / "annotations").mkdir(parents=True)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(video)), QUrl.fromLocalFile(str(data))])
    ev = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    window.dropEvent(ev)
    assert window.live_tab.source_spec() == str(video)
    assert window.benchmark_tab.data_dir.text() == str(data)
    assert window.tabs.currentWidget() is window.benchmark_tab
