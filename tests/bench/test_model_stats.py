"""Registry figures agree with the built networks: parameter counts exactly, recorded GMACs to 3 significant digits.

Networks are built on the ``meta`` device (shapes only), so checking every registered model takes seconds.
"""

from __future__ import annotations

import json

import pytest
import torch

from bench.model_stats import MissingBuilderError, build_on, count_params, main, measure_gmacs
from models import all_specs
from models.spec import ModelSpec

SPECS = {s.name: s for s in all_specs() if s.backend == "torch"}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_registered_params_equal_built_model(name: str) -> None:
    spec = SPECS[name]
    assert spec.params is not None, f"{name}: no parameter count registered"
    assert count_params(build_on(spec, "meta")) == spec.params


@pytest.mark.parametrize("name", sorted(SPECS))
def test_registered_gmacs_positive_and_measured(name: str) -> None:
    spec = SPECS[name]
    if spec.gmacs is None:
        pytest.skip(f"{name}: no GMACs recorded")
    assert spec.gmacs > 0
    measured = measure_gmacs(spec)
    assert float(f"{measured:.3g}") == pytest.approx(spec.gmacs, rel=1e-9), f"{name}: measured {measured:.4g} GMACs"


def _toy_spec(family: str = "toy") -> ModelSpec:
    return ModelSpec(name="toy", family=family, variant="", joint_set="h36m18", input_hw=(32, 16),
                     normalisation="imagenet", output_hw=(32, 16), depth_bins=1, decoding="3dmppe")


def test_measure_gmacs_counts_conv_macs() -> None:
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 4, 1))
    want = (8 * 3 * 9 + 4 * 8) * 32 * 16  # MACs per output element x output positions
    assert measure_gmacs(_toy_spec(), net) * 1e9 == pytest.approx(want)


def test_missing_builder_is_a_clear_error() -> None:
    with pytest.raises(MissingBuilderError, match="no-such-family"):
        build_on(_toy_spec("no-such-family"), "meta")


def test_cli_writes_json(tmp_path, capsys) -> None:
    out = tmp_path / "stats.json"
    assert main(["--models", "rootnet-r50,posenet-r50", "--json", str(out)]) == 0
    rows = {r["name"]: r for r in json.loads(out.read_text())["models"]}
    assert set(rows) == {"rootnet-r50", "posenet-r50"}
    assert rows["posenet-r50"]["params"] == 34_291_392
    assert 8.0 < rows["posenet-r50"]["gmacs"] < 9.0
    assert rows["rootnet-r50"]["gmacs"] < rows["posenet-r50"]["gmacs"]  # 1 map channel vs 1152
    assert "posenet-r50" in capsys.readouterr().out


def test_cli_unknown_model_fails(capsys) -> None:
    assert main(["--models", "no-such-model"]) == 2
    assert "no-such-model" in capsys.readouterr().err
