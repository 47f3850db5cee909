"""The Playback tab (pytest-qt under Xvfb): a recording plays back with the source video under the overlay and the
linked 3D views; play, pause, step, scrub; export in a worker; a screenshot is saved to /tmp/playback.png."""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from engine.inference.camera import CameraIntrinsics
from engine.live.results import ModelInfo
from models.joints import H36M18

pytestmark = pytest.mark.gui
N = 12
INTR = CameraIntrinsics.from_fov(320, 240)
REL = {"Pelvis": (0, 0, 0), "R_Hip": (-120, 0, 0), "R_Knee": (-130, 430, 20), "R_Ankle": (-130, 850, 40),
       "L_Hip": (120, 0, 0), "L_Knee": (130, 430, 20), "L_Ankle": (130, 850, 40), "Torso": (0, -230, 0),
       "Neck": (0, -480, 0), "Nose": (0, -560, -80), "Head": (0, -650, 0), "L_Shoulder": (170, -460, 0),
       "L_Elbow": (260, -220, 0), "L_Wrist": (300, 0, -100), "R_Shoulder": (-170, -460, 0),
       "R_Elbow": (-260, -220, 0), "R_Wrist": (-300, -20, -100), "Thorax": (0, -470, 0)}


def _pose(i: int, shift: float) -> np.ndarray:
    p = np.array([REL[n] for n in H36M18.names], np.float64)
    p[15:17, 1] -= 25.0 * i  # the right arm rises frame by frame
    return p + np.array([shift, 150.0, 4200.0])


def _result(i: int, infos) -> SimpleNamespace:
    cam = np.stack([_pose(i, -500.0), _pose(i, 600.0)])
    j2d = cam[..., :2] / cam[..., 2:] * INTR.fx + np.array([INTR.cx, INTR.cy])
    outs = {}
    for k, m in enumerate(infos):
        off = np.array([0.0, 0.0, 40.0 * k])
        outs[m.name] = SimpleNamespace(joints_2d=j2d + 4 * k, joints_rel_mm=cam - cam[:, :1], joints_cam_mm=cam + off)
    lo, hi = j2d.min(axis=1), j2d.max(axis=1)
    boxes = np.concatenate([lo - 8, hi - lo + 16], axis=1)
    return SimpleNamespace(frame_id=i, capture_ts=10.0 + i / 10, media_ts=i / 10, result_ts=10.02 + i / 10,
                           boxes=boxes, track_ids=np.array([3, 8]), root_cam_mm=cam[:, 0], intrinsics=INTR,
                           latencies_ms={"end_to_end": 30.0}, outputs=outs, smoothed=outs)


@pytest.fixture
def recording(tmp_path):
    from engine.live.recording.writer import LiveRecorder

    clip = tmp_path / "clip.avi"
    w = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (320, 240))
    for i in range(N):
        img = np.zeros((240, 320, 3), np.uint8)
        img[:] = (70, 60, 50)
        img[180:] = (60, 110, 90)
        cv2.putText(img, f"source {i}", (10, 230), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
        w.write(img)
    w.release()
    infos = [ModelInfo("posenet-r50", "posenet-r50", True, "h36m18", H36M18.names, H36M18.root),
             ModelInfo("mhp-lpski", "mhp-lpski (untrained weights)", False, "h36m18", H36M18.names, H36M18.root)]
    path = tmp_path / "session.h5"
    with LiveRecorder(path, infos, attrs={"source": f"video:{clip}", "intrinsics": {"width": 320, "height": 240}}) as r:
        for i in range(N):
            r.write(_result(i, infos))
    return path, clip


def test_playback_plays_steps_scrubs_and_exports(qtbot, recording, tmp_path):
    from gui.playback_tab import PlaybackTab

    path, clip = recording
    tab = PlaybackTab()
    tab.resize(1100, 560)
    qtbot.addWidget(tab)
    tab.show()
    qtbot.waitExposed(tab)
    assert tab.open_recording(str(path))
    ctl = tab.ctl
    assert ctl.frames == N and ctl.source == str(clip.resolve())
    assert set(tab.views.views) == {"posenet-r50", "mhp-lpski"}
    assert ctl.index == 0 and tab.views.last_frame.seq == 0
    shown0 = tab.video.frames_shown

    qtbot.mouseClick(tab.forward_button, qtbot_button())
    qtbot.mouseClick(tab.forward_button, qtbot_button())
    assert ctl.index == 2 and tab.slider.value() == 2
    qtbot.mouseClick(tab.back_button, qtbot_button())
    assert ctl.index == 1
    tab.slider.setValue(7)  # scrub
    assert ctl.index == 7 and tab.views.last_frame.frame_id == 7
    assert tab.video.frames_shown > shown0

    f = ctl.frame(7)
    assert f.frame_bgr.shape == (240, 320, 3)
    assert f.frame_bgr[200:, 250:].mean() > 20  # the source frame, not a blank one
    want = np.stack([_pose(7, -500.0), _pose(7, 600.0)])
    np.testing.assert_allclose(f.models["posenet-r50"].joints_cam_mm, want, atol=1e-2)  # the recorded 3D joints

    tab.slider.setValue(5)
    qtbot.mouseClick(tab.play_button, qtbot_button())
    assert ctl.playing and tab.play_button.text() == "Pause"
    qtbot.waitUntil(lambda: ctl.index >= 8, timeout=5000)
    qtbot.mouseClick(tab.play_button, qtbot_button())
    assert not ctl.playing
    stopped = ctl.index
    qtbot.wait(300)
    assert ctl.index == stopped  # paused stays put
    ctl.play()
    qtbot.waitUntil(lambda: not ctl.playing, timeout=5000)  # stops at the end
    assert ctl.index == N - 1

    tab.slider.setValue(9)
    qtbot.wait(100)
    tab.grab().save("/tmp/playback.png")

    out = tmp_path / "export.mp4"
    with qtbot.waitSignal(ctl.exported, timeout=30_000) as sig:
        tab.export("mp4", str(out))
    assert sig.args == ["mp4", str(out)]
    cap = cv2.VideoCapture(str(out))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == N
    for fmt in ("jsonl", "trc", "c3d"):
        dest = tmp_path / f"export.{fmt}"
        with qtbot.waitSignal(ctl.exported, timeout=30_000):
            tab.export(fmt, str(dest))
        assert dest.is_file() and not list(tmp_path.glob(f".export.{fmt}*"))  # atomic: no temp file left
    tab.shutdown()


def test_playback_without_the_source_draws_on_a_blank_frame(qtbot, recording):
    from gui.playback_tab import PlaybackTab

    path, clip = recording
    clip.unlink()
    tab = PlaybackTab()
    qtbot.addWidget(tab)
    msgs = []
    tab.message.connect(lambda lvl, m: msgs.append(m))
    assert tab.open_recording(str(path))
    assert tab.ctl.source is None and any("blank frame" in m for m in msgs)
    f = tab.ctl.frame(3)
    assert f.frame_bgr.shape == (240, 320, 3)
    assert (f.frame_bgr != 24).any()  # the skeletons are there
    tab.shutdown()


def qtbot_button():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton
