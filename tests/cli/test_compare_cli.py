"""``posearena compare``: record first then compare (random-weight models: flagged degenerate), compare an
existing recording with plots, and clear one-line errors for a missing or corrupt recording."""

from __future__ import annotations

import json

from main import main

LIGHT = ["--rootnet", "none", "--detector", "none", "--device", "cpu"]


def test_record_then_compare_and_compare_a_recording(tmp_path, capsys):
    out = tmp_path / "cmp"
    rc = main(["compare", "--source", "demo", "--models", "mhp-lpski-w0.5,mhp-lpski", "--frames", "4",
               "--allow-untrained", "--out", str(out), "--no-plots", *LIGHT])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    res = json.loads((out / "compare.json").read_text())
    assert res["source"]["frames"] == 4 and [m["name"] for m in res["models"]] == ["mhp-lpski-w0.5", "mhp-lpski"]
    assert (out / "report.md").exists() and not (out / "agreement.png").exists()
    assert (out / "recording.h5").exists()
    assert "verdict: steadiest:" in cap.out and "agreement mhp-lpski-w0.5 – mhp-lpski" in cap.out
    assert "untrained" in cap.out
    for name, s in res["overall"]["stats"].items():  # random weights collapse: flagged, never "steadiest"
        assert s["degenerate"], name
    assert res["overall"]["verdicts"]["steadiest"] is None

    again = tmp_path / "again"
    rc = main(["compare", str(out / "recording.h5"), "--out", str(again), "--window", "3"])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert (again / "agreement.png").exists() and (again / "bone_lengths.png").exists()
    assert len(json.loads((again / "compare.json").read_text())["windows"]) == 1
    # an existing recording is not replaced
    rc = main(["compare", "--source", "demo", "--models", "mhp-lpski-w0.5", "--frames", "4", "--allow-untrained",
               "--out", str(out), *LIGHT])
    assert rc == 1 and "already exists" in capsys.readouterr().err


def test_missing_and_corrupt_recordings_fail_cleanly(tmp_path, capsys):
    missing = tmp_path / "none.h5"
    assert main(["compare", str(missing)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(missing) in err and "Traceback" not in err
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5 at all")
    assert main(["compare", str(bad), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "Traceback" not in err
    assert main(["compare"]) == 1 and "either a RECORDING" in capsys.readouterr().err
    assert main(["compare", "--source", "demo"]) == 1 and "--models" in capsys.readouterr().err
