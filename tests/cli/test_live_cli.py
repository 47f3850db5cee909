"""``python main.py live`` and ``live export``: report, refusals, recording + export round trip."""

from __future__ import annotations

import json

from engine.live.recording.writer import load_recording
from main import main

LIGHT = ["--models", "mhp-lpski-w0.5", "--rootnet", "none", "--detector", "none", "--device", "cpu", "--headless"]


def test_live_runs_records_reports_and_exports(tmp_path, capsys):
    rec, stats = tmp_path / "run.h5", tmp_path / "stats.json"
    rc = main(["live", "--source", "demo", "--frames", "3", "--allow-untrained", "--asap", "--record", str(rec),
               "--json", str(stats), *LIGHT])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "3 frames processed" in out.out and "FPS" in out.out
    assert "end_to_end" in out.out and "mhp-lpski-w0.5" in out.out
    assert "UNTRAINED" in out.out
    assert "whole-frame box" in out.err  # the fallback is announced
    data = json.loads(stats.read_text())
    assert data["frames_processed"] == 3 and "end_to_end" in data["stages"]
    got = load_recording(rec)
    assert len(got) == 3 and got.attrs["complete"]

    trc = tmp_path / "run.trc"
    assert main(["live", "export", str(rec), "--format", "trc", "--out", str(trc)]) == 0
    assert trc.read_text().startswith("PathFileType")
    csv = tmp_path / "run.csv"
    assert main(["live", "export", str(rec), "--format", "csv", "--model", "mhp-lpski-w0.5", "--kind", "raw",
                 "--out", str(csv)]) == 0
    assert len(csv.read_text().splitlines()) == 4


def test_missing_weights_refuse_with_the_loaders_message(capsys):
    rc = main(["live", "--frames", "1", "--models", "convnextpose-xs", "--rootnet", "none", "--detector", "none",
               "--headless"])
    err = capsys.readouterr().err
    assert rc == 2 and "convnextpose-xs has no weights" in err


def test_bad_camera_index_and_bad_export(tmp_path, capsys):
    rc = main(["live", "--source", "9", "--allow-untrained", *LIGHT])
    assert rc == 2 and "camera index 9 could not be opened" in capsys.readouterr().err
    rc = main(["live", "export", str(tmp_path / "none.h5"), "--out", str(tmp_path / "x.csv")])
    assert rc == 2 and "no such recording" in capsys.readouterr().err
