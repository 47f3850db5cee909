"""Recover a model's ``spec.arch`` from the tensor shapes of a state_dict (keys without ``module.``).

Released ConvNeXtPose files carry no config, and their variant names (XS/S/M/L) are not stored in the weights;
the shapes fix everything except the number of upsampling head layers, which follows from the depth bins as in
ConvNeXtPose's released variants (32 bins -> 2 layers, 64 -> 3). MobileHumanPose backbones (LPSKI, LPRES, LPWO) are
told apart by key names and decoder input widths. Errors are ``ValueError`` naming the key or shape that does not
fit; callers add the file name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from models.arch.mobilehumanpose import DEPTH_BINS, INPUT_CHANNEL, make_divisible, stage_table

__all__ = ["infer_convnextpose_arch", "infer_mobilehumanpose_arch"]

CONVNEXTPOSE_JOINTS = (18, 21)
CONVNEXTPOSE_UPSAMPLING = {32: 2, 64: 3}  # depth bins -> head layers that upsample (variant table)
MHP_WIDTHS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)  # distinct first_conv widths: 16, 24, 40, 48, 64, 72, 96


def _shape(sd: Mapping[str, Any], key: str, family: str) -> tuple[int, ...]:
    try:
        return tuple(sd[key].shape)
    except KeyError:
        hint = " (strip the 'module.' prefix first)" if any(k.startswith("module.") for k in sd) else ""
        raise ValueError(f"not a {family} state_dict: key {key!r} is missing{hint}") from None


def infer_convnextpose_arch(sd: Mapping[str, Any]) -> dict[str, Any]:
    """ConvNeXtPose arch dict (zoo.py format) from shapes; joints must be 18 or 21 and depth bins 32 or 64."""
    fam = "ConvNeXtPose"
    dims = [_shape(sd, "backbone.downsample_layers.0.0.weight", fam)[0]]
    dims += [_shape(sd, f"backbone.downsample_layers.{i}.1.weight", fam)[0] for i in range(1, 4)]
    blocks: list[set[int]] = [set() for _ in range(4)]
    for key in sd:
        m = re.match(r"backbone\.stages\.(\d+)\.(\d+)\.", key)
        if m and int(m.group(1)) < 4:
            blocks[int(m.group(1))].add(int(m.group(2)))
    for stage, idx in enumerate(blocks):
        if not idx or idx != set(range(len(idx))):
            raise ValueError(f"not a {fam} state_dict: backbone.stages.{stage} has block indices {sorted(idx)}")
    head_width = _shape(sd, "head.deconv_layers_1.pwconv.weight", fam)[0]
    out = _shape(sd, "head.final_layer.weight", fam)[0]
    fits = [(j, out // j) for j in CONVNEXTPOSE_JOINTS if out % j == 0 and out // j in CONVNEXTPOSE_UPSAMPLING]
    if len(fits) != 1:
        raise ValueError(f"{fam} head.final_layer has {out} output channels: expected joints x depth bins with "
                         f"joints in {CONVNEXTPOSE_JOINTS} and depth bins in {tuple(CONVNEXTPOSE_UPSAMPLING)}")
    joints, bins = fits[0]
    return {"depths": tuple(len(b) for b in blocks), "dims": tuple(dims), "head_width": head_width,
            "depth_bins": bins, "head_upsample_layers": CONVNEXTPOSE_UPSAMPLING[bins], "joints": joints}


def _mhp_backbone(sd: Mapping[str, Any]) -> str:
    if any(k.startswith("backbone.deonv") for k in sd):
        return "LPRES"
    fam = "MobileHumanPose"
    embedding = _shape(sd, "backbone.last_conv.0.weight", fam)[0]
    decoder_in = _shape(sd, "backbone.deconv0.0.weight", fam)[1]
    if decoder_in == embedding:
        return "LPWO"  # plain decoder: deconv0 sees only last_conv
    if decoder_in > embedding:
        return "LPSKI"  # deconv0 sees cat[skip, last_conv]
    raise ValueError(f"{fam}: backbone.deconv0 takes {decoder_in} channels, fewer than the {embedding}-wide embedding")


def _mhp_width(sd: Mapping[str, Any], backbone: str) -> float:
    fam = "MobileHumanPose"
    first = _shape(sd, "backbone.first_conv.0.weight", fam)[0]
    if backbone == "LPRES":
        if first != INPUT_CHANNEL:
            raise ValueError(f"{fam} LPRES exists only at width 1.0 ({INPUT_CHANNEL}-channel first_conv), "
                             f"found {first} channels")
        return 1.0
    last_in = _shape(sd, "backbone.last_conv.0.weight", fam)[1]
    top = stage_table(backbone)[-1][1]
    for w in MHP_WIDTHS:
        if make_divisible(INPUT_CHANNEL * w) == first and make_divisible(top * w) == last_in:
            return w
    raise ValueError(f"{fam} {backbone}: first_conv width {first} and last stage width {last_in} match no width "
                     f"multiplier in {MHP_WIDTHS}")


def infer_mobilehumanpose_arch(sd: Mapping[str, Any]) -> dict[str, Any]:
    """MobileHumanPose arch dict (zoo.py format): backbone from key names / decoder widths, width, joints."""
    fam = "MobileHumanPose"
    backbone = _mhp_backbone(sd)
    width = _mhp_width(sd, backbone)
    embedding = _shape(sd, "backbone.last_conv.0.weight", fam)[0]
    out = _shape(sd, "backbone.final_layer.weight", fam)[0]
    bins = DEPTH_BINS[backbone]
    if out % bins:
        raise ValueError(f"{fam} {backbone}: backbone.final_layer has {out} output channels, "
                         f"not a multiple of its {bins} depth bins")
    return {"backbone": backbone, "width": width, "joints": out // bins, "embedding": embedding}
