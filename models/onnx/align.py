"""Fill a torch architecture's state_dict from an ONNX graph's layers, layer by layer.

Mapping: the graph's parameterised nodes (Conv, ConvTranspose, BatchNormalization, PRelu, Gemm/MatMul,
LayerNormalization), in graph order, are aligned with the torch net's parameterised modules in execution order
(forward hooks). Exporters in eval mode usually fold each BatchNorm into the preceding convolution: then no
one-to-one mapping exists; the alignment instead stores the folded convolution and an identity BatchNorm (weight 1,
bias = folded bias, mean 0, var 1 - eps), which computes the same function, and says so (``OnnxMapping``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from models.onnx.graph import OnnxLayer

__all__ = ["OnnxMapping", "TorchLayer", "align", "torch_layers"]


_TORCH_KINDS: tuple[tuple[type[nn.Module], str], ...] = (
    (nn.modules.conv._ConvNd, "conv"), (nn.modules.batchnorm._BatchNorm, "bn"), (nn.PReLU, "prelu"),
    (nn.Linear, "linear"), (nn.LayerNorm, "ln"),
)


@dataclass
class TorchLayer:
    kind: str
    name: str
    module: nn.Module
    reads_previous: bool  # its input is the previous layer's output tensor (conv -> BN pairs)


def torch_layers(net: nn.Module, input_hw: tuple[int, int]) -> list[TorchLayer]:
    """Every module holding its own parameters, in execution order (forward hooks on one zero batch)."""
    order: list[TorchLayer] = []
    seen: set[int] = set()
    last_out: list[Any] = [None]  # the previous layer's output, kept alive so identity comparison is sound
    hooks = []
    for name, m in net.named_modules():
        if not (list(m.parameters(recurse=False)) or list(m.buffers(recurse=False))):
            continue
        kind = next((k for t, k in _TORCH_KINDS if isinstance(m, t)), None)
        if kind is None:
            raise ValueError(f"module {name} ({type(m).__name__}) has parameters the ONNX importer cannot map")

        def hook(mod: nn.Module, args: Any, out: Any, name: str = name, kind: str = kind) -> None:
            if id(mod) not in seen:
                seen.add(id(mod))
                reads = bool(args) and last_out[0] is not None and args[0] is last_out[0]
                order.append(TorchLayer(kind, name, mod, reads))
                last_out[0] = out

        hooks.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            net(torch.zeros(1, 3, *input_hw))
    finally:
        for h in hooks:
            h.remove()
    return order


@dataclass
class OnnxMapping:
    """How an ONNX graph's weights fill a torch architecture."""

    kind: str  # "one-to-one" | "bn-folded"
    state_dict: dict[str, torch.Tensor]
    pairs: list[tuple[str, str]]  # (ONNX node, torch module)
    folded_bn: list[str]  # torch BatchNorm modules set to identity because the exporter folded them
    input_affine: tuple[tuple[float, ...], tuple[float, ...]] | None  # (scale, offset) per channel, None = identity
    onnx_normalisation: str  # what the ONNX file expects at its input
    normalisation: str  # what the converted torch model expects
    assumed: bool  # onnx_normalisation was assumed (no spec said what the file expects)
    alternatives: list[str] = field(default_factory=list)  # other architectures that fit as well

    @property
    def one_to_one(self) -> bool:
        return self.kind == "one-to-one"

    def describe(self) -> str:
        if self.one_to_one:
            return f"one-to-one mapping of {len(self.pairs)} layers"
        return (f"no one-to-one mapping exists: the exporter folded {len(self.folded_bn)} BatchNorm layers into "
                f"their convolutions; converted as the folded convolutions with identity BatchNorms (the same "
                f"function, not the original training parameters)")


def _t(a: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(np.array(a, dtype=np.float32), dtype=like.dtype).reshape(like.shape)


def align(torch_layers: Sequence[TorchLayer], onnx_layers: Sequence[OnnxLayer],
           sd: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[tuple[str, str]], list[str]]:
    """Fill ``sd``'s keys from the ONNX layers; ValueError naming the first layer that does not fit."""
    out: dict[str, torch.Tensor] = {}
    pairs: list[tuple[str, str]] = []
    folded: list[str] = []
    j = 0
    i = 0

    def take(kind: str, tname: str) -> OnnxLayer:
        nonlocal j
        if j >= len(onnx_layers):
            raise ValueError(f"the graph has no layer left for {tname} ({kind})")
        o = onnx_layers[j]
        if o.kind != kind:
            raise ValueError(f"{tname} is a {kind} layer but ONNX node {o.name!r} is a {o.kind}")
        j += 1
        return o

    def put(key: str, arr: np.ndarray | None, what: str) -> None:
        ref = sd[key]
        if arr is None:
            raise ValueError(f"{key}: the ONNX node has no {what}")
        if arr.size != ref.numel() or (arr.ndim == ref.dim() and tuple(arr.shape) != tuple(ref.shape)):
            raise ValueError(f"{key}: shape {tuple(ref.shape)} vs ONNX {what} {tuple(arr.shape)}")
        out[key] = _t(arr, ref)

    while i < len(torch_layers):
        kind, tname, m = torch_layers[i].kind, torch_layers[i].name, torch_layers[i].module
        p = f"{tname}." if tname else ""
        if kind == "conv":
            o = take("conv", tname)
            if isinstance(m, nn.modules.conv._ConvTransposeNd) != (o.op == "ConvTranspose"):
                raise ValueError(f"{tname} is a {type(m).__name__} but ONNX node {o.name!r} is a {o.op}")
            groups = int(o.attrs.get("group", 1))
            strides = tuple(o.attrs.get("strides", (1,) * (m.weight.dim() - 2)))
            if groups != m.groups or strides != tuple(m.stride):
                raise ValueError(f"{tname}: groups/stride {m.groups}/{tuple(m.stride)} vs ONNX {o.name!r} "
                                 f"{groups}/{strides}")
            put(p + "weight", o.tensors["weight"], "weight")
            nxt = torch_layers[i + 1] if i + 1 < len(torch_layers) else None
            bn_follows = nxt is not None and nxt.kind == "bn" and nxt.reads_previous
            onnx_bn = (j < len(onnx_layers) and onnx_layers[j].kind == "bn" and onnx_layers[j].inp == o.out)
            bias = o.tensors["bias"]
            if bn_follows and not onnx_bn:  # folded: identity BN carries the folded bias
                bname, bn = nxt.name, nxt.module
                q = f"{bname}."
                cout = m.weight.shape[0]
                if m.bias is not None:
                    out[p + "bias"] = torch.zeros_like(sd[p + "bias"])
                out[q + "weight"] = torch.ones_like(sd[q + "weight"])
                put(q + "bias", bias if bias is not None else np.zeros(cout, np.float32), "bias")
                out[q + "running_mean"] = torch.zeros_like(sd[q + "running_mean"])
                out[q + "running_var"] = torch.full_like(sd[q + "running_var"], 1.0 - bn.eps)
                if q + "num_batches_tracked" in sd:
                    out[q + "num_batches_tracked"] = torch.zeros_like(sd[q + "num_batches_tracked"])
                pairs += [(o.name, tname), (o.name, bname)]
                folded.append(bname)
                i += 2
                continue
            if m.bias is not None:
                put(p + "bias", bias if bias is not None else np.zeros(m.weight.shape[0], np.float32), "bias")
            elif bias is not None and np.any(bias != 0):
                raise ValueError(f"{tname}: ONNX node {o.name!r} has a bias the torch convolution lacks")
        elif kind == "bn":
            o = take("bn", tname)
            eps = float(o.attrs.get("epsilon", 1e-5))
            if abs(eps - m.eps) > 1e-3 * m.eps:
                raise ValueError(f"{tname}: BatchNorm eps {m.eps} vs ONNX {eps}")
            for k in ("weight", "bias", "running_mean", "running_var"):
                put(p + k, o.tensors[k], k)
            if p + "num_batches_tracked" in sd:
                out[p + "num_batches_tracked"] = torch.zeros_like(sd[p + "num_batches_tracked"])
        elif kind in ("prelu", "linear", "ln"):
            o = take(kind, tname)
            for k in ("weight", "bias"):
                if p + k in sd:
                    put(p + k, o.tensors.get(k), k)
        pairs.append((o.name, tname))
        i += 1
    if j != len(onnx_layers):
        raise ValueError(f"the graph has {len(onnx_layers) - j} parameterised layers more than the architecture "
                         f"(next: {onnx_layers[j].name!r})")
    left = [k for k in sd if k not in out]
    if left:
        raise ValueError(f"{len(left)} torch keys got no ONNX tensor: {', '.join(left[:4])}")
    return out, pairs, folded
