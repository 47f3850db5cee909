"""The main window live on the demo video with two random-weight models, rendered for real under Xvfb."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import show_main_window

try:  # triton (pulled in via ultralytics) must be imported before the first GL context exists
    import ultralytics  # noqa: F401
except Exception:  # noqa: BLE001
    pass

pytestmark = pytest.mark.gui

MODELS = ["mhp-lpski-w0.5", "convnextpose-xs"]


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    import torch

    torch.set_num_threads(1)
    w = show_main_window(qtbot, tmp_path, monkeypatch, lambda w: w.live_tab.model_list.count() > 0, source="demo",
                         models=MODELS)
    yield w
    w.close()


def _changed(a: np.ndarray, b: np.ndarray) -> int:
    return int((np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=-1) > 8).sum())


def test_live_demo_renders_both_views(window, qtbot, tmp_path):
    from PySide6.QtCore import Qt

    from gui.skeleton_view import BACKGROUND, camera_mm_to_gl

    tab, live = window.live_tab, window.live
    assert tab.selected_models() == MODELS
    tab.start()
    qtbot.waitUntil(lambda: live.running, timeout=60_000)
    views = tab.grid.views
    assert set(views) == set(MODELS)
    qtbot.waitUntil(lambda: all(v.frames_drawn >= 2 for v in views.values()), timeout=30_000)

    first = {n: v.framebuffer() for n, v in views.items()}
    counts = {n: v.frames_drawn for n, v in views.items()}
    for n, img in first.items():
        assert img.std() > 3, f"{n}: blank view"
        assert (np.abs(img.astype(int) - np.array(BACKGROUND)).max(axis=-1) > 30).sum() > 200, f"{n}: nothing drawn"
        assert "UNTRAINED" in views[n].title_text()  # random weights are always labelled
    qtbot.waitUntil(lambda: all(v.frames_drawn >= counts[n] + 3 for n, v in views.items()), timeout=30_000)
    for n, v in views.items():
        assert _changed(first[n], v.framebuffer()) > 20, f"{n}: the view did not change over time"

    # the drawn joints are the engine's: scatter positions equal the converted root-relative joints of the frame
    frame = tab.grid.last_frame
    for n, v in views.items():
        rel = frame.models[n].joints_rel_mm
        assert rel is not None and len(rel) >= 1
        if len(rel) == 1:
            expected = camera_mm_to_gl(rel[0]) - camera_mm_to_gl(rel[0])[v.joints.root]
            np.testing.assert_allclose(v._persons[0].points.pos, expected, atol=1e-4)
    assert tab.video.frames_shown > 0

    # linked cameras in the real window
    a, b = views[MODELS[0]].gl, views[MODELS[1]].gl
    a.orbit(35, 12)
    assert b.camera_state()["azimuth"] == pytest.approx(a.camera_state()["azimuth"])
    assert b.camera_state()["elevation"] == pytest.approx(a.camera_state()["elevation"])

    # statistics reach the latency table and the status bar
    qtbot.waitUntil(lambda: tab.latency.rowCount() > 3, timeout=5_000)
    stages = [tab.latency.item(r, 0).text() for r in range(tab.latency.rowCount())]
    assert "end-to-end" in stages and MODELS[0] in stages
    assert "FPS" in window.status_label.text()

    # record while running (Ctrl+E), then stop; the HDF5 file is complete and holds frames
    rec = tmp_path / "rec.h5"
    tab.record_path.setText(str(rec))
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)  # window shortcuts need the active window
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: live.recording or bool(window.messages.messages("error")), timeout=10_000)
    assert live.recording, window.messages.messages()
    n0 = live.frames_received
    qtbot.waitUntil(lambda: live.frames_received >= n0 + 3, timeout=30_000)
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: any("Recording saved" in m for m in window.messages.messages()), timeout=10_000)
    import h5py

    with h5py.File(rec, "r") as h:
        assert bool(h.attrs["complete"]) and h["frames/frame_id"].shape[0] >= 1
        assert set(MODELS) <= set(h["models"].keys())

    # Ctrl+R stops; the window stays usable
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: live.state == "idle", timeout=15_000)
    assert tab.run_button.isEnabled() and tab.run_button.text().startswith("Start")
    assert not window.messages.messages("error"), window.messages.messages("error")


def test_bad_source_is_a_message_not_a_crash(window, qtbot):
    tab, live = window.live_tab, window.live
    tab.set_source("/nonexistent/clip.mp4")
    tab.set_models(["mhp-lpski-w0.5"])
    tab.start()
    qtbot.waitUntil(lambda: any("clip.mp4" in m for m in window.messages.messages("error")), timeout=60_000)
    qtbot.waitUntil(lambda: live.state == "idle", timeout=5_000)
    assert "clip.mp4" in window.status_label.text()
    assert tab.run_button.isEnabled()
    window.tabs.setCurrentIndex(2)  # still responsive
    assert window.tabs.currentWidget() is window.models_tab


def test_settings_are_remembered(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("POSEARENA_HOME", str(tmp_path / "home"))
    from gui.main_window import MainWindow

    w = MainWindow(autostart=False)
    qtbot.addWidget(w)
    w.live_tab.imgsz.setValue(416)
    w.live_tab.smoothing.setChecked(False)
    w.live_tab.set_source("/some/video.mp4")
    w.close()
    assert (tmp_path / "home" / "gui.ini").is_file()
    w2 = MainWindow(autostart=False)
    qtbot.addWidget(w2)
    assert w2.live_tab.imgsz.value() == 416
    assert not w2.live_tab.smoothing.isChecked()
    assert w2.live_tab.source_spec() == "/some/video.mp4"
    w2.close()


def test_widgets_do_not_import_torch():
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = ("import sys; import gui.main_window, gui.live_tab, gui.benchmark_tab, gui.models_tab; "
            "print(sorted(m for m in ('torch', 'engine.live.engine', 'ultralytics') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_screenshot_command(tmp_path):
    """python main.py --screenshot: runs the live tab, writes the PNG, exits 0 (DISPLAY comes from pytest-xvfb)."""
    import os
    import subprocess
    import sys

    from PySide6.QtGui import QImage

    from tests.conftest import ROOT

    shot = tmp_path / "shot.png"
    env = {**os.environ, "POSEARENA_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "main.py", "--screenshot", str(shot), "--models", ",".join(MODELS),
                          "--after", "4"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    img = QImage(str(shot))
    assert not img.isNull() and img.width() >= 1000 and img.height() >= 600
    assert not (tmp_path / "home" / "gui.ini").exists() or "live" not in (tmp_path / "home" / "gui.ini").read_text()


def test_intrinsics_default_is_shown_and_a_calibration_file_is_passed_to_the_engine(window, qtbot, tmp_path,
                                                                                    monkeypatch):
    tab = window.live_tab
    assert "Assumed 60° horizontal FOV" in tab.intrinsics_label.text()
    calib = tmp_path / "cam.json"
    calib.write_text('{"fx": 800, "fy": 800, "cx": 320, "cy": 240}')
    tab._set_calibration(str(calib))
    assert str(calib) in tab.intrinsics_label.text() and not tab.hfov.isEnabled()
    sent = []
    monkeypatch.setattr(tab.live, "start", sent.append)
    tab.start()
    qtbot.waitUntil(lambda: bool(sent), timeout=20_000)
    assert sent[0].extra["intrinsics"] == str(calib) and sent[0].extra["hfov_deg"] == 60.0
