"""The house rules hold for the repository, and the checker sees each kind of violation planted in a small tree.

Why both: a checker that finds nothing on the repository proves nothing unless it is shown to find a violation.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "house_check.py"


def _load_checker():
    spec = importlib.util.spec_from_file_location("house_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["house_check"] = module
    spec.loader.exec_module(module)
    return module


house = _load_checker()


def test_repository_keeps_the_house_rules() -> None:
    findings, summary = house.check(ROOT)
    assert not findings, "\n".join(map(str, findings)) + "\n" + summary


def test_command_line_exits_zero_on_the_repository() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), str(ROOT)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith("house: ")


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    """A minimal project: the four packages, plus the given modules."""
    for pkg in ("models", "engine", "engine/inference", "engine/live", "engine/compare", "engine/h36m", "gui",
                "gui/controllers", "cli"):
        (tmp_path / pkg).mkdir(parents=True, exist_ok=True)
        (tmp_path / pkg / "__init__.py").write_text("", encoding="utf-8")
    for rel, text in files.items():
        (tmp_path / rel).write_text(text, encoding="utf-8")
    return tmp_path


def _kinds(root: Path, **kw) -> list[str]:
    return [str(f) for f in house.check(root, **kw)[0]]


def test_a_clean_tree_has_no_findings(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"engine/live/a.py": "from engine.inference import x\nfrom models import y\n",
                            "gui/controllers/c.py": "from engine.live import a\n"})
    assert _kinds(root) == []


@pytest.mark.parametrize(("files", "expected"), [
    ({"models/m.py": "def f():\n    from engine import defaults\n"}, "layer: models.m imports engine"),
    ({"engine/e.py": "from gui import w\n", "gui/w.py": ""}, "layer: engine.e imports gui.w"),
    ({"engine/inference/p.py": "from engine.live.a import run\n", "engine/live/a.py": ""},
     "sibling: engine.inference.p imports engine.live.a"),
    ({"engine/compare/c.py": "from engine.h36m import d\n", "engine/h36m/d.py": ""},
     "sibling: engine.compare.c imports engine.h36m.d"),
    ({"gui/w.py": "from engine.live import engine\n", "engine/live/engine.py": ""},
     "widget: gui.w imports engine.live.engine"),
    ({"gui/w.py": "import torch\n"}, "widget: gui.w imports torch"),
    ({"engine/live/a.py": "from engine.live import b\n", "engine/live/b.py": "from . import a\n"},
     "circle: engine.live.a <-> engine.live.b"),
    ({"engine/inference/g.py": "def flip(spec):\n    if spec.decoding == 'integral':\n        return 1\n"},
     "switch: engine/inference/g.py:2:"),
    ({"engine/inference/g.py": "def f(family):\n    return family in ('posenet', 'rootnet')\n"},
     "switch: engine/inference/g.py:2:"),
])
def test_a_planted_violation_is_found(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    found = _kinds(_tree(tmp_path, files))
    assert any(f.startswith(expected) for f in found), found


def test_allowed_sibling_arrows_pass(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"engine/h36m/s.py": "from engine.compare.h36m import m\n",
                            "engine/compare/h36m.py": "",
                            "engine/compare/o.py": "from engine.live.recording import r\n",
                            "engine/live/recording.py": "", "engine/live/f.py": "from engine.compare import o\n"})
    assert _kinds(root) == []


def test_a_long_file_is_found(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"engine/long.py": "x = 1\n" * 30})
    assert _kinds(root, max_lines=20) == ["size: engine.long has 30 lines (> 20)"]


def test_command_line_exits_one_on_a_violation(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"models/m.py": "import engine\n"})
    done = subprocess.run([sys.executable, str(SCRIPT), str(root)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "layer: models.m imports engine" in done.stdout
