"""3D skeleton views and the video view with synthetic poses: real GL rendering under Xvfb (pytest-xvfb)."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gui


def _pose(shift_mm: float = 0.0, turn: float = 0.0) -> np.ndarray:
    """A plausible standing H36M-18 pose in camera mm, 3.5 m away."""
    from models.joints import H36M18

    rel = {
        "Pelvis": (0, 0, 0), "R_Hip": (-120, 0, 0), "R_Knee": (-130, 430, 20), "R_Ankle": (-130, 850, 40),
        "L_Hip": (120, 0, 0), "L_Knee": (130, 430, 20), "L_Ankle": (130, 850, 40), "Torso": (0, -230, 0),
        "Neck": (0, -480, 0), "Nose": (0, -560, -80), "Head": (0, -650, 0), "L_Shoulder": (170, -460, 0),
        "L_Elbow": (260, -220, 0), "L_Wrist": (300, 0, -100), "R_Shoulder": (-170, -460, 0),
        "R_Elbow": (-260 - turn, -220, 0), "R_Wrist": (-300 - 2 * turn, -20, -100), "Thorax": (0, -470, 0),
    }
    p = np.array([rel[n] for n in H36M18.names], dtype=np.float32)
    return p + np.array([shift_mm, 0, 0], np.float32)


def _frame(seq: int, turn: float, persons: int = 1):
    from gui.live_frame import LiveFrame, ModelFrame

    rel = np.stack([_pose(0, turn) for _ in range(persons)])
    cam = np.stack([_pose(-600 + 1200 * k, turn) + np.array([0, 200, 3500], np.float32) for k in range(persons)])
    j2d = cam[..., :2] / cam[..., 2:] * 500 + np.array([320, 240])
    models = {
        n: ModelFrame(n, n if n != "b" else "b (untrained weights)", "h36m18", n != "b", j2d, rel, cam, 12.5)
        for n in ("a", "b")
    }
    img = np.full((480, 640, 3), 60, np.uint8)
    img[:, : 20 + seq % 600] = (30, 90, 160)
    return LiveFrame(seq=seq, frame_bgr=img, boxes_xyxy=np.array([[200, 100, 440, 460]] * persons, np.float32),
                     track_ids=list(range(1, persons + 1)), models=models, fps=20.0)


@pytest.fixture
def grid(qtbot):
    from gui.view_grid import ViewGrid, ViewInfo

    g = ViewGrid()
    g.resize(800, 400)
    qtbot.addWidget(g)
    g.show()
    qtbot.waitExposed(g)
    g.set_views([ViewInfo("a", "h36m18", "a", True), ViewInfo("b", "h36m18", "b (untrained weights)", False)])
    qtbot.wait(50)
    return g


def test_views_render_poses_and_change(grid, qtbot):
    before = grid.views["a"].framebuffer()
    grid.show_frame(_frame(1, 0.0))
    qtbot.wait(30)
    first = grid.views["a"].framebuffer()
    grid.show_frame(_frame(2, 250.0, persons=2))
    qtbot.wait(30)
    second = grid.views["a"].framebuffer()
    assert first.std() > 3, "the view is blank"
    assert np.abs(first.astype(int) - before.astype(int)).sum() > 0, "drawing a pose changed nothing"
    assert np.abs(second.astype(int) - first.astype(int)).sum() > 1000, "a new pose did not change the view"
    # bones use the left/right colours: some strongly red and strongly blue pixels exist
    r, g, b = (second[..., i].astype(int) for i in range(3))
    assert ((r > 180) & (b < 120)).sum() > 20 and ((b > 180) & (r < 120)).sum() > 20
    assert "UNTRAINED" in grid.views["b"].title_text()
    assert "UNTRAINED" not in grid.views["a"].title_text()


def test_orbit_one_view_moves_the_other(grid, qtbot):
    grid.show_frame(_frame(1, 0.0))
    qtbot.wait(30)
    a, b = grid.views["a"].gl, grid.views["b"].gl
    before_b = grid.views["b"].framebuffer()
    a.orbit(40, 15)
    a.setCameraPosition(distance=3.0)
    a.pan(0.1, 0, 0)
    qtbot.wait(30)
    sa, sb = a.camera_state(), b.camera_state()
    for k in ("azimuth", "elevation", "distance", "center"):
        assert sb[k] == pytest.approx(sa[k]), k
    assert np.abs(grid.views["b"].framebuffer().astype(int) - before_b.astype(int)).sum() > 1000


def test_refresh_timer_pulls_only_new_frames(grid, qtbot):
    frames = [_frame(1, 0.0)]
    grid.start(lambda: frames[-1])
    qtbot.waitUntil(lambda: grid.views["a"].frames_drawn >= 1, timeout=2000)
    qtbot.wait(150)
    assert grid.views["a"].frames_drawn == 1  # same seq is not redrawn
    frames.append(_frame(2, 100.0))
    qtbot.waitUntil(lambda: grid.views["a"].frames_drawn == 2, timeout=2000)
    grid.stop()


def test_absolute_mode_and_video_overlay(grid, qtbot):
    from gui.video_view import VideoView

    grid.set_absolute(True)
    grid.show_frame(_frame(3, 0.0, persons=2))
    qtbot.wait(30)
    assert grid.views["a"].framebuffer().std() > 3
    v = VideoView()
    v.resize(320, 240)
    qtbot.addWidget(v)
    v.show()
    qtbot.waitExposed(v)
    v.show_frame(_frame(3, 0.0))
    plain = v.grab().toImage()
    v.set_overlay_model("a")
    qtbot.wait(10)
    drawn = v.grab().toImage()
    assert plain != drawn  # the joints were painted over the frame
