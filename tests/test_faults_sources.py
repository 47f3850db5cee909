"""Fault suite, live sources: unreadable, cut-off and missing videos and a camera index that does not exist end with
one message naming the source; a video cut off mid-stream plays up to the cut and ends normally."""

from __future__ import annotations

from pathlib import Path

import cv2

from engine.live.sources import DEMO_VIDEO
from tests.test_faults_helpers import LIVE_FAST, cli, one_error, run_main


def _live(source, *extra) -> list[str]:
    return ["live", "--source", source, "--frames", "3", "--asap", *LIVE_FAST, *extra]


def test_first_10kb_of_a_video_is_refused_by_the_real_cli(tmp_path):
    cut = tmp_path / "demo_head.mp4"
    cut.write_bytes(DEMO_VIDEO.read_bytes()[:10 * 1024])
    proc = cli(_live(cut))
    assert proc.returncode == 2
    one_error(proc.stderr, f"video file '{cut}' could not be opened")


def test_text_file_named_mp4_is_refused(tmp_path, capfd):
    fake = tmp_path / "notes.mp4"
    fake.write_text("not a video\n")
    rc, _, err = run_main(_live(fake), capfd)
    assert rc == 2
    one_error(err, f"video file '{fake}' could not be opened")


def test_missing_video_is_refused(tmp_path, capfd):
    rc, _, err = run_main(_live(tmp_path / "nowhere.mp4"), capfd)
    assert rc == 2
    one_error(err, f"source '{tmp_path / 'nowhere.mp4'}': no such file or folder")


def test_camera_index_that_does_not_exist(capfd):
    rc, _, err = run_main(_live("7"), capfd)
    assert rc == 2
    one_error(err, "camera index 7 could not be opened", "pass --source demo")


def test_empty_image_folder_is_refused(tmp_path, capfd):
    (tmp_path / "frames").mkdir()
    rc, _, err = run_main(_live(tmp_path / "frames"), capfd)
    assert rc == 2
    one_error(err, f"image folder '{tmp_path / 'frames'}' contains no images")


def _mjpeg_avi(path: Path, frames: int) -> Path:
    cap = cv2.VideoCapture(str(DEMO_VIDEO))
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for _ in range(frames):
        ok, image = cap.read()
        assert ok
        out.write(cv2.resize(image, (160, 120)))
    out.release()
    cap.release()
    return path


def test_video_cut_mid_stream_plays_up_to_the_cut(tmp_path, capfd):
    full = _mjpeg_avi(tmp_path / "full.avi", 20)
    cut = tmp_path / "cut.avi"
    raw = full.read_bytes()
    cut.write_bytes(raw[: len(raw) // 2])  # the header survives, the second half of the frames does not
    rc, out, err = run_main(["live", "--source", cut, "--asap", *LIVE_FAST], capfd)
    assert rc == 0, err
    assert "Traceback" not in err and "error:" not in err
    processed = int(out.split(" frames processed")[0].split()[-1])
    assert 5 <= processed < 20  # every frame before the cut, then a normal end
