"""Issue 28 items 2, 11 and 16: every export format on a full disk keeps the previous file or writes nothing (the file
is checked before it replaces the output); ``--save-video`` on a full disk is an error, not "video: FILE"; Ctrl-C and
SIGTERM during an mp4 export are one line and leave no temp file."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from engine.live.recording.writer import LiveRecorder
from tests.reliability.complete import assert_complete_or_absent, leftovers
from tests.reliability.fault_helpers import LIVE_FAST, cli, cli_popen, one_error
from tests.reliability.test_disk_full_faults import FAKES

_fakes: dict = {}
exec(FAKES, _fakes)
FORMATS = ("csv", "trc", "c3d", "jsonl", "mp4")


def _record(path: Path, frames: int) -> Path:
    with LiveRecorder(path, [_fakes["INFO"]], max_persons=2) as rec:
        for i in range(frames):
            rec.write(_fakes["fake_result"](i))
    return path


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    return _record(tmp_path_factory.mktemp("rec") / "session.h5", 60)


@pytest.mark.parametrize("fmt", FORMATS)
def test_full_disk_export_keeps_the_previous_file(recording, tmp_path, fmt):
    out = tmp_path / f"out.{fmt}"
    ok = cli(["live", "export", recording, "--format", fmt, "--out", out])
    assert ok.returncode == 0, ok.stderr
    assert_complete_or_absent(out)
    before = out.read_bytes()
    limit = max(200, len(before) // 3)  # the previous file exists already: the new one cannot fit
    proc = cli(["live", "export", recording, "--format", fmt, "--out", out, "--overwrite"], fsize=limit)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    one_error(proc.stderr, str(out), "the previous file is unchanged")
    assert "wrote" not in proc.stdout
    assert out.read_bytes() == before
    assert_complete_or_absent(out)


@pytest.mark.parametrize("fmt", FORMATS)
def test_full_disk_export_without_a_previous_file_writes_nothing(recording, tmp_path, fmt):
    out = tmp_path / f"new.{fmt}"
    proc = cli(["live", "export", recording, "--format", fmt, "--out", out], fsize=200)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    one_error(proc.stderr, str(out))
    assert not assert_complete_or_absent(out)


def test_save_video_on_a_full_disk_is_an_error_not_a_finished_video(tmp_path):
    video = tmp_path / "overlay.mp4"
    proc = cli(["live", "--source", "demo", *LIVE_FAST, "--frames", "30", "--save-video", video], fsize=60_000,
               timeout=240)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "video:" not in proc.stdout
    one_error(proc.stderr, str(video), "not written whole")
    assert not assert_complete_or_absent(video)


@pytest.fixture(scope="module")
def long_recording(tmp_path_factory) -> Path:
    return _record(tmp_path_factory.mktemp("long") / "long.h5", 3000)


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"])
def test_signal_during_mp4_export_is_one_line_and_leaves_no_temp(long_recording, tmp_path, sig, code):
    out = tmp_path / "long.mp4"
    proc = cli_popen(["live", "export", long_recording, "--format", "mp4", "--out", out])
    deadline = time.monotonic() + 120
    while not leftovers(out) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert leftovers(out), "the export never started writing"
    time.sleep(0.3)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, (stdout, stderr)
    one_error(stderr, "interrupted", "nothing was written")
    assert not assert_complete_or_absent(out)
