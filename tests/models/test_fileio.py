"""models.fileio: the one atomic-write helper every layer uses."""

from __future__ import annotations

import json
import os
import stat

import pytest

from models.fileio import atomic_copy, atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text


def _mode(p) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_atomic_path_replaces_in_one_step_with_an_ordinary_mode(tmp_path):
    final = tmp_path / "sub" / "out.bin"  # the folder is created
    with atomic_path(final) as tmp:
        assert tmp.parent == final.parent and tmp.name.startswith(".out.bin.") and tmp.name.endswith(".tmp")
        assert not final.exists()  # nothing under the final name until the write succeeded
        tmp.write_bytes(b"abc")
    assert final.read_bytes() == b"abc" and _mode(final) == 0o644
    assert os.listdir(final.parent) == ["out.bin"]


def test_failure_keeps_the_previous_file_and_leaves_no_temp(tmp_path):
    final = tmp_path / "results.json"
    final.write_text("old")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(final) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert final.read_text() == "old"
    assert os.listdir(tmp_path) == ["results.json"]
    with pytest.raises(TypeError):  # not serialisable: fails before any file is made
        atomic_write_json(tmp_path / "x.json", {"a": object()})
    assert os.listdir(tmp_path) == ["results.json"]


def test_text_json_bytes_copy_and_mode(tmp_path):
    atomic_write_text(tmp_path / "a.txt", "é\r\nx", mode=0o600)
    assert (tmp_path / "a.txt").read_bytes() == "é\r\nx".encode() and _mode(tmp_path / "a.txt") == 0o600
    atomic_write_json(tmp_path / "b.json", {"k": [1, 2]}, fsync=True)
    assert (tmp_path / "b.json").read_text() == json.dumps({"k": [1, 2]}, indent=2) + "\n"
    atomic_write_json(tmp_path / "c.json", {"k": 1}, indent=None, end="")
    assert (tmp_path / "c.json").read_text() == '{"k": 1}'
    with pytest.raises(ValueError):
        atomic_write_json(tmp_path / "d.json", float("nan"), allow_nan=False)
    atomic_write_bytes(tmp_path / "e.bin", b"\x00\x01")
    (tmp_path / "e.bin").chmod(0o600)
    atomic_copy(tmp_path / "e.bin", tmp_path / "f.bin")
    assert (tmp_path / "f.bin").read_bytes() == b"\x00\x01" and _mode(tmp_path / "f.bin") == 0o644
    with pytest.raises(FileNotFoundError):
        atomic_copy(tmp_path / "missing", tmp_path / "g.bin")
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.json", "c.json", "e.bin", "f.bin"]
