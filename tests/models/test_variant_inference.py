"""Variant inference from state_dict shapes: every registered ConvNeXtPose / MobileHumanPose arch round-trips."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest
import torch

from models import all_specs
from models.spec import build
from models.variant_inference import infer_convnextpose_arch, infer_mobilehumanpose_arch

INFER = {"convnextpose": infer_convnextpose_arch, "mobilehumanpose": infer_mobilehumanpose_arch}
SPECS = [s for s in all_specs() if s.family in INFER]


def _shapes(family: str, arch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """The state_dict of a freshly built net, on the meta device (shapes only, no memory, no init cost)."""
    base = next(s for s in SPECS if s.family == family)
    with torch.device("meta"):
        return dict(build(dataclasses.replace(base, arch=arch)).state_dict())


def test_every_family_spec_is_covered():
    names = {s.name for s in SPECS}
    assert {"convnextpose-xs", "convnextpose-s", "convnextpose-m", "convnextpose-l"} <= names
    assert {"mhp-lpski", "mhp-lpski-w0.5", "mhp-lpres", "mhp-lpwo"} <= names


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_inferred_arch_equals_spec(spec):
    with torch.device("meta"):
        sd = build(spec).state_dict()
    assert INFER[spec.family](sd) == dict(spec.arch)


@pytest.mark.parametrize("name", ["convnextpose-xs", "convnextpose-m", "convnextpose-l"])
def test_convnextpose_21_joints(name):
    spec = next(s for s in SPECS if s.name == name)
    arch = {**spec.arch, "joints": 21}
    sd = _shapes("convnextpose", arch)
    assert sd["head.final_layer.weight"].shape[0] == 21 * arch["depth_bins"]
    got = infer_convnextpose_arch(sd)
    assert got == arch
    assert {k: v.shape for k, v in _shapes("convnextpose", got).items()} == {k: v.shape for k, v in sd.items()}


@pytest.mark.parametrize("backbone,width", [("LPSKI", 0.75), ("LPWO", 0.25), ("LPRES", 1.0)])
def test_mobilehumanpose_21_joints_and_other_widths(backbone, width):
    arch = {"backbone": backbone, "width": width, "joints": 21, "embedding": 2048}
    assert infer_mobilehumanpose_arch(_shapes("mobilehumanpose", arch)) == arch


def test_convnextpose_rejects_joint_counts_outside_18_and_21():
    spec = next(s for s in SPECS if s.name == "convnextpose-s")
    sd = _shapes("convnextpose", {**spec.arch, "joints": 20})
    with pytest.raises(ValueError, match="640 output channels"):
        infer_convnextpose_arch(sd)


def test_module_prefix_is_reported():
    spec = next(s for s in SPECS if s.name == "convnextpose-xs")
    sd = {f"module.{k}": v for k, v in _shapes("convnextpose", spec.arch).items()}
    with pytest.raises(ValueError, match="module."):
        infer_convnextpose_arch(sd)


def test_wrong_family_is_reported():
    mhp = next(s for s in SPECS if s.name == "mhp-lpwo")
    with pytest.raises(ValueError, match="not a ConvNeXtPose state_dict"):
        infer_convnextpose_arch(_shapes("mobilehumanpose", mhp.arch))


def test_convnextpose_gap_in_block_indices_is_reported():
    spec = next(s for s in SPECS if s.name == "convnextpose-xs")
    sd = {k: v for k, v in _shapes("convnextpose", spec.arch).items() if not k.startswith("backbone.stages.2.3.")}
    with pytest.raises(ValueError, match=r"backbone.stages.2 has block indices \[0, 1, 2, 4, 5\]"):
        infer_convnextpose_arch(sd)


def test_lpres_only_at_width_one():
    with pytest.raises(ValueError, match="LPRES exists only at width 1.0"):
        _shapes("mobilehumanpose", {"backbone": "LPRES", "width": 0.5, "joints": 18, "embedding": 2048})
    sd = _shapes("mobilehumanpose", {"backbone": "LPRES", "width": 1.0, "joints": 18, "embedding": 2048})
    sd["backbone.first_conv.0.weight"] = torch.empty(24, 3, 3, 3, device="meta")
    with pytest.raises(ValueError, match="found 24 channels"):
        infer_mobilehumanpose_arch(sd)
