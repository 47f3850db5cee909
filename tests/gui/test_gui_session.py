"""The desktop app over a session: every frame of a folder recorded, wheel-safe boxes, honest root-depth words.
Real widgets under Xvfb."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import show_main_window
from tests.gui.test_gui_playback import recording  # noqa: F401  (the Playback fixture)

try:  # triton (pulled in via ultralytics) must be imported before the first GL context exists
    import ultralytics  # noqa: F401
except Exception:  # noqa: BLE001
    pass

pytestmark = pytest.mark.gui

MODEL = "mhp-lpski-w0.5"


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    import torch

    torch.set_num_threads(1)
    w = show_main_window(qtbot, tmp_path, monkeypatch, lambda w: w.live_tab.model_list.count() > 0, source="demo",
                         models=[MODEL])
    yield w
    w.close()


def _image_folder(path, n: int):
    import cv2

    path.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        cv2.imwrite(str(path / f"img_{i:03d}.jpg"), rng.integers(0, 255, (96, 128, 3), dtype=np.uint8))
    return path


def test_every_image_of_a_folder_is_processed_and_recorded(window, qtbot, tmp_path):
    import h5py

    tab, live = window.live_tab, window.live
    assert not tab.realtime.isChecked()  # every frame unless real-time pacing is asked for
    tab.set_source(str(_image_folder(tmp_path / "imgs", 30)))
    rec = tmp_path / "folder.h5"
    tab.record_path.setText(str(rec))
    tab.record_button.setChecked(True)
    tab.start()
    qtbot.waitUntil(lambda: live.state == "idle" and rec.exists(), timeout=180_000)
    with h5py.File(rec, "r") as h:
        assert bool(h.attrs["complete"])
        assert h["frames/frame_id"].shape[0] == 30


def test_real_time_pacing_is_passed_to_the_engine(window, monkeypatch):
    tab = window.live_tab
    seen = []
    monkeypatch.setattr(window.live, "start", lambda s: seen.append(s.realtime))
    tab.realtime.setChecked(True)
    tab.start()
    tab.realtime.setChecked(False)
    tab.start()
    assert seen == [True, None]  # None: files every frame, the demo paced like a camera


def test_no_guarded_box_takes_focus_from_the_wheel(window):
    """Qt focuses a wheel-focus box before any event filter sees a real wheel event: none may have that policy."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QWidget

    from gui.wheel_guard import GUARDED

    window.tabs.setCurrentWidget(window.live_tab)
    boxes = [w for w in window.findChildren(QWidget) if isinstance(w, GUARDED) and w.isVisible()]
    assert window.live_tab.placement in boxes and window.live_tab.imgsz in boxes
    assert [w.objectName() or type(w).__name__ for w in boxes
            if w.focusPolicy() == Qt.FocusPolicy.WheelFocus] == []


def test_the_3d_caption_says_the_frames_placement_not_the_predictors():
    """The predictor says "given" for every model fed a held depth; the frame says whether RootNet placed it."""
    from types import SimpleNamespace

    from gui.controllers.live import to_live_frame

    z = np.zeros((1, 17, 3), np.float32)
    out = SimpleNamespace(joint_set="h36m17", joints_2d=z[..., :2], joints_rel_mm=z, joints_cam_mm=z,
                          latency_ms=3.0, root_source="given")
    result = SimpleNamespace(outputs={"a": out, "b": out}, smoothed={}, labels={}, untrained=(), latencies_ms={},
                             placement={"a": "placed by RootNet", "b": "self-placed from metric 3D"},
                             root_source="placed by RootNet", track_ids=np.array([0]), image=None,
                             boxes=np.zeros((1, 4)), fps=10.0, frame_id=1)
    frame = to_live_frame(result, 1, smoothed=False)
    assert frame.models["a"].placement == "placed by RootNet"
    assert frame.models["b"].placement == "self-placed from metric 3D"


def test_a_fixed_depth_without_rootnet_weights_is_information_not_a_warning(window, qtbot):
    tab, live = window.live_tab, window.live
    tab.set_models(["blazepose-full"])
    tab.rootnet.setChecked(True)  # no RootNet weights in the test's home folder
    tab.start()
    qtbot.waitUntil(lambda: live.running or live.state == "idle", timeout=60_000)
    qtbot.waitUntil(lambda: live.frames_received >= 2, timeout=60_000)
    warnings = window.messages.messages("warning")
    assert not [m for m in warnings if "depth fixed" in m or "placed by" in m], warnings
    assert any("fixed" in m and "depth" in m for m in window.messages.messages("info"))
    live.stop()
    qtbot.waitUntil(lambda: live.state == "idle", timeout=15_000)


def test_the_window_is_shown_before_the_heavy_libraries_load(tmp_path):
    """Launch shows the window first; torch and the models load behind it (a subprocess: a fresh interpreter)."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = """
import argparse, sys
import gui.app as app
seen = []
def heavy(between=lambda: None):
    from PySide6.QtWidgets import QApplication
    seen.append([w.isVisible() for w in QApplication.topLevelWidgets() if type(w).__name__ == 'MainWindow'])
    QApplication.instance().closeAllWindows()
app._preimport_heavy = heavy
app.run_gui(argparse.Namespace(source=None, models=None, idle=True, screenshot=None, after=0.0))
print(seen)
"""
    env = {**os.environ, "POSEARENA_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[[True]]"


def test_the_benchmark_run_button_is_in_view_at_1024x640(benchmark_window, qtbot):
    from PySide6.QtCore import QPoint, QRect

    w = benchmark_window
    w.resize(1024, 640)
    qtbot.waitUntil(lambda: w.width() == 1024, timeout=3_000)
    qtbot.wait(200)
    tab = w.benchmark_tab
    for b in (tab.run_button, tab.cancel_button, tab.resume_button):
        top_left = b.mapTo(w, QPoint(0, 0))
        assert b.isVisible() and not b.visibleRegion().isEmpty(), b.text()
        assert QRect(0, 0, w.width(), w.height()).contains(QRect(top_left, b.size())), b.text()
        assert b.visibleRegion().boundingRect().size() == b.size(), b.text()  # not clipped by a scroll area


def test_messages_name_no_internal_class_and_the_status_shows_the_newest(qapp):
    import cv2

    from gui.workers import readable_error
    from models.errors import PoseArenaError

    class CheckpointError(PoseArenaError):
        pass

    assert readable_error(CheckpointError("/w/a.pth: not a checkpoint")) == "/w/a.pth: not a checkpoint"
    assert readable_error(FileNotFoundError(2, "No such file or directory", "/x.mp4")).startswith("[Errno 2]")
    try:
        cv2.cvtColor(np.zeros((2, 2, 5), np.uint8), cv2.COLOR_BGR2GRAY)
    except cv2.error as exc:
        text = readable_error(exc)
        assert "OpenCV(" not in text and ".cpp" not in text and "error:" not in text, text
    assert readable_error(AttributeError("x")) == "AttributeError: x"  # a bug keeps its name


def test_the_status_bar_drops_an_old_error_after_a_success(window):
    window.post("error", "Could not start: /x.mp4: no such file")
    assert window.status_label.text().startswith("Error:")
    window.post("info", "Live view stopped.")
    assert window.status_label.text() == "Live view stopped."


def test_a_remembered_source_that_failed_is_not_retried_at_launch(window, qtbot, tmp_path):
    tab, live = window.live_tab, window.live
    assert tab.may_autostart()
    tab.set_source(str(tmp_path / "gone.mp4"))
    tab.start()
    qtbot.waitUntil(lambda: live.state == "idle" and bool(window.messages.messages("error")), timeout=60_000)
    window.close()  # settings saved: the failed source is the remembered one
    from gui.main_window import MainWindow

    again = MainWindow(autostart=False)
    qtbot.addWidget(again)
    assert again.live_tab.source_spec() == str(tmp_path / "gone.mp4")
    assert not again.live_tab.may_autostart()
    assert any("gone.mp4" in m for m in again.messages.messages("info"))
    again.close()


def test_a_finished_benchmark_is_shown_again_after_a_restart(qtbot, tmp_path, monkeypatch):
    import json

    from tests.gui.test_gui_usability import _fake_results

    out = tmp_path / "results"
    (out / "posenet-r50").mkdir(parents=True)
    results, _, _ = _fake_results()
    results[0].update(protocol=2, root="gt")
    (out / "posenet-r50" / "results.json").write_text(json.dumps(results[0]))
    (out / "run.json").write_text(json.dumps({"status": "finished", "num_samples": 10, "summary": "done",
                                              "models": [{"name": "posenet-r50", "folder": "posenet-r50"}]}))
    monkeypatch.setenv("POSEARENA_HOME", str(tmp_path / "home"))
    from gui import settings

    settings.put("bench/out_dir", str(out))
    w = show_main_window(qtbot, tmp_path, monkeypatch, lambda w: w.benchmark_tab.table.rowCount() > 0,
                         tab="benchmark_tab")
    assert w.benchmark_tab.table.item(0, 0).text() == "posenet-r50"
    assert w.bench.last_result is not None  # exports work on it
    w.close()


def test_playback_has_its_own_empty_state_and_draws_frame_1_when_shown(window, qtbot, recording):  # noqa: F811
    from gui.live_tab import LiveTab

    window.tabs.setCurrentWidget(window.live_tab)
    pb = window.playback_tab
    live_hints = (window.live_tab.video.placeholder, window.live_tab.grid._placeholder.text())
    assert pb.video.placeholder not in live_hints and pb.views._placeholder.text() not in live_hints
    assert isinstance(window.live_tab, LiveTab)
    path, _clip = recording
    assert pb.open_recording(str(path))  # opened while another tab is shown (e.g. dropped on the window)
    window.tabs.setCurrentWidget(pb)
    qtbot.waitUntil(lambda: all(v.frames_drawn >= 1 for v in pb.views.views.values()), timeout=5_000)
    assert pb.ctl.index == 0


def test_results_on_a_synthetic_dataset_say_so_everywhere(benchmark_window, qtbot, tmp_path):
    import json

    from engine.h36m.synthetic import generate

    w, tab = benchmark_window, benchmark_window.benchmark_tab
    data = generate(tmp_path / "h36m", samples=16).root
    tab.data_dir.setText(str(data))
    tab.validate_now()
    qtbot.waitUntil(lambda: "Valid" in tab.validation.text(), timeout=60_000)
    tab.set_models([MODEL])
    tab.flip.setChecked(False)
    tab.batch_size.setValue(8)
    out = tmp_path / "results"
    tab.out_dir.setText(str(out))
    with qtbot.waitSignal(w.bench.finished, timeout=300_000):
        tab.run()
    res = json.loads((out / MODEL / "results.json").read_text())
    assert "synthetic" in res["test_set"] and "synthetic" in res["labels"]["mpjpe"]
    assert "synthetic" in (out / "report.md").read_text().split("## Totals")[0]
    assert "synthetic" in tab.action_chart.plotItem.titleLabel.text
    assert "synthetic" in tab.summary.toPlainText()


def test_trained_models_first_untrained_grouped_asked_once_and_ticks_while_running_say_so(window, qtbot):
    from PySide6.QtCore import Qt

    from gui.live_models import is_group

    tab = window.live_tab
    lst = tab.model_list
    items = [lst.item(i) for i in range(lst.count())]
    header = next(i for i, it in enumerate(items) if is_group(it))
    names = [it.data(Qt.ItemDataRole.UserRole) for it in items]
    assert all(tab._rows[n].has_weights for n in names[:header])  # trained first
    assert names[:header] and all(not tab._rows[n].has_weights for n in names[header + 1:])
    hidden = [it for it in items[header + 1:] if it.isHidden()]
    assert hidden and all(it.checkState() != Qt.CheckState.Checked for it in hidden)  # collapsed, ticked shown
    tab._on_model_clicked(items[header])
    assert not any(it.isHidden() for it in items[header + 1:])

    asked = []
    tab.ticks.ask = lambda _p, name: asked.append(name) or True
    for it in [it for it in items[header + 1:] if it.checkState() != Qt.CheckState.Checked][:2]:
        it.setCheckState(Qt.CheckState.Checked)
    assert len(asked) == 1  # once per session

    tab.live._set_state("running")
    try:
        assert lst.isEnabled()
        items[0].setCheckState(Qt.CheckState.Unchecked if items[0].checkState() == Qt.CheckState.Checked
                               else Qt.CheckState.Checked)
        assert any("restart" in m for m in window.messages.messages("info"))
    finally:
        tab.live._set_state("idle")


def test_compare_ranks_only_two_usable_models_and_never_greens_a_collapsed_pair(qtbot):
    from engine.compare import CompareAccumulator
    from engine.compare import ModelFrame as CompareFrame
    from engine.live.engine import ModelInfo
    from gui.compare_panel import ComparePanel
    from models.joints import H36M18
    from tests.engine.compare.test_compare_metrics import project

    infos = [ModelInfo(n, f"{n} (untrained weights)", False, "h36m18", H36M18.names, H36M18.root)
             for n in ("u1", "u2")]
    acc = CompareAccumulator(infos)
    rng = np.random.default_rng(2)
    for i in range(40):
        fr = {}
        for k, n in enumerate(("u1", "u2")):
            s = rng.normal(0, 1.0, (1, 18, 3)) + [0, 0, 3000]  # both collapsed: they "agree" to a millimetre
            fr[n] = CompareFrame([1], s, project(s), s, 10.0 + k)
        acc.update(i / 30.0, fr)
    panel = ComparePanel()
    qtbot.addWidget(panel)
    panel.show_snapshot(acc.snapshot())
    assert "Steadiest" not in panel.verdict.text() and "Nothing to rank" in panel.verdict.text()
    bg = panel.matrix.item(0, 1).background()
    assert bg.style() == 0 or bg.color().hsvHueF() < 0.2  # no green (agreeing) colour
    panel.highlight_box.setChecked(True)
    assert "no joints to mark" in panel.verdict.text()

    single = CompareAccumulator(infos[:1])
    for i in range(20):
        s = rng.normal(0, 30.0, (1, 18, 3)) + [0, 0, 3000]
        single.update(i / 30.0, {"u1": CompareFrame([1], s, project(s), s, 10.0)})
    panel.show_snapshot(single.snapshot())
    assert "Steadiest" not in panel.verdict.text()


def test_about_lists_the_bundled_weights_with_their_sha256():
    import hashlib

    from assets import asset_path
    from gui.menus import about_text

    text = about_text()
    assert "No model weights are bundled" not in text
    f = asset_path("blazepose", "pose_landmark_full.tflite")
    assert "blazepose/pose_landmark_full.tflite" in text
    assert hashlib.sha256(f.read_bytes()).hexdigest() in text


def test_an_export_follows_the_typed_extension_and_dialogs_start_in_the_last_folder(qapp, tmp_path, monkeypatch):
    monkeypatch.setenv("POSEARENA_HOME", str(tmp_path / "home"))
    from gui import settings
    from gui.controllers.playback import EXPORT_SUFFIX
    from gui.export_paths import resolve_export, suggested_path

    assert resolve_export("/d/walk.csv", "trc", EXPORT_SUFFIX) == ("csv", "/d/walk.csv")
    assert resolve_export("/d/walk", "trc", EXPORT_SUFFIX) == ("trc", "/d/walk.trc")
    assert resolve_export("/d/walk.v2", "c3d", EXPORT_SUFFIX) == ("c3d", "/d/walk.v2.c3d")
    assert suggested_path("results.json").startswith(str(settings.last_dir()))
    settings.remember_dir(tmp_path / "x.h5")
    assert suggested_path("results.json") == str(tmp_path / "results.json")


def test_the_playback_tab_writes_the_format_its_extension_names(window, qtbot, recording, tmp_path):  # noqa: F811
    path, _clip = recording
    pb = window.playback_tab
    assert pb.open_recording(str(path))
    dest = tmp_path / "out.csv"
    w = pb.export("trc", str(dest))  # TRC chosen in the box, ".csv" typed: a CSV is written
    qtbot.waitUntil(lambda: not w.isRunning(), timeout=30_000)
    qtbot.waitUntil(lambda: any("Exported" in m for m in window.messages.messages()), timeout=10_000)
    head = next(p for p in tmp_path.iterdir() if p.name.startswith("out") and p.suffix == ".csv").read_text()[:200]
    assert "PathFileType" not in head  # not TRC content


def test_a_recording_with_an_unknown_joint_set_is_a_message_not_a_crash(window, qtbot, recording):  # noqa: F811
    import h5py

    path, _clip = recording
    with h5py.File(path, "r+") as h:
        h["models/mhp-lpski"].attrs["joint_set"] = "coco133"
    pb = window.playback_tab
    assert pb.open_recording(str(path))
    window.tabs.setCurrentWidget(pb)
    qtbot.waitUntil(lambda: all(v.frames_drawn >= 1 for v in pb.views.views.values()), timeout=5_000)
    assert list(pb.views.views) == ["posenet-r50"]
    pb.ctl.step(1)
    warnings = window.messages.messages("warning")
    assert any("coco133" in m and "session.h5" in m for m in warnings), warnings
    assert not [m for m in window.messages.messages("error") if "Unexpected" in m]


def test_the_maximized_state_and_an_aligned_shortcut_list(window, qtbot):
    from gui import settings
    from gui.menus import shortcuts_text

    text = shortcuts_text(window)
    assert text.startswith("<table>") and "Ctrl+R" in text  # columns as a table, not padded spaces
    window.showMaximized()
    qtbot.wait(100)
    window.save_settings()
    assert settings.get("window/maximized", False) is True


def test_a_long_3d_caption_wraps_instead_of_being_cut(qapp):
    from PySide6.QtGui import QFont, QFontMetrics

    from gui.skeleton_view import wrap_text

    fm = QFontMetrics(QFont())
    text = "fixed depth until RootNet's first run"
    lines = wrap_text(fm, text, 120)
    assert len(lines) > 1 and " ".join(lines) == text
    assert all(fm.horizontalAdvance(t) <= 120 for t in lines)


def test_software_gl_draws_on_one_thread_so_the_models_keep_the_cores(qapp, monkeypatch):
    import os

    from gui.app import make_app

    monkeypatch.delenv("LP_NUM_THREADS", raising=False)
    make_app()
    assert os.environ["LP_NUM_THREADS"] == "1"
