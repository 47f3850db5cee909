"""Issue 28 item 12: ``compare`` on a recording with no frames, or one where nobody was detected, is one error line
and writes nothing (no matplotlib traceback, no half-written compare folder)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from engine.live.recording.writer import LiveRecorder
from tests.reliability.fault_helpers import one_error, run_main
from tests.reliability.test_disk_full_faults import FAKES

_fakes: dict = {}
exec(FAKES, _fakes)


def _nobody(i: int):
    r = _fakes["fake_result"](i)
    empty = np.zeros((0, 18, 3))
    pose = SimpleNamespace(joints_2d=empty[..., :2], joints_rel_mm=empty, joints_cam_mm=empty)
    return SimpleNamespace(**{**vars(r), "boxes": np.zeros((0, 4)), "track_ids": np.zeros(0, int),
                              "root_cam_mm": np.zeros((0, 3)), "outputs": {"m": pose}, "smoothed": {"m": pose}})


@pytest.mark.parametrize("frames, why", [(0, "the recording has no frames"),
                                         (12, "nobody was detected in any of its 12 frames")], ids=["empty", "nobody"])
def test_compare_with_nothing_to_compare_is_one_error(tmp_path, capfd, frames, why):
    path = tmp_path / "rec.h5"
    with LiveRecorder(path, [_fakes["INFO"]], max_persons=2) as rec:
        for i in range(frames):
            rec.write(_nobody(i))
    out = tmp_path / "compare"
    rc, _, err = run_main(["compare", path, "--out", out], capfd)
    assert rc == 1, err
    one_error(err, str(path), why, "nothing written")
    assert not out.exists()
