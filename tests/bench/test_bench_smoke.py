"""The benchmark scripts run end to end in their --quick mode and write JSON that parses (numbers not asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(module: str, out: Path, tmp_path: Path) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "POSEARENA_ONNX_CACHE": str(tmp_path / "onnx")}
    proc = subprocess.run([sys.executable, "-m", module, "--quick", "--json", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{module} failed:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(out.read_text())


@pytest.mark.slow
def test_fast_paths_quick(tmp_path) -> None:
    data = _run("bench.fast_paths", tmp_path / "fp.json", tmp_path)
    model = data["models"]["mhp-lpski-w0.5"]
    assert set(model["profiles"]) >= {"fp32", "bf16", "channels_last", "channels_last+bf16", "onnxruntime"}
    assert all("error" not in row for row in model["profiles"].values()), model["profiles"]
    assert model["fastest"] in model["profiles"]
    assert not model["trained"]
    assert any(p.suffix == ".onnx" for p in (tmp_path / "onnx").iterdir())  # exported where it was told to


@pytest.mark.slow
def test_model_speed_quick(tmp_path) -> None:
    data = _run("bench.model_speed", tmp_path / "ms.json", tmp_path)
    assert [r["model"] for r in data["rows"]] == ["mhp-lpski-w0.5"]
    assert data["rows"][0]["ms"] > 0
