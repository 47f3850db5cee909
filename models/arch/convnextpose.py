"""ConvNeXtPose (medialab-ku, IEEE Access'23): a BatchNorm ConvNeXt trunk and a light depthwise upsampling head.

Module names, parameter shapes and registration order equal the official ``main/model.py`` +
``common/nets/convnext_bn.py`` so released checkpoints load strictly:
``backbone.downsample_layers.{i}.{0,1}``, ``backbone.stages.{s}.{b}.{dwconv,norm,pwconv1,pwconv2}``,
``backbone.norm``, ``head.deconv_layers_{1,2,3}.{dwconv,norm,pwconv}``, ``head.final_layer``.
The official head upsamples in its first two layers (32x32 map); the M/L variants upsample in all three (64x64),
hence ``head_upsample_layers``. Upsampling is bilinear with align_corners=True, as the official
``UpsamplingBilinear2d``; align_corners=False moves the coordinates by whole fractions of a cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from models.spec import check_arch_keys, register_family

__all__ = ["ConvNeXtBNBackbone", "ConvNeXtPose", "ConvNeXtPoseHead", "build_convnextpose"]

ARCH_KEYS = ("depths", "dims", "head_width", "depth_bins", "head_upsample_layers", "joints")


class _Block(nn.Module):
    """dw7x7 -> BN -> 1x1 (4x) -> ReLU -> 1x1 -> residual. No layer scale, no LayerNorm (the BN variant)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = nn.BatchNorm2d(dim)
        self.pwconv1 = nn.Conv2d(dim, 4 * dim, kernel_size=1)
        self.pwconv2 = nn.Conv2d(4 * dim, dim, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pwconv1(self.norm(self.dwconv(x)))
        return x + self.pwconv2(F.relu(y))


class ConvNeXtBNBackbone(nn.Module):
    """[N,3,H,W] -> [N,dims[-1],H/32,W/32]: 4x4/4 stem, then BN + 2x2/2 conv between the four stages, final BN."""

    def __init__(self, depths: Sequence[int], dims: Sequence[int]) -> None:
        super().__init__()
        if len(depths) != 4 or len(dims) != 4:
            raise ValueError(f"ConvNeXtPose needs 4 stage depths and 4 dims, got depths={depths!r} dims={dims!r}")
        layers = [nn.Sequential(nn.Conv2d(3, dims[0], kernel_size=4, stride=4), nn.BatchNorm2d(dims[0]))]
        for i in range(1, 4):
            layers.append(nn.Sequential(nn.BatchNorm2d(dims[i - 1]), nn.Conv2d(dims[i - 1], dims[i], 2, stride=2)))
        self.downsample_layers = nn.ModuleList(layers)
        self.stages = nn.ModuleList(nn.Sequential(*(_Block(dims[i]) for _ in range(depths[i]))) for i in range(4))
        self.norm = nn.BatchNorm2d(dims[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for down, stage in zip(self.downsample_layers, self.stages):
            x = stage(down(x))
        return self.norm(x)


class _HeadLayer(nn.Module):
    """dw3x3 -> BN -> 1x1 -> ReLU -> optional bilinear x2 (align_corners=True)."""

    def __init__(self, cin: int, cout: int, upsample: bool) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(cin, cin, kernel_size=3, padding=1, groups=cin)
        self.norm = nn.BatchNorm2d(cin)
        self.pwconv = nn.Conv2d(cin, cout, kernel_size=1)
        self.upsample = upsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.pwconv(self.norm(self.dwconv(x))))
        if self.upsample:
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=True)
        return x


class ConvNeXtPoseHead(nn.Module):
    """Three head layers (the first ``upsample_layers`` of them upsample x2), then 1x1 conv to J*D channels."""

    def __init__(self, in_channels: int, width: int, joints: int, depth_bins: int, upsample_layers: int) -> None:
        super().__init__()
        if upsample_layers not in (2, 3):
            raise ValueError(f"head_upsample_layers must be 2 or 3, got {upsample_layers!r}")
        self.deconv_layers_1 = _HeadLayer(in_channels, width, upsample=True)
        self.deconv_layers_2 = _HeadLayer(width, width, upsample=True)
        self.deconv_layers_3 = _HeadLayer(width, width, upsample=upsample_layers == 3)
        self.final_layer = nn.Conv2d(width, joints * depth_bins, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.deconv_layers_3(self.deconv_layers_2(self.deconv_layers_1(x)))
        return self.final_layer(x)


class ConvNeXtPose(nn.Module):
    """Backbone + head; ``forward`` returns raw heatmaps [N, J*D, H/8 or H/4, ...] (soft-argmax is applied outside)."""

    def __init__(self, depths: Sequence[int], dims: Sequence[int], head_width: int, depth_bins: int,
                 head_upsample_layers: int, joints: int) -> None:
        super().__init__()
        self.joints = joints
        self.depth_bins = depth_bins
        self.backbone = ConvNeXtBNBackbone(depths, dims)
        self.head = ConvNeXtPoseHead(dims[-1], head_width, joints, depth_bins, head_upsample_layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


@register_family("convnextpose")
def build_convnextpose(arch: Mapping[str, Any]) -> ConvNeXtPose:
    """Builder for ``spec.arch`` = {depths, dims, head_width, depth_bins, head_upsample_layers, joints}."""
    check_arch_keys("convnextpose", arch, ARCH_KEYS)
    return ConvNeXtPose(
        depths=tuple(int(d) for d in arch["depths"]),
        dims=tuple(int(d) for d in arch["dims"]),
        head_width=int(arch["head_width"]),
        depth_bins=int(arch["depth_bins"]),
        head_upsample_layers=int(arch["head_upsample_layers"]),
        joints=int(arch["joints"]),
    )
