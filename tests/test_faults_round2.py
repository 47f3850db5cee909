"""Fault suite, second round (issue 21): concurrent benchmark runs on one --out, truncated JPEGs, corrupt files in an
image folder, a changed installed checkpoint, broken saved batches, a full disk under ``h36m synthetic``, SIGTERM
during a benchmark, and arguments that were silently ignored or wrongly accepted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.h36m.run.runner import LOCK_FILE, BenchmarkConfig, BenchmarkRunner
from tests.test_faults_helpers import (  # noqa: F401
    BENCH_FAST,
    MODEL,
    cli,
    cli_popen,
    copy_data,
    one_error,
    run_main,
    syn_data,
)
from tests.test_faults_helpers import test_images as _test_images

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


# ---------------------------------------------------------------------------------------------------------- case 1


def test_second_benchmark_into_a_locked_out_folder_is_refused(syn_data, tmp_path, capfd):  # noqa: F811
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


def test_wait_for_the_lock_and_a_crashed_holder_releases_it(syn_data, tmp_path, capfd):  # noqa: F811
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


# ---------------------------------------------------------------------------------------------------------- case 2


def _truncate_image(data: Path, k: int = 4) -> str:
    """Keep the first half of the k-th test image: the JPEG header is whole, OpenCV decodes it with grey fill."""
    name = _test_images(data)[k]["file_name"]
    p = data / "images" / name
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])
    assert cv2.imread(str(p)) is not None  # the old check (imread is None) passes it
    return name


def test_truncated_jpeg_is_reported_by_validation_of_all_images(syn_data, tmp_path, capfd):  # noqa: F811
    data = copy_data(syn_data, tmp_path / "data")
    name = _truncate_image(data)
    rc, out, _ = run_main(["h36m", "validate", "--data", data, "--images", "all"], capfd)
    assert rc == 1
    assert f"ERROR: images/{name}: image cannot be decoded: truncated JPEG" in out


def test_truncated_jpeg_met_mid_run_is_named_not_scored(syn_data, tmp_path, capfd):  # noqa: F811
    data = copy_data(syn_data, tmp_path / "data")
    name = _truncate_image(data)
    out = tmp_path / "out"
    rc, _, err = run_main(["bench", "h36m", "--data", data, "--out", out, *BENCH_FAST], capfd)
    assert rc == 1
    one_error(err, str(data / "images" / name), "truncated JPEG", "rerun the same command to resume")
    assert not (out / "run.json").exists()


# ---------------------------------------------------------------------------------------------------------- case 3


def test_corrupt_file_in_an_image_folder_is_named_and_ids_stay_bound_to_files(tmp_path):
    from engine.live.sources import SourceOptions, open_source

    for i in range(5):
        cv2.imwrite(str(tmp_path / f"f{i}.jpg"), np.full((20, 30, 3), 40 * i, np.uint8))
    bad = tmp_path / "f1.jpg"
    bad.write_bytes(bad.read_bytes()[:200])  # cut off: decodes with grey fill in OpenCV
    (tmp_path / "f3.jpg").write_bytes(b"not an image")
    events = []
    with open_source(str(tmp_path), SourceOptions(on_event=events.append)) as src:
        frames = list(src)
    assert [f.frame_id for f in frames] == [0, 2, 4]  # frame k is file k: f0, f2, f4
    assert [int(f.image[0, 0, 0]) for f in frames] == [0, 80, 160]
    msgs = [e.message for e in events if e.kind == "corrupt"]
    assert len(msgs) == 2 and str(bad) in msgs[0] and "truncated JPEG" in msgs[0]
    assert str(tmp_path / "f3.jpg") in msgs[1]
    assert [(fid, Path(p).name) for fid, p, _ in src.skipped] == [(1, "f1.jpg"), (3, "f3.jpg")]
    assert src.stats.corrupt == 2


# ---------------------------------------------------------------------------------------------------------- case 5


def _installed_checkpoint(tmp_path: Path) -> tuple[Path, Path]:
    import torch

    from models.spec import build, get_spec
    from models.weights.store import import_checkpoint

    src = tmp_path / "ckpt.pth"
    torch.manual_seed(0)
    torch.save(build(get_spec(MODEL)).state_dict(), src)
    wdir = tmp_path / "weights"
    import_checkpoint(src, weights_dir=wdir)
    return wdir, next(wdir.glob("*.pth"))


def test_installed_checkpoint_changed_in_place_is_refused_at_load(tmp_path):
    from models.checkpoint import CheckpointError
    from models.loader import load_model

    wdir, path = _installed_checkpoint(tmp_path)
    assert load_model(MODEL, weights_dir=wdir).trained  # whole: loads
    raw = bytearray(path.read_bytes())
    mid = len(raw) // 2
    raw[mid:mid + 4] = bytes(b ^ 0xFF for b in raw[mid:mid + 4])  # 4 bytes overwritten, same size
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="sha256 .* differs from the one recorded"):
        load_model(MODEL, weights_dir=wdir)


# ---------------------------------------------------------------------------------------------------------- case 10


def test_directory_given_as_checkpoint_is_called_a_directory(tmp_path):
    from models.checkpoint import CheckpointError
    from models.loader import load_model

    with pytest.raises(CheckpointError, match="is a directory, not a checkpoint file"):
        load_model(MODEL, weights=tmp_path)


def test_huge_file_given_as_checkpoint_is_refused_before_hashing(tmp_path):
    from models.checkpoint import CheckpointError
    from models.loader import load_model

    big = tmp_path / "huge.pth"
    with open(big, "wb") as fh:
        fh.truncate(20 * 10**9)  # sparse: 20 GB that takes no space
    t0 = time.monotonic()
    with pytest.raises(CheckpointError, match="20.0 GB is far larger than any model checkpoint"):
        load_model(MODEL, weights=big)
    assert time.monotonic() - t0 < 2.0  # not hashed (that takes ~35 s)


# ---------------------------------------------------------------------------------------------------------- case 6


def test_empty_and_cut_off_saved_batches_are_dropped_and_recomputed(syn_data, tmp_path, capfd):  # noqa: F811
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


# ---------------------------------------------------------------------------------------------------------- case 7


def test_synthetic_data_into_a_full_disk_is_one_clear_error(tmp_path):
    out = tmp_path / "syn"
    proc = cli(["h36m", "synthetic", "--out", out, "--samples", 12], fsize=20_000)
    assert proc.returncode == 1
    one_error(proc.stderr, str(out), "cannot write it", "File too large", "incomplete")


# ---------------------------------------------------------------------------------------------------------- case 9

_SLOW_BATCHES = ("import time, engine.inference.predictor as P\n"
                 "_o = P.Predictor.predict_batch\n"
                 "def _slow(self, *a, **k):\n"
                 "    time.sleep(0.5)\n"
                 "    return _o(self, *a, **k)\n"
                 "P.Predictor.predict_batch = _slow\n")


@pytest.mark.slow
def test_sigterm_during_benchmark_stops_like_ctrl_c_and_resumes(syn_data, tmp_path):  # noqa: F811
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


# ---------------------------------------------------------------------------------------------------------- case 12


def test_rootnet_file_with_root_gt_is_refused(syn_data, tmp_path, capfd):  # noqa: F811
    rn = next(syn_data.glob("**/*rootnet*.json"), None) or next(syn_data.glob("*.json"))
    rc, _, err = run_main(["bench", "h36m", "--data", syn_data, "--out", tmp_path / "o", "--root", "gt",
                           "--rootnet-file", rn, *BENCH_FAST], capfd)
    assert rc == 1
    one_error(err, str(rn), "used only with root 'rootnet'")
    assert not (tmp_path / "o").exists()


def test_cuda_only_profile_on_the_cpu_is_refused(syn_data, tmp_path, capfd):  # noqa: F811
    rc, _, err = run_main(["bench", "h36m", "--data", syn_data, "--out", tmp_path / "o", "--profile", "fp16",
                           *BENCH_FAST], capfd)
    assert rc == 1
    one_error(err, "--profile fp16 needs a CUDA GPU", "the device is cpu")
    assert not (tmp_path / "o").exists()


def test_read_image_detects_cut_off_jpeg_and_png(tmp_path):
    from engine.live.image_source import image_data_problem, read_image

    ok, jpg = cv2.imencode(".jpg", np.full((16, 16, 3), 128, np.uint8))
    ok2, png = cv2.imencode(".png", np.full((16, 16, 3), 128, np.uint8))
    assert ok and ok2
    jpg, png = jpg.tobytes(), png.tobytes()
    assert image_data_problem(jpg) is None and image_data_problem(jpg + b"\x00\x00") is None
    assert "truncated JPEG" in image_data_problem(jpg[:-10])
    assert "truncated PNG" in image_data_problem(png[:-20])
    assert image_data_problem(b"") == "the file is empty (0 bytes)"
    (tmp_path / "a.jpg").write_bytes(jpg)
    img, why = read_image(tmp_path / "a.jpg")
    assert why == "" and np.array_equal(img, cv2.imread(str(tmp_path / "a.jpg")))
    assert read_image(tmp_path / "missing.jpg")[0] is None


def test_the_lock_file_is_not_left_behind_by_a_refused_run(syn_data, tmp_path, capfd):  # noqa: F811
    out = tmp_path / "fresh"
    rc, _, _ = run_main(["bench", "h36m", "--data", syn_data, "--out", out, "--root", "gt", "--rootnet-file",
                         tmp_path / "x.json", *BENCH_FAST], capfd)
    assert rc == 1 and not out.exists()
    assert not os.path.exists(out / LOCK_FILE)


def test_video_damaged_mid_file_says_it_ended_early_and_at_which_frame(tmp_path):
    """Case 11: a video cut off mid-file used to end with exit 0 and "corrupt 0"; now the end is named."""
    import cv2

    from engine.live.sources import SourceOptions, open_source

    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    rng = np.random.default_rng(0)
    for _ in range(40):
        writer.write(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    writer.release()
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])  # the header still announces 40 frames
    events = []
    src = open_source(str(path), SourceOptions(realtime=False, on_event=events.append))
    frames = 0
    while src.read() is not None:
        frames += 1
    src.close()
    assert 0 < frames < 40
    assert src.stats.corrupt >= 1
    msgs = [e.message for e in events if e.kind == "corrupt"]
    assert any(f"ended early, at frame {frames} of the 40" in m for m in msgs), msgs
