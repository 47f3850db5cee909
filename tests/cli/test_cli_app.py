"""The ``posearena`` command starts and lists its subcommands without loading torch or Qt."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_help_lists_subcommands():
    out = subprocess.run([sys.executable, "main.py", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "usage: posearena" in out.stdout
