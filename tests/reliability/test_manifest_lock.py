"""Issue 28 item 5: concurrent writers of the weights manifest and the GUI settings file keep every entry (the
read-modify-write is under a file lock), and both files are complete or absent."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.conftest import ROOT
from tests.reliability.complete import assert_complete_or_absent
from tests.reliability.fault_helpers import child_env

WRITERS, EACH = 4, 12

_MANIFEST_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from models.weights.store import ManifestEntry, add_manifest_entry
    d, k, n, go = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    while not go.exists():
        time.sleep(0.01)
    for i in range(n):
        add_manifest_entry(ManifestEntry(f"m{k}-{i}", f"m{k}-{i}.pth", "0" * 64, "import:x", "now"), d)
""")

_SETTINGS_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from gui import settings
    ini, k, n, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    settings.use_settings_file(ini)
    while not go.exists():
        time.sleep(0.01)
    for i in range(n):
        settings.put(f"w{k}/key{i}", i)
""")


def _race(script: str, target: Path, go: Path) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", script, str(target), str(k), str(EACH), str(go)], cwd=ROOT,
                              env=child_env(), stderr=subprocess.PIPE, text=True) for k in range(WRITERS)]
    time.sleep(4.0)  # every writer imported and waiting
    go.touch()
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err


def test_concurrent_manifest_writers_keep_every_entry(tmp_path):
    d = tmp_path / "weights"
    _race(_MANIFEST_WRITER, d, tmp_path / "go")
    rows = json.loads((d / "manifest.json").read_text())
    assert sorted(r["model"] for r in rows) == sorted(f"m{k}-{i}" for k in range(WRITERS) for i in range(EACH))
    assert_complete_or_absent(d / "manifest.json")


def test_concurrent_gui_settings_writers_keep_every_key(tmp_path):
    ini = tmp_path / "gui.ini"
    _race(_SETTINGS_WRITER, ini, tmp_path / "go")
    from gui import settings

    settings.use_settings_file(ini)
    try:
        missing = [f"w{k}/key{i}" for k in range(WRITERS) for i in range(EACH)
                   if settings.get(f"w{k}/key{i}") != i]
    finally:
        settings.use_settings_file(None)
    assert not missing, f"{len(missing)} keys lost: {missing[:5]}"
    assert_complete_or_absent(ini)
