"""HDF5 recordings: round trip, padding/truncation, crash safety (SIGKILL), CSV/TRC export."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from types import SimpleNamespace

import h5py
import numpy as np
import pytest

from engine.inference.camera import CameraIntrinsics
from engine.live.engine import ModelInfo
from engine.live.export.mocap import ExportError, export_csv, export_recording, export_trc, to_opensim_axes
from engine.live.recording.writer import LiveRecorder, RecordingError, load_recording
from models.joints import H36M18
from tests.conftest import ROOT

INFO = ModelInfo("m18", "m18 (untrained weights)", False, "h36m18", H36M18.names, H36M18.root)
INTR = CameraIntrinsics.from_fov(640, 480)


def _result(i, persons=1, ids=None, extra_stage=False):
    rng = np.random.default_rng(i)
    cam = rng.normal(0, 200, (persons, 18, 3)) + [0, 0, 3000.0]
    out = SimpleNamespace(joints_2d=rng.uniform(0, 600, (persons, 18, 2)), joints_rel_mm=cam - cam[:, :1],
                          joints_cam_mm=cam)
    sm = SimpleNamespace(joints_2d=out.joints_2d + 1, joints_rel_mm=out.joints_rel_mm, joints_cam_mm=cam + 1)
    lat = {"detect": 1.0 + i, "end_to_end": 10.0 + i}
    if extra_stage:
        lat["rootnet"] = 5.0
    return SimpleNamespace(frame_id=i, capture_ts=100.0 + i / 10, media_ts=i / 10, result_ts=100.05 + i / 10,
                           boxes=rng.uniform(0, 100, (persons, 4)), root_cam_mm=cam[:, 0],
                           track_ids=np.array(ids if ids is not None else range(1, persons + 1)), intrinsics=INTR,
                           latencies_ms=lat, outputs={"m18": out}, smoothed={"m18": sm})


def test_round_trip(tmp_path):
    path = tmp_path / "r.h5"
    results = [_result(i, persons=1 + i % 3, extra_stage=i >= 2) for i in range(5)]
    with LiveRecorder(path, [INFO], max_persons=4, attrs={"source": "demo:x", "trained": {"m18": False}}) as rec:
        for r in results:
            rec.write(r)
    got = load_recording(path)
    assert len(got) == 5 and got.attrs["complete"] and got.attrs["frames"] == 5
    assert got.frame_id.tolist() == list(range(5))
    assert got.num_persons.tolist() == [1, 2, 3, 1, 2]
    assert got.track_ids[2].tolist() == [1, 2, 3, -1]
    assert np.allclose(got.capture_ts, [r.capture_ts for r in results])
    assert np.allclose(got.times(), np.arange(5) / 10)  # media clock
    m = got.models["m18"]
    assert m.joint_names == list(H36M18.names) and m.trained is False and m.label.endswith("(untrained weights)")
    for i, r in enumerate(results):
        n = r.outputs["m18"].joints_cam_mm.shape[0]
        assert np.allclose(m.raw["joints_cam_mm"][i, :n], r.outputs["m18"].joints_cam_mm, atol=1e-2)
        assert np.allclose(m.smoothed["joints_cam_mm"][i, :n], r.smoothed["m18"].joints_cam_mm, atol=1e-2)
        assert np.isnan(m.raw["joints_2d"][i, n:]).all()
    assert np.isnan(got.latency_ms["rootnet"][:2]).all() and got.latency_ms["rootnet"][2] == 5.0
    assert got.intrinsics[0] == pytest.approx([INTR.fx, INTR.fy, INTR.cx, INTR.cy])
    assert got.attrs["source"] == "demo:x" and got.attrs["trained"] == {"m18": False}
    assert "h5py" in got.attrs["software"] and "start_time" in got.attrs


def test_chunk_cache_is_bounded_and_large_chunks_write_through(tmp_path):
    """HDF5's default chunk cache kept every chunk written (a live soak grew 6 MB/min while recording). Every dataset
    now caches at most CHUNK_CACHE_BYTES; a joints chunk larger than that (64 frames x 32 persons) is written
    through the cache, flush after flush, and reads back whole."""
    from engine.live.recording.writer import CHUNK, CHUNK_CACHE_BYTES

    path = tmp_path / "r.h5"
    n = CHUNK * 2 + 7  # two full chunks and a partial one, each frame flushed on its own
    with LiveRecorder(path, [INFO], max_persons=32, flush_interval_s=0.0) as rec:
        caches = {name: ds.id.get_access_plist().get_chunk_cache()[1] for name, ds in rec._dsets.items()}
        big = max(ds.chunks and int(np.prod(ds.chunks)) * ds.dtype.itemsize for ds in rec._dsets.values())
        for i in range(n):
            rec.write(_result(i, persons=3))
    assert set(caches.values()) == {CHUNK_CACHE_BYTES}
    assert big > CHUNK_CACHE_BYTES  # the write-through case is really exercised
    got = load_recording(path)
    assert got.frame_id.tolist() == list(range(n)) and got.num_persons.tolist() == [3] * n
    assert np.isfinite(got.models["m18"].raw["joints_cam_mm"][:, :3]).all()
    assert np.isnan(got.models["m18"].raw["joints_cam_mm"][:, 3:]).all()


def test_more_persons_than_slots_are_counted(tmp_path):
    path = tmp_path / "r.h5"
    with LiveRecorder(path, [INFO], max_persons=2) as rec:
        rec.write(_result(0, persons=5))
    got = load_recording(path)
    assert got.num_persons.tolist() == [2] and got.attrs["persons_truncated"] == 3


def test_not_a_recording_is_refused(tmp_path):
    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as f:
        f.attrs["format"] = "something else"
    with pytest.raises(RecordingError, match="not a PoseArena live recording"):
        load_recording(p)
    with pytest.raises(RecordingError, match="no such recording"):
        load_recording(tmp_path / "missing.h5")


WRITER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from tests.engine.live.test_recording import INFO, _result
    from engine.live.recording.writer import LiveRecorder
    rec = LiveRecorder({path!r}, [INFO], max_persons=3, flush_interval_s=0.1)
    i, flushed = 0, 0
    while True:
        rec.write(_result(i, persons=2))
        i += 1
        if rec.frames_written != flushed:
            flushed = rec.frames_written
            print("flushed", flushed, flush=True)
        time.sleep(0.01)
""")


def test_recording_survives_sigkill(tmp_path):
    path = tmp_path / "killed.h5"
    proc = subprocess.Popen([sys.executable, "-c", WRITER.format(root=str(ROOT), path=str(path))],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    flushed = 0
    deadline = time.monotonic() + 60
    try:
        while flushed < 20 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            flushed = int(line.split()[1])
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    assert flushed >= 20, "the writer never flushed"
    got = load_recording(path)
    assert len(got) >= flushed  # everything up to the last flush survived
    assert not got.attrs["complete"]
    assert got.frame_id.tolist() == list(range(len(got)))
    assert np.all(np.isfinite(got.models["m18"].raw["joints_cam_mm"][:, :2]))
    assert got.attrs["frames"] == len(got)


def _recording(tmp_path):
    path = tmp_path / "r.h5"
    with LiveRecorder(path, [INFO]) as rec:
        for i in range(6):
            rec.write(_result(i, persons=2, ids=[7, 9] if i != 3 else [9, 4]))
    return path


def test_export_csv(tmp_path):
    out = export_csv(_recording(tmp_path), tmp_path / "o.csv", model="m18", kind="raw")
    lines = out.read_text().splitlines()
    assert lines[0].startswith("frame_id,time_s,track_id,person,Pelvis_x,Pelvis_y,Pelvis_z,R_Hip_x")
    assert len(lines) == 1 + 12 and len(lines[1].split(",")) == 4 + 18 * 3
    got = load_recording(tmp_path / "r.h5")
    row = lines[2].split(",")
    assert row[:4] == ["0", "0.000000", "9", "1"]
    assert float(row[4]) == pytest.approx(got.models["m18"].raw["joints_cam_mm"][0, 1, 0, 0], abs=1e-3)
    only = export_csv(got, tmp_path / "t.csv", track=4).read_text().splitlines()
    assert len(only) == 2


def test_export_trc(tmp_path):
    path = _recording(tmp_path)
    out = export_trc(path, tmp_path / "o.trc")  # one model: chosen automatically; track 9 is in every frame
    lines = out.read_text().split("\n")
    assert lines[0].split("\t")[:3] == ["PathFileType", "4", "(X/Y/Z)"]
    rate, _, n, m, units = lines[2].split("\t")[:5]
    assert float(rate) == pytest.approx(10.0) and n == "6" and m == "18" and units == "mm"
    assert lines[3].split("\t")[:3] == ["Frame#", "Time", "Hip"]  # Pose2Sim's marker name for the pelvis
    assert lines[4].split("\t")[2:5] == ["X1", "Y1", "Z1"]
    first = lines[6].split("\t")
    assert first[0] == "1" and len(first) == 2 + 18 * 3
    got = load_recording(path)
    slot = 1  # track 9 is in slot 1 on frame 0
    pelvis = to_opensim_axes(got.models["m18"].smoothed["joints_cam_mm"][0, slot, 0])
    assert [float(v) for v in first[2:5]] == pytest.approx(pelvis, abs=1e-3)
    assert pelvis[2] < 0  # in front of the camera -> negative Z in y-up coordinates
    gap = export_trc(path, tmp_path / "g.trc", track=7).read_text().split("\n")
    assert gap[6 + 3].split("\t")[2] == ""  # track 7 missing on frame 3: empty marker fields


def test_export_errors(tmp_path):
    path = _recording(tmp_path)
    with pytest.raises(ExportError, match="not in the recording"):
        export_csv(path, tmp_path / "x.csv", model="nope")
    with pytest.raises(ExportError, match="unknown export format"):
        export_recording(path, "fbx", tmp_path / "x.fbx")
    with pytest.raises(ExportError, match="TRC needs 3D"):
        export_trc(path, tmp_path / "x.trc", field="joints_2d")
