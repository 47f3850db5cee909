"""Live outputs people use: every frame of a file by default, the overlay MP4 (during a run and from a recording),
JSON lines, C3D (read back with ezc3d) and TRC (header parsed); recordings compressed."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from engine.live.recording.writer import load_recording
from engine.live.sources import DemoSource, SourceOptions, VideoFileSource
from main import main

LIGHT = ["--models", "mhp-lpski-w0.5", "--rootnet", "none", "--detector", "none", "--device", "cpu", "--headless",
         "--allow-untrained"]
N = 40


def _clip(path, n=N, fps=10.0):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (160, 120))
    for i in range(n):
        img = np.full((120, 160, 3), 40, np.uint8)
        cv2.circle(img, (20 + 3 * i, 60), 12, (0, 200, 255), -1)
        w.write(img)
    w.release()
    return path


def _frames(path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("live")
    clip = _clip(d / "clip.avi")
    rec, video = d / "rec.h5", d / "live.mp4"
    rc = main(["live", "--source", str(clip), "--frames", "30", "--record", str(rec), "--save-video", str(video),
               *LIGHT])
    assert rc == 0
    rec_all = d / "all.h5"
    assert main(["live", "--source", str(clip), "--record", str(rec_all), *LIGHT]) == 0
    return d, clip, rec, video, rec_all


def test_files_are_processed_frame_by_frame_by_default(run):
    d, clip, rec, _, rec_all = run
    got = load_recording(rec)
    assert len(got) == 30 and got.frame_id.tolist() == list(range(30))  # not 10 of 40: nothing dropped
    assert np.allclose(got.media_ts, np.arange(30) / 10.0)
    every = load_recording(rec_all)
    assert len(every) == N and every.attrs["complete"]  # the whole file, no --frames
    assert every.attrs["source_path"] == str(clip.resolve())
    assert not VideoFileSource(str(clip)).realtime and VideoFileSource(str(clip), SourceOptions(realtime=True)).realtime
    assert DemoSource().realtime  # the demo stands in for a webcam: paced unless told otherwise


def test_asap_is_still_accepted(run, tmp_path):
    _, clip, _, _, _ = run
    assert main(["live", "--source", str(clip), "--frames", "2", "--asap", *LIGHT]) == 0


def test_recording_is_compressed(run):
    import h5py

    with h5py.File(run[2]) as f:
        ds = f["models/mhp-lpski-w0.5/raw/joints_cam_mm"]
        assert ds.compression == "gzip" and ds.shuffle


def test_save_video_has_a_frame_per_processed_frame(run):
    _, _, rec, video, _ = run
    assert _frames(video) == len(load_recording(rec)) == 30


def test_mp4_export_from_a_recording(run, tmp_path):
    _, clip, rec, _, _ = run
    out = tmp_path / "o.mp4"
    assert main(["live", "export", str(rec), "--format", "mp4", "--out", str(out)]) == 0
    assert _frames(out) == 30
    cap = cv2.VideoCapture(str(out))
    ok, first = cap.read()
    cap.release()
    assert ok and first.shape[:2] == (120, 160)
    src = cv2.VideoCapture(str(clip)).read()[1]
    assert np.abs(first[100:, 100:].astype(int) - src[100:, 100:]).mean() < 20  # the source frame underneath
    blank = tmp_path / "b.mp4"  # another source path given explicitly works too
    assert main(["live", "export", str(rec), "--format", "mp4", "--source", str(clip), "--out", str(blank)]) == 0
    assert _frames(blank) == 30


def test_jsonl_holds_every_frame_model_and_joint(run, tmp_path):
    from models.joints import H36M18

    _, _, rec, _, _ = run
    out = tmp_path / "o.jsonl"
    assert main(["live", "export", str(rec), "--format", "jsonl", "--out", str(out)]) == 0
    lines = [json.loads(ln) for ln in out.read_text().splitlines()]
    head, frames = lines[0], lines[1:]
    got = load_recording(rec)
    assert head["schema"].startswith("posearena.live.jsonl") and list(head["models"]) == ["mhp-lpski-w0.5"]
    assert len(frames) == len(got)
    for i, fr in enumerate(frames):
        assert fr["frame"] == i and fr["frame_id"] == int(got.frame_id[i]) and fr["time"] == pytest.approx(i / 10)
        assert len(fr["persons"]) == int(got.num_persons[i]) == 1
        p = fr["persons"][0]
        assert set(p) == {"track_id", "box", "root_cam_mm", "models"} and len(p["box"]) == 4
        m = p["models"]["mhp-lpski-w0.5"]
        for kind in ("raw", "smoothed"):
            for fld, d in (("joints_2d", 2), ("joints_cam_mm", 3), ("joints_rel_mm", 3)):
                assert list(m[kind][fld]) == list(H36M18.names)
                assert all(len(v) == d for v in m[kind][fld].values())
        want = got.models["mhp-lpski-w0.5"].smoothed["joints_cam_mm"][i, 0, 2]
        assert m["smoothed"]["joints_cam_mm"]["R_Knee"] == pytest.approx(want, abs=1e-3)


def test_c3d_reads_back_with_ezc3d_to_the_same_points(run, tmp_path):
    import ezc3d

    from engine.live.export.mocap import marker_names, to_opensim_axes

    _, _, rec, _, _ = run
    out = tmp_path / "o.c3d"
    assert main(["live", "export", str(rec), "--format", "c3d", "--out", str(out)]) == 0
    c = ezc3d.c3d(str(out))
    got = load_recording(rec)
    m = got.models["mhp-lpski-w0.5"]
    assert c["parameters"]["POINT"]["LABELS"]["value"] == marker_names(m.joint_names)
    assert c["parameters"]["POINT"]["UNITS"]["value"] == ["mm"]
    assert c["parameters"]["POINT"]["RATE"]["value"][0] == pytest.approx(10.0)
    pts = c["data"]["points"][:3]  # [3, J, N]
    want = to_opensim_axes(m.smoothed["joints_cam_mm"][:, 0])  # [N, J, 3]
    assert pts.shape == (3, 18, len(got))
    np.testing.assert_allclose(np.transpose(pts, (2, 1, 0)), want, rtol=1e-6, atol=1e-3)  # float32 in the file


def test_trc_header_and_rows_parse_for_opensim(run, tmp_path):
    _, _, rec, _, _ = run
    out = tmp_path / "o.trc"
    assert main(["live", "export", str(rec), "--format", "trc", "--units", "m", "--out", str(out)]) == 0
    lines = out.read_text().split("\n")
    assert lines[0].split("\t")[:4] == ["PathFileType", "4", "(X/Y/Z)", "o.trc"]
    keys, vals = lines[1].split("\t"), lines[2].split("\t")
    meta = dict(zip(keys, vals, strict=True))
    assert meta["Units"] == "m" and int(meta["NumFrames"]) == 30 and int(meta["NumMarkers"]) == 18
    markers = [x for x in lines[3].split("\t")[2:] if x]
    assert markers[:4] == ["Hip", "RHip", "RKnee", "RAnkle"] and "LShoulder" in markers and len(markers) == 18
    rows = [ln.split("\t") for ln in lines[6:] if ln]
    assert len(rows) == 30 and all(len(r) == 2 + 18 * 3 for r in rows)
    got = load_recording(rec)
    head = got.models["mhp-lpski-w0.5"].smoothed["joints_cam_mm"][0, 0, 10]  # Head, camera mm (y down)
    pelvis = got.models["mhp-lpski-w0.5"].smoothed["joints_cam_mm"][0, 0, 0]
    y = {name: float(rows[0][2 + 3 * k + 1]) for k, name in enumerate(markers)}
    assert y["Head"] - y["Hip"] == pytest.approx(-(head[1] - pelvis[1]) / 1000, abs=1e-5)  # y up, metres


def test_export_refuses_options_a_format_does_not_take(run, tmp_path, capsys):
    _, _, rec, _, _ = run
    rc = main(["live", "export", str(rec), "--format", "jsonl", "--units", "m", "--out", str(tmp_path / "x.jsonl")])
    assert rc == 2 and "no option 'units'" in capsys.readouterr().err
