"""Fault suite, live sources: unreadable, cut-off and missing videos and a camera index that does not exist end with one
message naming the source; a video cut off mid-stream plays up to the cut and ends normally. A corrupt file in an
image folder is named and frame ids stay bound to files.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from engine.live.sources import DEMO_VIDEO
from tests.reliability.fault_helpers import (
    LIVE_FAST,
    cli,
    one_error,
    run_main,
)


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


def test_corrupt_file_in_an_image_folder_is_named_and_ids_stay_bound_to_files(tmp_path):
    from engine.live.sources import SourceOptions, open_source

    for i in range(5):
        cv2.imwrite(str(tmp_path / f"f{i}.jpg"), np.full((20, 30, 3), 40 * i, np.uint8))
    bad = tmp_path / "f1.jpg"
    bad.write_bytes(bad.read_bytes()[:200])  # cut off: decodes with grey fill in OpenCV
    (tmp_path / "f3.jpg").write_bytes(b"not an image")
    events = []
    with open_source(str(tmp_path), SourceOptions(on_event=events.append)) as src:
        frames = list(src)
    assert [f.frame_id for f in frames] == [0, 2, 4]  # frame k is file k: f0, f2, f4
    assert [int(f.image[0, 0, 0]) for f in frames] == [0, 80, 160]
    msgs = [e.message for e in events if e.kind == "corrupt"]
    assert len(msgs) == 2 and str(bad) in msgs[0] and "truncated JPEG" in msgs[0]
    assert str(tmp_path / "f3.jpg") in msgs[1]
    assert [(fid, Path(p).name) for fid, p, _ in src.skipped] == [(1, "f1.jpg"), (3, "f3.jpg")]
    assert src.stats.corrupt == 2


def test_video_damaged_mid_file_says_it_ended_early_and_at_which_frame(tmp_path):
    """A video cut off mid-file ends with the end named (the frame it stopped at), not a clean "corrupt 0" exit."""
    import cv2

    from engine.live.sources import SourceOptions, open_source

    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    rng = np.random.default_rng(0)
    for _ in range(40):
        writer.write(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    writer.release()
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])  # the header still announces 40 frames
    events = []
    src = open_source(str(path), SourceOptions(realtime=False, on_event=events.append))
    frames = 0
    while src.read() is not None:
        frames += 1
    src.close()
    assert 0 < frames < 40
    assert src.stats.corrupt >= 1
    msgs = [e.message for e in events if e.kind == "corrupt"]
    assert any(f"ended early, at frame {frames} of the 40" in m for m in msgs), msgs
