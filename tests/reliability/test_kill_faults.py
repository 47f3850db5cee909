"""Fault suite, SIGKILL: a benchmark killed after its first saved batch resumes and ends with exactly the numbers of an
uninterrupted run; a kill while results.json is being written leaves no half file; a recording killed mid-run reopens
with every frame up to its last flush. SIGTERM stops a benchmark like Ctrl-C; broken saved batches are dropped and
recomputed on resume.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from engine.h36m.run.runner import LOCK_FILE, BenchmarkConfig, BenchmarkRunner
from engine.live.recording.writer import load_recording
from tests.reliability.fault_helpers import (
    BENCH_FAST,
    LIVE_FAST,
    MODEL,
    cli,
    cli_popen,
    run_main,
)

LIMIT = 8  # 4 batches of 2


# Run inside the benchmark process: the first file opened for writing whose name contains "results.json" gets half
# of its first write, then the process is SIGKILLed: a kill in the middle of writing the results.
KILL_IN_RESULTS_JSON = """
import builtins, io, os, signal
_real_open = io.open
class _Dying:
    def __init__(self, f): self._f = f
    def write(self, data):
        self._f.write(data[: max(1, len(data) // 2)]); self._f.flush(); os.fsync(self._f.fileno())
        os.kill(os.getpid(), signal.SIGKILL)
    def __getattr__(self, name): return getattr(self._f, name)
    def __enter__(self): return self
    def __exit__(self, *exc): return self._f.__exit__(*exc)
    def __iter__(self): return iter(self._f)
def _open(file, mode="r", *args, **kwargs):
    f = _real_open(file, mode, *args, **kwargs)
    name = os.path.basename(os.fsdecode(file)) if isinstance(file, (str, bytes, os.PathLike)) else ""
    if "results.json" in name and any(c in mode for c in "wax+"):
        return _Dying(f)
    return f
io.open = builtins.open = _open
"""


def _results(out: Path) -> tuple[dict, np.ndarray]:
    res = json.loads((out / MODEL / "results.json").read_text())
    res.pop("date", None)
    with h5py.File(out / MODEL / "predictions.h5", "r") as h:
        return res, h["joints_cam"][()]


@pytest.mark.slow
def test_sigkill_during_benchmark_then_rerun_equals_an_uninterrupted_run(syn_data, tmp_path):
    args = ["bench", "h36m", "--data", syn_data, "--limit", LIMIT, *BENCH_FAST]
    ref = tmp_path / "reference"
    proc = cli([*args, "--out", ref])
    assert proc.returncode == 0, proc.stderr

    out = tmp_path / "killed"
    p = cli_popen([*args, "--out", out])
    deadline = time.monotonic() + 90
    try:
        while not list(out.glob(".partial/*/shard_000000.npz")) and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.communicate(timeout=30)
    saved = sorted(out.glob(".partial/*/shard_*.npz"))
    assert 1 <= len(saved) < LIMIT // 2, "killed after the first batch was saved, before the last"
    assert not (out / "run.json").exists() and not list(out.rglob("results.json"))

    # a rerun resumes, and is killed again in the middle of writing results.json
    proc = cli([*args, "--out", out], hook=KILL_IN_RESULTS_JSON)
    assert proc.returncode == -signal.SIGKILL
    assert f"{LIMIT - 2 * len(saved)} samples to go" in proc.stderr  # only the missing batches were inferred
    assert not list(out.rglob("results.json")), "a half-written results.json is visible"
    assert not (out / "run.json").exists()

    proc = cli([*args, "--out", out])
    assert proc.returncode == 0, proc.stderr
    assert "samples to go" not in proc.stderr  # every batch was already saved
    res, joints = _results(out)
    ref_res, ref_joints = _results(ref)
    np.testing.assert_array_equal(joints, ref_joints)
    assert res == ref_res
    leftovers = [p.name for p in out.rglob("*.tmp")]
    assert all(n.startswith(".results.json.") for n in leftovers), leftovers  # only the killed write's hidden temp


def _status_lines(p, timeout_s: float = 90.0):
    """(when read, frame id) for each "frame N ..." status line a live run prints, until it ends or time is up."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            return
        if line.startswith("frame "):
            yield time.monotonic(), int(line.split()[1])


@pytest.mark.slow
def test_sigkill_during_recording_keeps_every_flushed_frame(tmp_path):
    rec = tmp_path / "session.h5"
    args = ["live", "--source", "demo", "--asap", "--record", rec, *LIVE_FAST]
    args.remove("--headless")  # the status line (once a second) says how far it got
    p = cli_popen(args)
    status: list[tuple[float, int]] = []  # (when read, frame id)
    try:
        for seen in _status_lines(p):
            status.append(seen)
            if len(status) >= 2 and status[-1][0] - status[0][0] >= 3.0:
                break
    finally:
        killed_at = time.monotonic()
        os.kill(p.pid, signal.SIGKILL)
        p.communicate(timeout=30)
    # the recorder flushes once a second: a frame reported 1.5 s before the kill is on disk
    flushed = [fid for t, fid in status if t <= killed_at - 1.5]
    assert flushed, f"the live run did not report frames in time: {status}"
    got = load_recording(rec)
    assert not got.attrs["complete"]  # it never closed cleanly
    assert len(got) > max(flushed)  # every frame up to the last flush survived
    assert got.frame_id.tolist() == list(range(len(got)))  # --asap: every frame, in order, none lost in between
    assert got.attrs["frames"] == len(got)
    assert np.isfinite(got.models[MODEL].raw["joints_cam_mm"][:, 0]).all()


@pytest.mark.slow
def test_sigterm_during_live_recording_stops_like_ctrl_c_and_closes_the_file(tmp_path):
    """A service manager's SIGTERM ends a live run as Ctrl-C does: exit 143, no traceback, the summary printed and
    the recording closed whole (complete, every frame in order), unlike SIGKILL above."""
    rec = tmp_path / "session.h5"
    args = ["live", "--source", "demo", "--asap", "--record", rec, *LIVE_FAST]
    args.remove("--headless")
    p = cli_popen(args)
    frames = 0
    try:
        for _ in _status_lines(p):
            frames += 1
            if frames >= 2:
                break
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert frames >= 2, "the live run did not report frames in time"
    assert p.returncode == 143, err
    assert "Traceback" not in err and f"recording: {rec}" in out
    got = load_recording(rec)
    assert got.attrs["complete"]  # closed cleanly
    assert len(got) >= 1 and got.frame_id.tolist() == list(range(len(got)))


_SLOW_BATCHES = ("import time, engine.inference.predictor as P\n"
                 "_o = P.Predictor.predict_batch\n"
                 "def _slow(self, *a, **k):\n"
                 "    time.sleep(0.5)\n"
                 "    return _o(self, *a, **k)\n"
                 "P.Predictor.predict_batch = _slow\n")


@pytest.mark.slow
def test_sigterm_during_benchmark_stops_like_ctrl_c_and_resumes(syn_data, tmp_path):
    out = tmp_path / "out"
    args = ["bench", "h36m", "--data", syn_data, "--out", out, *BENCH_FAST]
    p = cli_popen(args, hook=_SLOW_BATCHES)
    deadline = time.monotonic() + 90
    try:
        while not list(out.glob(".partial/*/shard_000000.npz")) and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 143, err
    assert "Traceback" not in err and "SIGTERM: stopping after the current batch" in err
    assert "stopped:" in err and "rerun the same command to resume" in err
    saved = list(out.glob(".partial/*/shard_*.npz"))
    assert 1 <= len(saved) < 6 and not (out / "run.json").exists() and not (out / LOCK_FILE).exists()
    proc = cli(args)
    assert proc.returncode == 0, proc.stderr
    assert f"{12 - 2 * len(saved)} samples to go" in proc.stderr


def test_empty_and_cut_off_saved_batches_are_dropped_and_recomputed(syn_data, tmp_path, capfd):
    out = tmp_path / "out"
    cfg = BenchmarkConfig(data_dir=syn_data, models=[MODEL], out_dir=out, allow_untrained=True, device="cpu",
                          num_workers=0, batch_size=2, flip=False, limit=8)
    runner = BenchmarkRunner(cfg)
    gen = runner.run()
    for p in gen:  # stop after three saved batches, as an interrupted run would
        if p.phase == "infer" and p.done >= 6:
            runner.cancel()
    shards = sorted(out.glob(".partial/*/shard_*.npz"))
    assert len(shards) == 3
    shards[0].write_bytes(b"")  # empty
    shards[1].write_bytes(shards[1].read_bytes()[:100])  # cut off
    rc, _, err = run_main(["bench", "h36m", "--data", syn_data, "--out", out, "--limit", 8, *BENCH_FAST], capfd)
    assert rc == 0, err
    assert "Traceback" not in err
    assert f"{shards[0]}: saved batch is broken (the file is empty (0 bytes))" in err
    assert f"{shards[1]}: saved batch is broken (cannot be read" in err
    assert "6 samples to go" in err  # the two broken batches and the one never saved
    assert (out / "run.json").is_file()


def test_resumed_batches_never_replace_a_kept_shard(tmp_path):
    from engine.h36m.run.infer import next_shard_number

    assert next_shard_number([]) == 0
    assert next_shard_number([tmp_path / "shard_000000.npz", tmp_path / "shard_000002.npz"]) == 3
