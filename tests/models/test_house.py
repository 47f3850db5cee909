"""models/ house rules: one registry, runtimes instead of backend switches, normalisation owned by models, no upward
imports. Named ``*_test.py`` so pytest's default pattern collects it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from models.normalisation import NORMALISATIONS, normalise
from models.registry import Registry
from models.spec import RUNTIMES, all_specs, get_spec

ROOT = Path(__file__).resolve().parents[2]


def test_registry_refuses_duplicates_and_names_its_kind() -> None:
    reg: Registry[type] = Registry("widget", set_kind=True)

    @reg.register("a")
    class A:
        pass

    assert reg["a"] is A and A.kind == "a"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="widget 'a' registered twice"):
        reg.register("a")(type("B", (), {}))
    with pytest.raises(KeyError, match="unknown widget 'b'; known: a"):
        reg.lookup("b")


def test_spec_helpers_replace_backend_switches() -> None:
    root, pose, onnx = get_spec("rootnet-r50"), get_spec("posenet-r50"), get_spec("mhp-onnx-baseline")
    assert root.takes_k_value and root.is_root_model and root.num_joints == 1
    assert not pose.takes_k_value and not pose.is_root_model
    assert pose.can_run_untrained and pose.loads_torch_checkpoint and pose.runtime.file_suffixes[0] == ".pth"
    assert not onnx.can_run_untrained and not onnx.loads_torch_checkpoint and onnx.runtime.file_suffixes == (".onnx",)
    assert {s.backend for s in all_specs()} <= set(RUNTIMES.known())
    assert all(RUNTIMES[k].kind == k for k in RUNTIMES.known())


def test_normalise_matches_the_table() -> None:
    x = np.random.default_rng(0).uniform(0, 255, (2, 8, 6, 3)).astype(np.float32)
    for kind, stats in NORMALISATIONS.items():
        got = normalise(x, kind)
        assert got.shape == (2, 3, 8, 6) and got.dtype == torch.float32
        want = torch.from_numpy(x).permute(0, 3, 1, 2)
        if stats is not None:
            want = (want - torch.tensor(stats[0]).view(1, 3, 1, 1)) / torch.tensor(stats[1]).view(1, 3, 1, 1)
        assert torch.equal(got, want)
    with pytest.raises(ValueError, match="unknown normalisation"):
        normalise(x, "nope")


def test_models_alone_fill_the_registry_without_engine() -> None:
    code = ("import sys; from models.spec import model_names; import models.onnx.importer, models.loader; "
            "assert len(model_names()) >= 16, model_names(); "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('engine', 'gui', 'cli')); "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)
