"""Fault suite, checkpoints: cut-off, empty, foreign, wrong-model, wrong-shape and code-running files are refused with
one message naming the file and the problem; nothing is installed; code in a pickle never runs unless trusted. A
checkpoint changed in place after install, a directory or a huge file given as a checkpoint are refused the same way.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import torch

from models.loader import load_model
from models.weights.store import read_manifest
from tests.reliability.fault_helpers import (
    BENCH_FAST,
    LIVE_FAST,
    MODEL,
    cli,
    one_error,
    run_main,
)


@pytest.fixture(scope="module")
def state_dict() -> dict[str, torch.Tensor]:
    return load_model(MODEL, allow_untrained=True).net.state_dict()


@pytest.fixture(scope="module")
def files(tmp_path_factory, state_dict) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("ckpt")
    good = d / "good.pth"
    torch.save({"network": state_dict}, good)
    raw = good.read_bytes()
    (d / "truncated.pth").write_bytes(raw[: len(raw) // 2])
    (d / "empty.pth").write_bytes(b"")
    (d / "notes.pth").write_text("these are not weights\n")
    wrong = dict(state_dict)
    key = "backbone.first_conv.0.weight"
    wrong[key] = torch.zeros(25, 4, 4, 4)
    torch.save(wrong, d / "shape.pth")
    torch.save(load_model("mhp-lpwo", allow_untrained=True).net.state_dict(), d / "other.pth")
    return {p.stem: p for p in d.iterdir()}


class _Call:
    """Pickles as a call of ``fn(*args)``: what a malicious checkpoint does on unpickling."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


CASES = [
    ("truncated", "truncated or corrupt zip archive"),
    ("empty", "the file is empty (0 bytes)"),
    ("notes", "not a PyTorch checkpoint: it is a text file"),
    ("shape", "backbone.first_conv.0.weight (checkpoint [25, 4, 4, 4] vs model [24, 3, 3, 3])"),
    ("other", "checkpoint does not fit mhp-lpski-w0.5 (it is a checkpoint of mhp-lpwo)"),
]


@pytest.mark.parametrize("name,problem", CASES, ids=[c[0] for c in CASES])
def test_weights_import_refuses_bad_file(files, tmp_path, capfd, name, problem):
    wd = tmp_path / "weights"
    rc, _, err = run_main(["weights", "import", files[name], "--as", MODEL, "--weights-dir", wd], capfd)
    assert rc == 1
    one_error(err, str(files[name]), problem)
    assert not read_manifest(wd) and not list(wd.glob("*.pth"))  # nothing installed


@pytest.mark.parametrize("name,problem", [CASES[0], CASES[4]], ids=["truncated", "other"])
def test_benchmark_refuses_bad_weights(syn_data, files, tmp_path, capfd, name, problem):
    out = tmp_path / "out"
    rc, _, err = run_main(["bench", "h36m", "--data", syn_data, "--out", out, "--limit", "2",
                           "--weights", f"{MODEL}={files[name]}", *BENCH_FAST], capfd)
    assert rc == 1
    one_error(err, str(files[name]), problem)
    assert not (out / "run.json").exists()


def test_code_running_pickle_is_refused_unless_trusted(state_dict, tmp_path, capfd):
    """The real CLI (a subprocess) refuses it and the payload does not run; --trust (sha256 recorded) loads it."""
    marker = tmp_path / "payload-ran"
    evil = tmp_path / "evil.pth"
    torch.save({"network": state_dict, "hook": _Call(exec, f"open({str(marker)!r}, 'w').write('ran')")}, evil)
    wd = tmp_path / "weights"
    proc = cli(["weights", "import", evil, "--as", MODEL, "--weights-dir", wd])
    assert proc.returncode == 1
    one_error(proc.stderr, str(evil), "stores Python objects besides tensors (exec)", "can execute code",
              "is not a trusted release", "--trust")
    assert not marker.exists() and not read_manifest(wd)

    rc, _, err = run_main(["weights", "import", evil, "--as", MODEL, "--weights-dir", wd, "--trust"], capfd)
    assert rc == 0, err
    (entry,) = read_manifest(wd)
    assert entry.trusted and entry.model == MODEL
    lm = load_model(MODEL, weights_dir=wd)  # the trusted sha256 allows full unpickling from now on
    assert lm.trained and lm.sha256 == entry.sha256


def test_blocked_module_pickle_is_refused_without_running_code(state_dict, tmp_path, capfd):
    marker = tmp_path / "payload-ran"
    evil = tmp_path / "evil-os.pth"
    torch.save({"network": state_dict, "hook": _Call(os.system, f"touch {marker}")}, evil)
    rc, _, err = run_main(["weights", "import", evil, "--as", MODEL, "--weights-dir", tmp_path / "w"], capfd)
    assert rc == 1
    one_error(err, str(evil))
    assert not marker.exists()


def test_blocked_module_pickle_message_says_it_runs_code(state_dict, tmp_path, capfd):
    evil = tmp_path / "evil-os.pth"
    torch.save({"network": state_dict, "hook": _Call(os.system, "true")}, evil)
    rc, _, err = run_main(["weights", "import", evil, "--as", MODEL, "--weights-dir", tmp_path / "w"], capfd)
    assert rc == 1
    text = one_error(err, str(evil), "posix.system", "can execute code")
    assert "corrupt or truncated" not in text


def test_live_refuses_bad_installed_weights(files, tmp_path, capfd):
    wd = tmp_path / "weights"
    wd.mkdir()
    (wd / f"{MODEL}.pth").write_bytes(files["truncated"].read_bytes())
    argv = ["live", "--source", "demo", "--frames", "1", "--asap", "--weights-dir", wd, *LIVE_FAST]
    rc, _, err = run_main(argv, capfd)
    assert rc in (1, 2)
    one_error(err, str(wd / f"{MODEL}.pth"), "truncated or corrupt zip archive")


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


def test_weights_import_of_a_directory_says_directory(tmp_path, capfd):
    rc, _, err = run_main(["weights", "import", tmp_path], capfd)
    assert rc == 1
    one_error(err, "is a directory")
