"""Fault suite, overwriting: nothing saved is replaced without asking. Finished benchmark results of another
configuration, an existing synthetic data set and an existing recording are refused with one message; every byte of
the old files stays.
"""

from __future__ import annotations

from pathlib import Path

from engine.live.recording.writer import LiveRecorder, load_recording
from tests.reliability.fault_helpers import BENCH_FAST, LIVE_FAST, one_error, run_main, syn_data  # noqa: F401
from tests.reliability.test_disk_full_faults import _fakes


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_benchmark_refuses_to_replace_results_of_another_configuration(syn_data, tmp_path, capfd):  # noqa: F811
    out = tmp_path / "out"
    common = ["bench", "h36m", "--data", syn_data, "--out", out, *BENCH_FAST]
    rc, _, err = run_main([*common, "--limit", "2"], capfd)
    assert rc == 0, err
    before = _snapshot(out)
    rc, _, err = run_main([*common, "--limit", "4"], capfd)  # stdin is not a terminal: no question, a refusal
    assert rc == 1
    one_error(err, str(out), "already holds finished results of another configuration", "--overwrite")
    assert _snapshot(out) == before


def test_synthetic_data_refuses_an_existing_folder(syn_data, capfd):  # noqa: F811
    before = _snapshot(syn_data / "annotations")
    rc, _, err = run_main(["h36m", "synthetic", "--out", syn_data, "--samples", "4"], capfd)
    assert rc == 1
    one_error(err, str(syn_data), "already holds annotations", "--force")
    assert _snapshot(syn_data / "annotations") == before


def test_live_refuses_to_record_over_an_existing_recording(tmp_path, capfd):
    rec = tmp_path / "session.h5"
    argv = ["live", "--source", "demo", "--frames", "2", "--asap", "--record", rec, *LIVE_FAST]
    rc, _, err = run_main(argv, capfd)
    assert rc == 0, err
    before = rec.read_bytes()
    rc, _, err = run_main(argv, capfd)
    assert rec.read_bytes() == before
    assert rc in (1, 2)
    one_error(err, str(rec), "exists")


def test_live_record_overwrite_replaces_only_when_asked(tmp_path, capfd):
    rec = tmp_path / "session.h5"
    rec.write_bytes(b"an earlier recording")
    argv = ["live", "--source", "demo", "--frames", "2", "--asap", "--record", rec, *LIVE_FAST, "--overwrite"]
    rc, _, err = run_main(argv, capfd)
    assert rc == 0, err
    assert len(load_recording(rec)) == 2


def test_live_export_refuses_to_replace_an_existing_file(tmp_path, capfd):
    rec = tmp_path / "session.h5"
    with LiveRecorder(rec, [_fakes["INFO"]], max_persons=2) as r:
        for i in range(3):
            r.write(_fakes["fake_result"](i))
    out = tmp_path / "session.csv"
    out.write_text("an earlier export\n")
    argv = ["live", "export", rec, "--format", "csv", "--out", out]
    rc, _, err = run_main(argv, capfd)
    assert rc == 2
    one_error(err, str(out), "already exists", "--overwrite")
    assert out.read_text() == "an earlier export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session.csv", "session.h5"]
    rc, _, err = run_main([*argv, "--overwrite"], capfd)
    assert rc == 0, err
    lines = out.read_text().splitlines()
    assert lines[0].startswith("frame_id,") and len(lines) == 4
    assert out.stat().st_mode & 0o777 == 0o644  # written via mkstemp, but not left owner-only
