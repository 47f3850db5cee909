"""Shared pieces of the fault suite (tests/reliability/test_*_faults.py): running the CLI in a subprocess (optionally
with a file-size limit standing in for a full disk), checking that a failure is one clear error line without a
traceback, and a small synthetic Human3.6M made with ``python main.py h36m synthetic``. No tests here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT

MODEL = "mhp-lpski-w0.5"  # ~1.4 M parameters: the smallest registered pose net
BENCH_FAST = ["--models", MODEL, "--allow-untrained", "--device", "cpu", "--workers", "0", "--batch-size", "2",
              "--no-flip"]
LIVE_FAST = ["--models", MODEL, "--allow-untrained", "--rootnet", "none", "--detector", "none", "--device", "cpu",
             "--headless"]
SYN_SAMPLES = 12  # S9 + S11 test images

# ``python main.py ARGS`` with RLIMIT_FSIZE: a write past LIMIT bytes fails with EFBIG ("File too large") instead of
# killing the process (SIGXFSZ ignored), like a disk that fills up. Optionally a Python hook runs first.
_WRAPPER = textwrap.dedent("""
    import os, resource, runpy, signal, sys
    sys.path.insert(0, os.getcwd())
    limit, hook = int(sys.argv[1]), sys.argv[2]
    if hook:
        exec(hook)
    if limit > 0:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    sys.argv = ["main.py", *sys.argv[3:]]
    runpy.run_path("main.py", run_name="__main__")
""")


def child_env() -> dict[str, str]:
    env = dict(os.environ)  # POSEARENA_HOME from tests/conftest.py: never the user's weights
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1", YOLO_OFFLINE="1",
               YOLO_AUTOINSTALL="false", YOLO_VERBOSE="false")
    return env


def cli_argv(args: list[str], *, fsize: int = 0, hook: str = "") -> list[str]:
    if fsize or hook:
        return [sys.executable, "-c", _WRAPPER, str(fsize), hook, *map(str, args)]
    return [sys.executable, str(ROOT / "main.py"), *map(str, args)]


def cli(args: list[str], *, fsize: int = 0, hook: str = "", timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python main.py ARGS`` to the end (stdout/stderr captured as text)."""
    return subprocess.run(cli_argv(args, fsize=fsize, hook=hook), cwd=ROOT, env=child_env(), capture_output=True,
                          text=True, timeout=timeout)


def cli_popen(args: list[str], *, hook: str = "") -> subprocess.Popen:
    return subprocess.Popen(cli_argv(args, hook=hook), cwd=ROOT, env=child_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def one_error(stderr: str, *needles: str) -> str:
    """Assert: no Python traceback, exactly one ``error:`` line, and every needle in the error text. Returns it.

    Indented lines after the error line belong to it (a dataset report lists one problem per line)."""
    assert "Traceback (most recent call last)" not in stderr, stderr
    lines = stderr.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("error:")]
    assert len(starts) == 1, f"expected one 'error:' line, got {len(starts)}:\n{stderr}"
    i = starts[0]
    text = "\n".join([lines[i], *[ln for ln in lines[i + 1:] if ln.startswith("  ")]])
    for n in needles:
        assert n in text, f"{n!r} not in the error message:\n{text}"
    return text


def run_main(argv: list[str], capfd) -> tuple[int, str, str]:
    """The CLI in this process (fast): ``main.main(argv)``; fd-level capture, so library noise shows too."""
    import main

    capfd.readouterr()
    rc = main.main([str(a) for a in argv])
    out, err = capfd.readouterr()
    return rc, out, err


@pytest.fixture(scope="session")
def syn_data(tmp_path_factory) -> Path:
    """A small synthetic Human3.6M written by the CLI (12 Protocol 2 test images)."""
    import main

    root = tmp_path_factory.mktemp("faults-h36m") / "syn"
    assert main.main(["h36m", "synthetic", "--out", str(root), "--samples", str(SYN_SAMPLES), "--seed", "3"]) == 0
    return root


def copy_data(syn: Path, dest: Path) -> Path:
    shutil.copytree(syn, dest)
    return dest


def edit_json(path: Path, edit) -> None:
    obj = json.loads(path.read_text())
    edit(obj)
    path.write_text(json.dumps(obj))


def test_images(root: Path, subject: int = 9) -> list[dict]:
    """The subject's test images (frame_idx % 64 == 0) in the order the benchmark uses (by image id)."""
    data = json.loads((root / "annotations" / f"Human36M_subject{subject}_data.json").read_text())
    return sorted((im for im in data["images"] if im["frame_idx"] % 64 == 0), key=lambda im: im["id"])


test_images.__test__ = False  # a helper, not a test
