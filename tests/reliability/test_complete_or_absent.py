"""The "complete or absent" rule (tests/reliability/complete.py) checked on a full disk for the writers whose own
files do not check it already: recordings, the weights manifest, the GUI settings file and benchmark results.
(Exports and ``--save-video``: test_exports.py; merges: test_merge.py; evaluate: test_evaluate.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.conftest import ROOT
from tests.reliability.complete import assert_complete_or_absent
from tests.reliability.fault_helpers import BENCH_FAST, child_env, cli, syn_data  # noqa: F401
from tests.reliability.test_disk_full_faults import FAKES, WRITER

_FULL = textwrap.dedent("""
    import resource, signal, sys
    sys.path.insert(0, {root!r})
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
""")


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=child_env(), capture_output=True, text=True,
                          timeout=180)


def test_recording_on_a_full_disk_is_a_whole_readable_file(tmp_path):
    path = tmp_path / "session.h5"
    proc = _run(FAKES + WRITER.format(root=str(ROOT), path=str(path), limit=300_000))
    assert "error RecordingError" in proc.stdout, proc.stdout + proc.stderr
    assert assert_complete_or_absent(path)  # every dataset reads back: the frames flushed before the disk filled


def test_manifest_on_a_full_disk_keeps_the_previous_one(tmp_path):
    d = tmp_path / "weights"
    code = _FULL.format(root=str(ROOT)) + textwrap.dedent(f"""
        from pathlib import Path
        from models.weights.store import ManifestEntry, add_manifest_entry
        d = Path({str(d)!r})
        add_manifest_entry(ManifestEntry("a", "a.pth", "0" * 64, "import:x", "now"), d)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))
        try:
            add_manifest_entry(ManifestEntry("b" * 300, "b.pth", "1" * 64, "import:y", "now"), d)
        except OSError as e:
            print("error", e.errno)
    """)
    proc = _run(code)
    assert "error 27" in proc.stdout, proc.stdout + proc.stderr
    assert assert_complete_or_absent(d / "manifest.json")
    assert [r["model"] for r in json.loads((d / "manifest.json").read_text())] == ["a"]


def test_gui_settings_on_a_full_disk_keep_the_previous_file(tmp_path):
    ini = tmp_path / "gui.ini"
    code = _FULL.format(root=str(ROOT)) + textwrap.dedent(f"""
        from gui import settings
        settings.use_settings_file({str(ini)!r})
        settings.put("first", 1)
        resource.setrlimit(resource.RLIMIT_FSIZE, (ini_size := __import__("os").path.getsize({str(ini)!r}),
                                                   ini_size))
        settings.put("second", "x" * 5000)
    """)
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr
    assert assert_complete_or_absent(ini)
    assert "first=1" in ini.read_text()


def test_benchmark_results_on_a_full_disk_are_complete_or_absent(syn_data, tmp_path):  # noqa: F811
    out = tmp_path / "out"
    proc = cli(["bench", "h36m", "--data", syn_data, *BENCH_FAST, "--out", out], fsize=16_000, timeout=300)
    assert proc.returncode == 1, proc.stderr
    for name in ("run.json", "results.json", "report.md", "results.csv"):
        assert_complete_or_absent(out / name)
    assert not (out / "run.json").exists()  # never claims to be finished
