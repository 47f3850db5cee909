"""Fault suite, one benchmark run per output folder: a second run into a locked folder is refused naming the holder's
pid, ``--wait`` waits for it (a crashed holder releases it), and a refused run leaves no lock file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from engine.h36m.run.runner import LOCK_FILE
from tests.reliability.fault_helpers import BENCH_FAST, one_error, run_main

# holds the benchmark's output-folder lock like another run would: flock, pid in the file, then sleep
_HOLD = ("import fcntl, os, sys, time\n"
         "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\n"
         "os.write(fd, str(os.getpid()).encode())\n"
         "print('locked', flush=True)\n"
         "time.sleep(float(sys.argv[2]))\n")


def _hold_lock(out: Path, seconds: float) -> subprocess.Popen:
    out.mkdir(parents=True, exist_ok=True)
    p = subprocess.Popen([sys.executable, "-c", _HOLD, str(out / LOCK_FILE), str(seconds)], stdout=subprocess.PIPE,
                         text=True)
    assert p.stdout.readline().strip() == "locked"
    return p


def test_second_benchmark_into_a_locked_out_folder_is_refused(syn_data, tmp_path, capfd):
    out = tmp_path / "out"
    holder = _hold_lock(out, 60)
    try:
        rc, _, err = run_main(["bench", "h36m", "--data", syn_data, "--out", out, "--limit", 2, *BENCH_FAST], capfd)
    finally:
        holder.kill()
        holder.wait()
    assert rc == 1
    one_error(err, str(out), f"pid {holder.pid}", "another benchmark run", "--wait")
    assert not (out / ".partial").exists() and not (out / "run.json").exists()


def test_wait_for_the_lock_and_a_crashed_holder_releases_it(syn_data, tmp_path, capfd):
    out = tmp_path / "out"
    holder = _hold_lock(out, 60)
    killer = subprocess.Popen([sys.executable, "-c", f"import os, time; time.sleep(1.5); os.kill({holder.pid}, 9)"])
    try:
        t0 = time.monotonic()
        rc, _, err = run_main(["bench", "h36m", "--data", syn_data, "--out", out, "--limit", 2, "--wait",
                               *BENCH_FAST], capfd)
    finally:
        killer.wait()
        holder.wait()
    assert rc == 0, err
    assert time.monotonic() - t0 >= 1.0 and "waiting for the other run" in err
    assert (out / "run.json").is_file() and not (out / LOCK_FILE).exists()  # released (and removed) at the end


def test_the_lock_file_is_not_left_behind_by_a_refused_run(syn_data, tmp_path, capfd):
    out = tmp_path / "fresh"
    rc, _, _ = run_main(["bench", "h36m", "--data", syn_data, "--out", out, "--root", "gt", "--rootnet-file",
                         tmp_path / "x.json", *BENCH_FAST], capfd)
    assert rc == 1 and not out.exists()
    assert not os.path.exists(out / LOCK_FILE)
