"""Issue 28 item 18: a video whose header announces 0 frames (and none decodes) is an error, not a clean exit with
"0 frames processed" and an empty recording; the empty recording is not kept."""

from __future__ import annotations

import cv2

from tests.reliability.complete import assert_complete_or_absent
from tests.reliability.fault_helpers import LIVE_FAST, one_error, run_main


def test_video_with_no_frames_is_an_error_and_records_nothing(tmp_path, capfd):
    video = tmp_path / "empty.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    writer.release()  # a valid header, 0 frames
    assert cv2.VideoCapture(str(video)).isOpened()
    rec = tmp_path / "rec.h5"
    rc, out, err = run_main(["live", "--source", video, *LIVE_FAST, "--record", rec], capfd)
    assert rc == 1, (out, err)
    one_error(err, str(video), "no frame could be read", "header announces none", "no recording written")
    assert "recording:" not in out
    assert not assert_complete_or_absent(rec)
