"""ResNet-trunk architectures: 3DMPPE RootNet, 3DMPPE PoseNet and Integral Human Pose (JimmySuen).

All three share one trunk (torchvision's v1.5 ``Bottleneck``; key names equal torchvision's ``resnetXX()`` minus
``fc``) and a 3-layer transposed-conv decoder 2048 -> 256 -> 256 -> 256 (x8 upsampling). They differ only in the
module names around that decoder, which must match the official code so released checkpoints load strictly:
PoseNet ``head.deconv_layers`` + ``head.final_layer``, Integral ``head.features.{0..9}``, RootNet
``root.deconv_layers`` + ``root.xy_layer`` + ``root.depth_layer`` (the official repositories' network modules).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torchvision.models.resnet import Bottleneck

from models.spec import register_family

__all__ = ["RESNET_BLOCKS", "PoseNet", "ResNetBackbone", "RootNet", "build_integral", "build_posenet", "build_rootnet"]

RESNET_BLOCKS: dict[int, tuple[int, int, int, int]] = {
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
}
TRUNK_CHANNELS = 2048
DECONV_WIDTH = 256
DECONV_LAYERS = 3


class ResNetBackbone(nn.Module):
    """ResNet-50/101/152 feature extractor: [N,3,H,W] -> [N,2048,H/32,W/32] (no avgpool, no fc)."""

    def __init__(self, depth: int) -> None:
        super().__init__()
        if depth not in RESNET_BLOCKS:
            raise ValueError(f"unsupported ResNet depth {depth!r}; expected one of {sorted(RESNET_BLOCKS)}")
        self.depth = depth
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        in_ch = 64
        for i, (blocks, width) in enumerate(zip(RESNET_BLOCKS[depth], (64, 128, 256, 512)), start=1):
            layer, in_ch = _res_layer(in_ch, width, blocks, stride=1 if i == 1 else 2)
            self.add_module(f"layer{i}", layer)
        _init_trunk(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


def _res_layer(in_ch: int, width: int, blocks: int, stride: int) -> tuple[nn.Sequential, int]:
    """One ResNet stage; its first block projects the shortcut (1x1 conv with stride + BN) as torchvision does."""
    out_ch = width * Bottleneck.expansion
    downsample = None
    if stride != 1 or in_ch != out_ch:
        downsample = nn.Sequential(nn.Conv2d(in_ch, out_ch, kernel_size=1, stride=stride, bias=False),
                                   nn.BatchNorm2d(out_ch))
    layers = [Bottleneck(in_ch, width, stride=stride, downsample=downsample)]
    layers += [Bottleneck(out_ch, width) for _ in range(blocks - 1)]
    return nn.Sequential(*layers), out_ch


def _init_trunk(module: nn.Module) -> None:
    """He init for convs, identity BN: only matters for untrained (speed-test) weights."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def _deconv_modules(in_ch: int = TRUNK_CHANNELS) -> list[nn.Module]:
    """[ConvT k4 s2 p1 (no bias), BN, ReLU] x 3: indices 0,1 / 3,4 / 6,7 carry weights, as in every official head."""
    mods: list[nn.Module] = []
    for i in range(DECONV_LAYERS):
        deconv = nn.ConvTranspose2d(in_ch if i == 0 else DECONV_WIDTH, DECONV_WIDTH, kernel_size=4, stride=2,
                                    padding=1, output_padding=0, bias=False)
        nn.init.normal_(deconv.weight, std=0.001)
        mods += [deconv, nn.BatchNorm2d(DECONV_WIDTH), nn.ReLU(inplace=True)]
    return mods


def _final_conv(out_ch: int) -> nn.Conv2d:
    conv = nn.Conv2d(DECONV_WIDTH, out_ch, kernel_size=1)
    nn.init.normal_(conv.weight, std=0.001)
    nn.init.zeros_(conv.bias)
    return conv


class _PoseNetHead(nn.Module):
    """3DMPPE ``HeadNet``: deconv stack then 1x1 conv to J*D heatmap channels (joint-major)."""

    def __init__(self, joints: int, depth_bins: int) -> None:
        super().__init__()
        self.deconv_layers = nn.Sequential(*_deconv_modules())
        self.final_layer = _final_conv(joints * depth_bins)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.final_layer(self.deconv_layers(x))


class _IntegralHead(nn.Module):
    """JimmySuen's ``DeconvHead``: the same layers held in one ModuleList ``features`` (final conv at index 9)."""

    def __init__(self, joints: int, depth_bins: int) -> None:
        super().__init__()
        self.features = nn.ModuleList([*_deconv_modules(), _final_conv(joints * depth_bins)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.features:
            x = layer(x)
        return x


class PoseNet(nn.Module):
    """Backbone + heatmap head: [N,3,H,W] -> raw heatmap logits [N, J*D, H/4, W/4]."""

    def __init__(self, resnet: int, joints: int, depth_bins: int, head: type[nn.Module]) -> None:
        super().__init__()
        self.joints, self.depth_bins = joints, depth_bins
        self.backbone = ResNetBackbone(resnet)
        self.head = head(joints, depth_bins)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


class _RootHead(nn.Module):
    """3DMPPE ``RootNet`` head: 2-D root location by soft-argmax, depth factor gamma from the pooled trunk feature."""

    def __init__(self) -> None:
        super().__init__()
        self.deconv_layers = nn.Sequential(*_deconv_modules())
        self.xy_layer = nn.Conv2d(DECONV_WIDTH, 1, kernel_size=1)
        self.depth_layer = nn.Conv2d(TRUNK_CHANNELS, 1, kernel_size=1)

    def forward(self, feat: torch.Tensor, k_value: torch.Tensor) -> torch.Tensor:
        logits = self.xy_layer(self.deconv_layers(feat))
        n, _, h, w = logits.shape
        prob = torch.softmax(logits.reshape(n, 1, h * w), dim=2).reshape(n, 1, h, w)
        cols = torch.arange(w, device=prob.device, dtype=prob.dtype)
        rows = torch.arange(h, device=prob.device, dtype=prob.dtype)
        x = (prob.sum(dim=2) * cols).sum(dim=2)  # [N, 1]
        y = (prob.sum(dim=3) * rows).sum(dim=2)
        pooled = feat.reshape(feat.shape[0], feat.shape[1], -1).mean(dim=2)[:, :, None, None]
        gamma = self.depth_layer(pooled).reshape(-1, 1)
        # the depth multiply stays in fp32 even under autocast: bf16 would round a 5 m depth by tens of mm
        depth = gamma.float() * k_value.reshape(-1, 1).float()
        return torch.cat((x.float(), y.float(), depth), dim=1)


class RootNet(nn.Module):
    """[N,3,256,256], k_value [N,1] -> [N,3] = (x, y in output-map cells, absolute root depth in mm)."""

    def __init__(self, resnet: int, bbox_real_mm: tuple[float, float] = (2000.0, 2000.0)) -> None:
        super().__init__()
        self.bbox_real_mm = (float(bbox_real_mm[0]), float(bbox_real_mm[1]))  # used by k_value, not by forward
        self.backbone = ResNetBackbone(resnet)
        self.root = _RootHead()

    def forward(self, x: torch.Tensor, k_value: torch.Tensor) -> torch.Tensor:
        if k_value.numel() != x.shape[0]:
            raise ValueError(f"RootNet: k_value has {k_value.numel()} entries for a batch of {x.shape[0]}")
        return self.root(self.backbone(x), k_value)


def _args(family: str, arch: Mapping[str, Any], required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
    """Check a spec's ``arch`` mapping: name the family and the offending keys instead of a bare TypeError."""
    missing = [k for k in required if k not in arch]
    unknown = [k for k in arch if k not in required + optional]
    if missing or unknown:
        raise ValueError(f"{family} arch {dict(arch)!r}: missing {missing}, unknown {unknown}")
    return dict(arch)


@register_family("posenet")
def build_posenet(arch: Mapping[str, Any]) -> PoseNet:
    a = _args("posenet", arch, ("resnet", "joints", "depth_bins"))
    return PoseNet(int(a["resnet"]), int(a["joints"]), int(a["depth_bins"]), _PoseNetHead)


@register_family("integral")
def build_integral(arch: Mapping[str, Any]) -> PoseNet:
    a = _args("integral", arch, ("resnet", "joints", "depth_bins"))
    return PoseNet(int(a["resnet"]), int(a["joints"]), int(a["depth_bins"]), _IntegralHead)


@register_family("rootnet")
def build_rootnet(arch: Mapping[str, Any]) -> RootNet:
    a = _args("rootnet", arch, ("resnet",), ("bbox_real_mm",))
    return RootNet(int(a["resnet"]), tuple(a.get("bbox_real_mm", (2000.0, 2000.0))))
