"""Packaging: ``pip wheel .`` builds a wheel holding every app package, the assets and the ``posearena`` command;
the installed wheel runs and finds its assets; ``--version``; the licence files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

SOURCES = ("pyproject.toml", "README.md", "LICENSE", "THIRD_PARTY_NOTICES.md", "models", "engine", "gui", "cli",
           "assets")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]


def _run(*argv, cwd=ROOT, env=None, timeout=300):
    return subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the tree (so the build's egg-info/build folders never land in the checkout),
    offline: no build isolation, the environment's own setuptools."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=ignore)
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(p, src / name)
    out = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
               "--disable-pip-version-check", src, "-w", base / "dist")
    assert out.returncode == 0, out.stdout + out.stderr
    (whl,) = (base / "dist").glob("posearena-*.whl")
    return whl


def test_wheel_holds_the_packages_assets_and_command(wheel):
    assert wheel.name == f"posearena-{VERSION}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    for pkg in ("models", "engine", "engine/inference", "engine/live", "engine/h36m", "gui", "cli", "assets"):
        assert f"{pkg}/__init__.py" in names, pkg
    for mod in ("engine/defaults.py", "engine/inference/predictor.py", "engine/live/engine.py",
                "engine/h36m/run/runner.py", "cli/app.py", "cli/__main__.py", "cli/live_cmd.py", "gui/main_window.py",
                "models/zoo.py"):
        assert mod in names, mod
    for asset in ("assets/demo_walk.mp4", "assets/still_person.jpg", "assets/README.md"):
        assert asset in names, asset
    assert len([n for n in names if re.fullmatch(r"assets/rootnet_h36m/.+\.json", n)]) == 2
    assert not [n for n in names if n.split("/")[0] in ("bench", "tests", "docs", "scripts")]  # not the app
    assert not [n for n in names if "__pycache__" in n]
    dist_info = f"posearena-{VERSION}.dist-info"
    entry = zipfile.ZipFile(wheel).read(f"{dist_info}/entry_points.txt").decode()
    assert re.search(r"^\[console_scripts\]\s*^posearena\s*=\s*cli\.app:main\s*$", entry, re.M), entry
    meta = zipfile.ZipFile(wheel).read(f"{dist_info}/METADATA").decode()
    assert "License-Expression: MIT" in meta
    assert {f"{dist_info}/licenses/LICENSE", f"{dist_info}/licenses/THIRD_PARTY_NOTICES.md"} <= names


@pytest.mark.slow
def test_installed_wheel_runs_and_finds_its_assets(wheel, tmp_path):
    """Installed into a bare folder (its dependencies from this environment), run from elsewhere: the command,
    ``--version`` from the installed metadata and the demo clip through ``asset_path``, none from the checkout."""
    target = tmp_path / "site"
    out = _run(sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--disable-pip-version-check",
               "--target", target, wheel)
    assert out.returncode == 0, out.stdout + out.stderr
    env = {**os.environ, "PYTHONPATH": str(target)}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = target / "bin" / "posearena"
    assert script.is_file()
    out = _run(sys.executable, script, "--version", cwd=elsewhere, env=env)
    assert out.returncode == 0 and out.stdout.strip() == f"posearena {VERSION}", out.stdout + out.stderr
    out = _run(sys.executable, script, "--help", cwd=elsewhere, env=env)
    assert out.returncode == 0 and "usage: posearena" in out.stdout, out.stderr
    probe = ("import cli, assets; from assets import asset_path; "
             "p = asset_path('demo_walk.mp4'); print(cli.__file__); print(p); print(p.stat().st_size)")
    out = _run(sys.executable, "-c", probe, cwd=elsewhere, env=env)
    assert out.returncode == 0, out.stderr
    cli_file, demo, size = out.stdout.split()
    assert Path(cli_file).is_relative_to(target) and Path(demo) == target / "assets" / "demo_walk.mp4"
    assert int(size) == (ROOT / "assets" / "demo_walk.mp4").stat().st_size


def test_version_and_usage_from_every_entry():
    for argv in (["main.py", "--version"], ["-m", "cli", "--version"]):
        out = _run(sys.executable, *argv)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == f"posearena {VERSION}"
    for argv in (["-m", "cli", "--help"], ["-m", "cli", "live", "--help"], ["main.py", "bench", "--help"]):
        out = _run(sys.executable, *argv)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith("usage: posearena"), out.stdout


def test_version_falls_back_to_pyproject_in_a_clone(monkeypatch):
    from importlib import metadata

    import cli.app

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert cli.app.version() == VERSION


def test_licence_files():
    assert PYPROJECT["project"]["license"] == "MIT"
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License") and "Copyright (c) 2026 PoseArena contributors" in licence
    notices = (ROOT / "THIRD_PARTY_NOTICES.md").read_text()
    for dep in PYPROJECT["project"]["dependencies"]:
        name = re.split(r"[=<>!~ \[;]", dep, maxsplit=1)[0]
        assert f"| {name}" in notices, f"{name} is missing from THIRD_PARTY_NOTICES.md"
    assert "AGPL-3.0" in notices and "Enterprise" in notices


def test_pyproject_dependencies_are_pinned_consistently():
    """Every direct dependency is in requirements.lock, and an exact pin in pyproject equals the lock's."""
    lock = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, ver = line.strip().split("==", 1)
            lock[re.sub(r"[-_.]+", "-", name).lower()] = ver
    for dep in PYPROJECT["project"]["dependencies"]:
        name, _, pin = dep.partition("==")
        key = re.sub(r"[-_.]+", "-", name.strip()).lower()
        assert key in lock, f"{name} is not pinned in requirements.lock"
        if pin:
            assert pin.strip() == lock[key], (name, pin, lock[key])
