"""MobileHumanPose (SangbumChoi, CVPRW'21): three MobileNetV2-style backbones that carry their own decoder.

The released ``CustomNet`` wraps everything in one ``backbone`` module, so every key starts with ``backbone.``
(SangbumChoi/MobileHumanPose). Shared pieces: ``first_conv`` (3x3 conv + BN + per-channel PReLU),
17 ``inv_residual`` blocks from a (t, c, n, s) stage table, ``last_conv`` (1x1 to the unscaled embedding width),
three decoder blocks that upsample x2 (bilinear, align_corners=True) and ``final_layer`` (1x1 to J*D):

- LPSKI: skip concatenation (skip first) into ``deconv0..2``; 32x32 map, 32 depth bins.
- LPWO: plain decoder ``deconv0..2``; 64x64 map, 64 bins.
- LPRES: every stage sees the concatenation of the previous two scales (the older one average-pooled);
  decoder blocks are named ``deonv0..2`` (the official key typo); 64x64, 64 bins. Its input widths are raw sums of
  the unscaled table widths, so only width 1.0 exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from models.spec import check_arch_keys, register_family

__all__ = [
    "BACKBONES",
    "DEPTH_BINS",
    "INPUT_CHANNEL",
    "MobileHumanPose",
    "build_mobilehumanpose",
    "make_divisible",
    "stage_table",
]

INPUT_CHANNEL = 48  # first_conv width before the width multiplier
DECODER_WIDTH = 256
DEPTH_BINS = {"LPSKI": 32, "LPRES": 64, "LPWO": 64}
BACKBONES = tuple(DEPTH_BINS)
ARCH_KEYS = ("backbone", "width", "joints", "embedding")

# (expansion t, channels c, blocks n, first stride s) per stage
_LPSKI_TABLE = ((1, 64, 1, 2), (6, 48, 2, 2), (6, 48, 3, 2), (6, 64, 4, 2),
                (6, 96, 3, 2), (6, 160, 3, 1), (6, 320, 1, 1))
_LPWO_TABLE = ((1, 64, 1, 1), (6, 48, 2, 2), (6, 48, 3, 2), (6, 64, 4, 2),
               (6, 96, 3, 2), (6, 160, 3, 2), (6, 320, 1, 1))


def stage_table(backbone: str) -> tuple[tuple[int, int, int, int], ...]:
    """The (t, c, n, s) stage table of a backbone (LPRES shares LPWO's)."""
    return _LPSKI_TABLE if backbone == "LPSKI" else _LPWO_TABLE


def make_divisible(v: float, divisor: int = 8) -> int:
    """MobileNetV2 channel rounding: nearest multiple of ``divisor`` (>= divisor), bumped up if it lost >10 %."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def _upsample(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=True)


class _ConvBNPReLU(nn.Sequential):
    """Conv (no bias, 'same' padding) -> BN -> PReLU with one slope per channel (named ConvBNReLU upstream)."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            nn.PReLU(cout),
        )


class _InvertedResidual(nn.Module):
    """MobileNetV2 block: [1x1 expand] -> dw3x3 (stride) -> 1x1 linear + BN; residual when shapes allow."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = int(round(cin * expand))
        layers: list[nn.Module] = [_ConvBNPReLU(cin, hidden, kernel=1)] if expand != 1 else []
        layers += [
            _ConvBNPReLU(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


class _UpBlock(nn.Sequential):
    """1x1 conv (bias) -> BN -> PReLU -> 3x3 conv (bias) -> BN -> PReLU -> bilinear x2 (keys .0 to .5)."""

    def __init__(self, cin: int, mid: int, cout: int) -> None:
        super().__init__(
            nn.Conv2d(cin, mid, kernel_size=1),
            nn.BatchNorm2d(mid),
            nn.PReLU(mid),
            nn.Conv2d(mid, cout, kernel_size=3, padding=1),
            nn.BatchNorm2d(cout),
            nn.PReLU(cout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _upsample(super().forward(x))


def _blocks(table: Sequence[tuple[int, int, int, int]], in_widths: Sequence[int], width: float) -> nn.Sequential:
    """All inverted-residual blocks; stage k's first block takes ``in_widths[k]`` channels."""
    blocks = []
    for (t, c, n, s), cin in zip(table, in_widths):
        cout = make_divisible(c * width)
        for i in range(n):
            blocks.append(_InvertedResidual(cin if i == 0 else cout, cout, s if i == 0 else 1, t))
    return nn.Sequential(*blocks)


class _LpNetSkip(nn.Module):
    """LPSKI: encoder to 4x4 (at 256 input), decoder concatenates the 4x4 / 8x8 / 16x16 skips (skip first)."""

    def __init__(self, width: float, joints: int, embedding: int) -> None:
        super().__init__()
        table = _LPSKI_TABLE
        widths = [make_divisible(c * width) for _, c, _, _ in table]
        c0 = make_divisible(INPUT_CHANNEL * width)
        self.first_conv = _ConvBNPReLU(3, c0, stride=2)
        self.inv_residual = _blocks(table, [c0, *widths[:-1]], width)
        self.last_conv = _ConvBNPReLU(widths[-1], embedding, kernel=1)
        self.deconv0 = _UpBlock(embedding + widths[4], widths[4], DECODER_WIDTH)
        self.deconv1 = _UpBlock(DECODER_WIDTH + widths[3], widths[3], DECODER_WIDTH)
        self.deconv2 = _UpBlock(DECODER_WIDTH + widths[2], widths[2], DECODER_WIDTH)
        self.final_layer = nn.Conv2d(DECODER_WIDTH, joints * DEPTH_BINS["LPSKI"], kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        blocks = self.inv_residual
        s2 = blocks[0:6](self.first_conv(x))
        s1 = blocks[6:10](s2)
        s0 = blocks[10:13](s1)
        z = self.last_conv(blocks[13:17](s0))
        z = self.deconv0(torch.cat([s0, z], dim=1))
        z = self.deconv1(torch.cat([s1, z], dim=1))
        z = self.deconv2(torch.cat([s2, z], dim=1))
        return self.final_layer(z)


class _LpNetPlain(nn.Module):
    """LPWO: encoder to 8x8, three decoder blocks without skips (mid widths 160, 96, 64 x width)."""

    def __init__(self, width: float, joints: int, embedding: int) -> None:
        super().__init__()
        table = _LPWO_TABLE
        widths = [make_divisible(c * width) for _, c, _, _ in table]
        c0 = make_divisible(INPUT_CHANNEL * width)
        self.first_conv = _ConvBNPReLU(3, c0, stride=1)
        self.inv_residual = _blocks(table, [c0, *widths[:-1]], width)
        self.last_conv = _ConvBNPReLU(widths[-1], embedding, kernel=1)
        self.deconv0 = _UpBlock(embedding, widths[5], DECODER_WIDTH)
        self.deconv1 = _UpBlock(DECODER_WIDTH, widths[4], DECODER_WIDTH)
        self.deconv2 = _UpBlock(DECODER_WIDTH, widths[3], DECODER_WIDTH)
        self.final_layer = nn.Conv2d(DECODER_WIDTH, joints * DEPTH_BINS["LPWO"], kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.last_conv(self.inv_residual(self.first_conv(x)))
        return self.final_layer(self.deconv2(self.deconv1(self.deconv0(z))))


class _LpNetDense(nn.Module):
    """LPRES: each stage takes cat[avgpool(scale k-2), scale k-1]; decoder ``deonv*`` mixes the last two scales."""

    def __init__(self, width: float, joints: int, embedding: int) -> None:
        super().__init__()
        if width != 1.0:
            raise ValueError(f"MobileHumanPose LPRES exists only at width 1.0 (its concat widths are unscaled sums); "
                             f"got width {width!r}")
        table = _LPWO_TABLE
        c = [row[1] for row in table]
        c0 = make_divisible(INPUT_CHANNEL * width)
        in_widths = [c0, c0 + c[0], *(c[k - 2] + c[k - 1] for k in range(2, len(table)))]
        self.first_conv = _ConvBNPReLU(3, c0, stride=1)
        self.inv_residual = _blocks(table, in_widths, width)
        self.last_conv = _ConvBNPReLU(c[5] + c[6], embedding, kernel=1)
        self.deonv0 = _UpBlock(c[6] + embedding, DECODER_WIDTH, DECODER_WIDTH)
        self.deonv1 = _UpBlock(embedding + DECODER_WIDTH, DECODER_WIDTH, DECODER_WIDTH)
        self.deonv2 = _UpBlock(2 * DECODER_WIDTH, DECODER_WIDTH, DECODER_WIDTH)
        self.final_layer = nn.Conv2d(DECODER_WIDTH, joints * DEPTH_BINS["LPRES"], kernel_size=1)

    @staticmethod
    def _pool(x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, kernel_size=3, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.inv_residual
        spans = ((1, 3), (3, 6), (6, 10), (10, 13), (13, 16), (16, 17))
        older = self.first_conv(x)
        newer = b[0](older)
        pool_older = False  # the first concat joins two maps at the same resolution (stage 0 has stride 1)
        for lo, hi in spans:
            joined = torch.cat([self._pool(older) if pool_older else older, newer], dim=1)
            older, newer, pool_older = newer, b[lo:hi](joined), True
        emb = self.last_conv(torch.cat([older, newer], dim=1))
        u0 = self.deonv0(torch.cat([newer, emb], dim=1))
        u1 = self.deonv1(torch.cat([_upsample(emb), u0], dim=1))
        u2 = self.deonv2(torch.cat([_upsample(u0), u1], dim=1))
        return self.final_layer(u2)


_BACKBONE_CLASSES: dict[str, type[nn.Module]] = {"LPSKI": _LpNetSkip, "LPWO": _LpNetPlain, "LPRES": _LpNetDense}


class MobileHumanPose(nn.Module):
    """The official ``CustomNet`` shape: one ``backbone`` module; ``forward`` returns raw heatmaps [N, J*D, h, w]."""

    def __init__(self, backbone: str, width: float, joints: int, embedding: int = 2048) -> None:
        super().__init__()
        if backbone not in _BACKBONE_CLASSES:
            raise ValueError(f"unknown MobileHumanPose backbone {backbone!r}; expected one of {BACKBONES}")
        self.joints = joints
        self.depth_bins = DEPTH_BINS[backbone]
        self.backbone = _BACKBONE_CLASSES[backbone](width, joints, embedding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)


@register_family("mobilehumanpose")
def build_mobilehumanpose(arch: Mapping[str, Any]) -> MobileHumanPose:
    """Builder for ``spec.arch`` = {backbone: LPSKI|LPRES|LPWO, width, joints, embedding}."""
    check_arch_keys("mobilehumanpose", arch, ARCH_KEYS)
    return MobileHumanPose(str(arch["backbone"]), float(arch["width"]), int(arch["joints"]), int(arch["embedding"]))
