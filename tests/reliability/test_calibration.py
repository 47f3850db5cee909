"""Issue 28 item 6: a calibration is scaled to the frames only when the aspect ratio matches (and the run says so);
another aspect ratio is refused with a message naming both sizes, never stretched into fx != fy."""

from __future__ import annotations

import json

import pytest

from engine.inference.camera import CameraIntrinsics, IntrinsicsError
from tests.reliability.fault_helpers import LIVE_FAST, one_error, run_main

DEMO_SIZE = (640, 480)  # assets/demo_walk.mp4


def _calib(tmp_path, w: int, h: int):
    path = tmp_path / f"calib_{w}x{h}.json"
    f = 0.8 * w
    path.write_text(json.dumps({"fx": f, "fy": f, "cx": w / 2, "cy": h / 2, "width": w, "height": h}))
    return path


def test_another_aspect_ratio_is_refused_not_stretched():
    cam = CameraIntrinsics(1000.0, 1000.0, 320.0, 240.0, 640, 480, "calib.json")
    with pytest.raises(IntrinsicsError, match=r"calib.json: the calibration is for 640x480 frames but the frames "
                                              r"are 1280x720, another aspect ratio"):
        cam.scaled_to(1280, 720)


def test_same_aspect_ratio_is_scaled_and_says_so():
    cam = CameraIntrinsics(1000.0, 1000.0, 320.0, 240.0, 640, 480, "calib.json")
    big = cam.scaled_to(1280, 960)
    assert (big.fx, big.fy, big.cx, big.cy) == (2000.0, 2000.0, 640.0, 480.0)
    assert "calibrated at 640x480 and scaled to 1280x960" in big.source


def test_live_refuses_a_calibration_of_another_aspect_ratio(tmp_path, capfd):
    calib = _calib(tmp_path, 1280, 720)
    rc, _, err = run_main(["live", "--source", "demo", "--frames", "2", *LIVE_FAST, "--intrinsics", calib], capfd)
    assert rc == 2, err
    one_error(err, str(calib), "1280x720", "640x480", "another aspect ratio")


def test_live_scales_a_calibration_of_the_same_aspect_ratio_and_says_so(tmp_path, capfd):
    calib = _calib(tmp_path, 1280, 960)
    rc, _, err = run_main(["live", "--source", "demo", "--frames", "2", *LIVE_FAST, "--intrinsics", calib], capfd)
    assert rc == 0, err
    assert f"note: camera calibration {calib}, calibrated at 1280x960 and scaled to 640x480" in err
