"""One ``software_versions()`` for every output: versions from package metadata, nothing imported."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from engine import versions
from engine.h36m.exports import software_versions as exports_versions
from tests.conftest import ROOT


def test_one_function_serves_the_benchmark_and_the_recorder():
    import engine.live.recording.writer as recording

    assert exports_versions is versions.software_versions
    assert recording.software_versions is versions.software_versions


def test_versions_come_from_metadata_without_importing_heavy_libraries():
    code = ("import sys; from engine.versions import software_versions; v = software_versions(); "
            "print(sorted(m for m in ('torch', 'cv2', 'matplotlib', 'h5py', 'ultralytics') if m in sys.modules)); "
            "print('numpy' in v, 'python' in v, 'posearena' in v)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["[]", "True True True"]


def test_app_version_falls_back_to_the_checkouts_pyproject(monkeypatch):
    def missing(name):
        raise versions.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(versions.metadata, "version", missing)
    want = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert versions.app_version() == want
    assert versions.software_versions()["posearena"] == want
