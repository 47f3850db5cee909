"""Every fixture in shared/conformance/index.json: same keys/shapes/order, recipe outputs within tolerance.

New fixtures are picked up without code changes: each is matched to the registered spec whose ``fixture`` names it.
"""

from __future__ import annotations

import json

import pytest
import torch

from models import all_specs, build
from models.soft_argmax import integral_normalized, integral_patch, soft_argmax_3d
from tests.conformance_recipe import recipe_input, recipe_state_dict
from tests.conftest import CONFORMANCE

INDEX = json.loads((CONFORMANCE / "index.json").read_text()) if (CONFORMANCE / "index.json").exists() else {}
FIXTURES = [f["fixture"] for f in INDEX.get("fixtures", [])]


def _spec_for(fixture: str):
    specs = [s for s in all_specs() if s.fixture == fixture]
    assert specs, f"no registered model declares fixture {fixture!r}"
    return specs[0]


def _expected(entry: dict) -> tuple[torch.Tensor, bool]:
    if "values" in entry:
        return torch.tensor(entry["values"], dtype=torch.float64).reshape(entry["shape"]), False
    return torch.tensor(entry["samples"], dtype=torch.float64), True


def _compare(name: str, got: torch.Tensor, entry: dict) -> None:
    ref, sampled = _expected(entry)
    got = got.detach().double()
    assert list(got.shape) == entry["shape"], f"{name}: shape {list(got.shape)} != {entry['shape']}"
    if sampled:
        flat = got.reshape(-1)[entry.get("sample_offset", 0)::entry["sample_stride"]][: len(ref)]
        got, ref = flat, ref
    atol = entry["recommended_atol"]
    diff = (got - ref).abs().max().item()
    assert diff <= atol, f"{name}: max abs diff {diff:.3g} > atol {atol:.3g}"
    assert abs(got.mean().item() - ref.mean().item()) <= 10 * atol + 1e-9 or sampled


@pytest.mark.parametrize("fixture", FIXTURES)
def test_conformance(fixture: str) -> None:
    fx = json.loads((CONFORMANCE / f"{fixture}.json").read_text())
    spec = _spec_for(fixture)
    net = build(spec)
    sd = net.state_dict()
    want = [(e["key"], e["shape"]) for e in fx["state_dict"]]
    have = [(k, list(v.shape)) for k, v in sd.items()]
    assert have == want, "state_dict keys/shapes/order differ from the official code"
    net.load_state_dict(recipe_state_dict(fx["state_dict"]), strict=True)
    e0 = fx["state_dict"][0]
    assert net.state_dict()[e0["key"]].reshape(-1)[:3].tolist() == e0["first"]
    x = recipe_input(fx["input"])
    assert x.reshape(-1)[:4].tolist() == fx["input"]["first"]
    outs = fx["outputs"]
    with torch.no_grad():
        if spec.decoding == "rootnet":
            k = torch.tensor(fx["extra_inputs"]["k_value"]["values"], dtype=torch.float32).reshape(
                fx["extra_inputs"]["k_value"]["shape"])
            coord = net(x, k)
            got = {"coord": coord, "coord_xy": coord[:, :2], "depth": coord[:, 2:3]}
        else:
            hm = net(x)
            coord = soft_argmax_3d(hm, spec.num_joints, spec.depth_bins)
            got = {"heatmaps": hm, "coord": coord}
            if spec.decoding == "integral":
                norm = integral_normalized(coord, spec.output_hw, spec.depth_bins)
                got = {"heatmaps": hm, "coord_normalized": norm, "coord_patch": integral_patch(norm, spec.input_hw)}
    for name, entry in outs.items():
        _compare(name, got[name], entry)


def test_index_covers_every_fixture_with_a_spec():
    for fixture in FIXTURES:
        spec = _spec_for(fixture)
        row = next(f for f in INDEX["fixtures"] if f["fixture"] == fixture)
        assert spec.params == row["num_parameters"], f"{spec.name}: params {spec.params} != {row['num_parameters']}"


def test_conformance_fixtures_are_present():
    """The fixtures ship in tests/fixtures/conformance: an empty fixture list would silently test nothing."""
    assert len(FIXTURES) >= 14, f"expected the conformance fixtures in {CONFORMANCE}"
