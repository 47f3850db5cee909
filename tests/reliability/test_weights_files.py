"""Issue 28 items 14 and 19: an empty or cut weights manifest makes ``live`` say so in one line (as every other
command does), and a checkpoint saved through nested DataParallel (``module.module.`` keys) is recognised."""

from __future__ import annotations

import pytest
import torch

from models.spec import build, get_spec
from tests.reliability.fault_helpers import LIVE_FAST, MODEL, one_error, run_main


@pytest.mark.parametrize("text", ["", '[{"model": "mhp-lpski-w0.5", "file": "x.p'], ids=["empty", "cut"])
def test_live_with_a_broken_manifest_is_one_error(tmp_path, monkeypatch, capfd, text):
    d = tmp_path / "weights"
    d.mkdir()
    (d / "manifest.json").write_text(text)
    monkeypatch.setenv("POSEARENA_WEIGHTS", str(d))
    argv = ["live", "--source", "demo", "--frames", "1", *[a for a in LIVE_FAST if a not in ("--models", MODEL)]]
    rc, _, err = run_main(argv, capfd)  # no --models: the defaults are chosen by what is installed
    assert rc == 2, err
    text = one_error(err, str(d / "manifest.json"), "unreadable weights manifest")
    assert "unexpected error" not in text and "a bug" not in text


@pytest.mark.parametrize("prefix", ["module.", "module.module.", "module.module.module."])
def test_nested_dataparallel_prefixes_are_stripped(tmp_path, capfd, prefix):
    torch.manual_seed(0)
    sd = build(get_spec(MODEL)).state_dict()
    path = tmp_path / "wrapped.pth"
    torch.save({"network": {prefix + k: v for k, v in sd.items()}}, path)
    rc, out, err = run_main(["weights", "--weights-dir", tmp_path / "w", "import", path], capfd)
    assert rc == 0, err
    assert f"as {MODEL}" in out
    assert all(len(line) < 400 for line in err.splitlines())
