"""Fault suite, a disk that fills up (RLIMIT_FSIZE in a subprocess: writes past the limit fail with EFBIG, "File too
large") during a benchmark export, a recording export and a recording. What must hold: the previous good files
survive whole, the work done so far is kept, no half-written file is left, and the error is one clear line. Also
``h36m synthetic`` and ``evaluate`` into a full disk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.live.recording.writer import LiveRecorder, load_recording
from tests.conftest import ROOT
from tests.reliability.fault_helpers import (  # noqa: F401  # noqa: F401  # noqa: F401
    BENCH_FAST,
    LIVE_FAST,
    MODEL,
    child_env,
    cli,
    cli_popen,
    copy_data,
    one_error,
    run_main,
    syn_data,
)

EXPORT_LIMIT = 16_000  # bytes: the shards (~2 KB) and results.json (~5 KB) fit, predictions.h5 (~29 KB) does not


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def export_full(syn_data, tmp_path_factory):  # noqa: F811
    """Finished results of config A (2 samples); then config B (4 samples, --overwrite) runs out of disk while
    exporting. Returns (out, files before, files right after the failure, the failed process)."""
    import main

    out = tmp_path_factory.mktemp("disk") / "out"
    common = ["bench", "h36m", "--data", str(syn_data), "--out", str(out), *BENCH_FAST]
    assert main.main([*common, "--limit", "2"]) == 0
    before = _snapshot(out)
    proc = cli([*common, "--limit", "4", "--overwrite"], fsize=EXPORT_LIMIT)
    return out, before, _snapshot(out), proc, common


@pytest.mark.slow
def test_disk_full_during_export_keeps_previous_files_and_inferred_batches(export_full, capfd):
    out, before, after, proc, common = export_full
    assert proc.returncode != 0
    assert not [n for n in after if n.endswith(".tmp")], "half-written temp files left behind"
    old_h5 = f"{MODEL}/predictions.h5"
    assert after[old_h5] == before[old_h5]  # the write that failed did not touch the previous file
    for name, data in after.items():
        if name.endswith(".json"):
            json.loads(data)  # every JSON file is whole
    shards = [n for n in after if n.startswith(".partial/") and n.endswith(".npz")]
    assert len(shards) == 2  # config B's 4 samples, 2 per batch, kept for the rerun
    # rerun with space: nothing is inferred again, the export completes
    rc, _, err = run_main([*common, "--limit", "4", "--overwrite"], capfd)
    assert rc == 0, err
    assert "samples to go" not in err
    res = json.loads((out / MODEL / "results.json").read_text())
    run = json.loads((out / "run.json").read_text())
    assert res["num_samples"] == 4 and run["num_samples"] == 4 and run["status"] == "finished"
    assert not (out / ".partial").exists()


@pytest.mark.slow
def test_disk_full_during_export_is_one_clear_error(export_full):
    out, _, _, proc, _ = export_full
    assert proc.returncode == 1
    one_error(proc.stderr, str(out / MODEL / "predictions.h5"), "File too large", "disk full",
              "inferred batches are kept", "rerun")
    modes = {str(p.relative_to(out)): oct(p.stat().st_mode & 0o777) for p in out.rglob("*") if p.is_file()}
    assert set(modes.values()) == {"0o644"}, modes  # atomic writes, yet not mkstemp's owner-only 0o600


@pytest.mark.slow
def test_failed_overwrite_never_mixes_two_configurations(export_full):
    """The old run.json must not stay 'finished' beside new model files, or a rerun would reuse the wrong numbers."""
    _, _, after, _, _ = export_full
    run = json.loads(after["run.json"]) if "run.json" in after else None
    res = json.loads(after[f"{MODEL}/results.json"])
    assert run is None or run.get("status") != "finished" or run["num_samples"] == res["num_samples"]


# What LiveRecorder reads from the engine's ModelInfo / LiveResult, built without the engine so the subprocess below
# starts fast (numpy + h5py only). One person, every joint finite.
FAKES = textwrap.dedent("""
    from types import SimpleNamespace
    import numpy as np
    NAMES = tuple(f"j{k}" for k in range(18))
    INFO = SimpleNamespace(name="m", label="m (untrained weights)", trained=False, joint_set="h36m18",
                           joint_names=NAMES, root_index=0, num_joints=18, sha256=None, checkpoint=None)
    INTR = SimpleNamespace(fx=554.3, fy=554.3, cx=320.0, cy=240.0)

    def fake_result(i):
        cam = np.full((1, 18, 3), 3000.0) + np.arange(18)[None, :, None] + i
        pose = SimpleNamespace(joints_2d=cam[..., :2] / 10, joints_rel_mm=cam - cam[:, :1], joints_cam_mm=cam)
        return SimpleNamespace(frame_id=i, capture_ts=100.0 + i / 10, media_ts=i / 10, result_ts=100.01 + i / 10,
                               boxes=np.array([[10.0, 20.0, 100.0, 200.0]]), track_ids=np.array([1]),
                               root_cam_mm=cam[:, 0], intrinsics=INTR, latencies_ms={"end_to_end": 10.0},
                               outputs={"m": pose}, smoothed={"m": pose})
""")


_fakes: dict = {}


exec(FAKES, _fakes)


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "session.h5"
    with LiveRecorder(path, [_fakes["INFO"]], max_persons=2) as rec:
        for i in range(5):
            rec.write(_fakes["fake_result"](i))
    return path


def test_disk_full_during_csv_export_keeps_the_previous_file(recording, tmp_path):
    out = tmp_path / "session.csv"
    out.write_text("previous good export\n")
    proc = cli(["live", "export", recording, "--format", "csv", "--out", out, "--overwrite"], fsize=500)
    assert proc.returncode != 0
    assert out.read_text() == "previous good export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session.csv"]  # no temp file left beside it
    one_error(proc.stderr, str(out), "File too large", "disk full / file too large", "previous file is unchanged")


def test_disk_full_during_csv_export_is_one_clear_error_and_leaves_no_temp(recording, tmp_path):
    out = tmp_path / "session.csv"
    proc = cli(["live", "export", recording, "--format", "csv", "--out", out], fsize=500)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert proc.returncode in (1, 2)
    one_error(proc.stderr, str(out), "File too large")


WRITER = textwrap.dedent("""
    import resource, signal, sys
    sys.path.insert(0, {root!r})
    from engine.live.recording.writer import LiveRecorder
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
    rec = LiveRecorder({path!r}, [INFO], max_persons=2, flush_interval_s=0.0)  # every write is flushed
    try:
        for i in range(100000):
            rec.write(fake_result(i))
            print("flushed", rec.frames_written, flush=True)
    except Exception as e:
        print("error", type(e).__name__, str(e).splitlines()[0], flush=True)
    try:
        rec.close()
    except Exception as e:
        print("close-error", type(e).__name__, flush=True)
""")


@pytest.fixture(scope="module")
def recording_full(tmp_path_factory) -> tuple[Path, int, str]:
    """A recorder flushing every frame until a 300 kB file-size limit stops it (its second chunk does not fit)."""
    path = tmp_path_factory.mktemp("recfull") / "session.h5"
    code = FAKES + WRITER.format(root=str(ROOT), path=str(path), limit=300_000)
    proc = subprocess.run([sys.executable, "-c", code],
                          cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=120)
    lines = proc.stdout.splitlines()
    flushed = max([int(ln.split()[1]) for ln in lines if ln.startswith("flushed")], default=0)
    error = next((ln for ln in lines if ln.startswith("error")), "")
    return path, flushed, error


def test_disk_full_during_recording_stops_with_an_error(recording_full):
    path, flushed, error = recording_full
    assert flushed >= 64, "the limit should allow the first chunk of frames"
    assert error, "a write that fails must raise, not be dropped silently"
    assert os.path.getsize(path) <= 300_000


def test_disk_full_during_recording_keeps_every_flushed_frame(recording_full):
    path, flushed, error = recording_full
    assert error.startswith("error RecordingError") and str(path) in error
    rec = load_recording(path)
    assert len(rec) >= flushed and rec.frame_id.tolist() == list(range(len(rec)))


def test_synthetic_data_into_a_full_disk_is_one_clear_error(tmp_path):
    out = tmp_path / "syn"
    proc = cli(["h36m", "synthetic", "--out", out, "--samples", 12], fsize=20_000)
    assert proc.returncode == 1
    one_error(proc.stderr, str(out), "cannot write it", "File too large", "incomplete")


def test_evaluate_into_a_full_disk_is_one_error(syn_data, tmp_path):  # noqa: F811
    import json

    from engine.h36m.dataset import load_test_set

    ts = load_test_set(syn_data, 2)  # real predictions (the ground truth itself), so writing is what fails
    rel = (ts.joints_cam - ts.joints_cam[:, :1])[:, :17]
    pred = tmp_path / "p.json"
    pred.write_text(json.dumps([{"image_id": int(i), "joint_cam": j.tolist(), "bbox": [0, 0, 1, 1]}
                                for i, j in zip(ts.image_ids, rel)]))
    proc = cli(["evaluate", "--data", syn_data, "--protocol", "2", "--predictions", pred, "--out", tmp_path / "o"],
               fsize=2000)
    assert proc.returncode == 1
    one_error(proc.stderr, "cannot write")
