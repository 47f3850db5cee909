"""Recognise, store and (where possible) convert ONNX pose models into strict PyTorch checkpoints.

Why: the only trained MobileHumanPose weights are third-party ONNX files (models-and-protocol.md section 6.5).
The ONNX backend runs them as they are; when a file's weights map layer by layer onto a registered PoseArena
architecture, converting it lets the torch pipeline run it (bf16, channels_last, the same code as every other
model). A conversion is only written after both versions agree on the same crops to within a tolerance in mm.

Mapping: the graph's parameterised nodes (Conv, ConvTranspose, BatchNormalization, PRelu, Gemm/MatMul,
LayerNormalization), in graph order, are aligned with the torch net's parameterised modules in execution order
(forward hooks). Weights may reach a node through Identity / Unsqueeze / Reshape / Cast chains (exporters dedupe
identical tensors and unsqueeze PReLU slopes); those are folded statically. Exporters in eval mode usually fold each
BatchNorm into the preceding convolution: then no one-to-one mapping exists; the conversion instead stores the
folded convolution and an identity BatchNorm (weight 1, bias = folded bias, mean 0, var 1 - eps), which computes
the same function, and says so. A per-channel affine (Sub/Div...) between the graph input and the first
convolution is read as the file's own input normalisation.

``import_onnx`` is what ``python main.py weights import FILE.onnx`` calls.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from models.fileio import atomic_copy, atomic_path
from models.onnx_backend import OnnxModelError, OnnxPoseNet, build_onnx_net
from models.soft_argmax import soft_argmax_3d
from models.spec import ModelSpec, Published, all_specs, build, get_spec

__all__ = [
    "ConversionRefusedError",
    "NoMappingError",
    "OnnxImportError",
    "OnnxInfo",
    "OnnxMapping",
    "TensorInfo",
    "convert_to_checkpoint",
    "import_onnx",
    "import_onnx_archive",
    "inspect_onnx",
    "match_architecture",
    "verify_conversion",
]

TOLERANCE_MM = 1.0
BOX_MM = 1000.0  # person box used to express heatmap-cell differences in mm
WIDTHS = (0.25, 0.5, 0.75, 1.0)  # width multipliers tried for families whose arch has a "width"
_PARAM_OPS = ("Conv", "ConvTranspose", "BatchNormalization", "PRelu", "Gemm", "MatMul", "LayerNormalization")
_PASS_OPS = ("Identity", "Cast", "Transpose")  # layout/no-op steps allowed between the input and the first conv
_AFFINE_OPS = ("Sub", "Add", "Mul", "Div")
_JOINT_SETS = {18: "h36m18", 21: "muco21"}


class OnnxImportError(OnnxModelError):
    """An ONNX file cannot be imported; the message names the file and what is wrong."""


class NoMappingError(OnnxImportError):
    """The file's weights map onto no registered torch architecture (the ONNX backend can still run it)."""


class ConversionRefusedError(OnnxImportError):
    """The converted checkpoint disagrees with the ONNX model beyond the tolerance."""


# ---------------------------------------------------------------------------------------------------- inspect


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int | str | None, ...]  # int, symbolic name, or None
    dtype: str


@dataclass(frozen=True)
class OnnxInfo:
    """What an ONNX pose model declares, plus the heatmap geometry derived from it."""

    path: Path
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    opset: int | None
    ir_version: int
    producer: str
    initializer_count: int
    parameter_count: int  # elements of all float initializers and Constant tensors
    node_count: int
    output_kind: str  # "heatmaps" | "coords"
    input_layout: str  # "NCHW" | "NHWC"
    input_hw: tuple[int, int] | None
    output_shape: tuple[int, ...]  # first output without the batch axis (probed when the graph leaves it dynamic)
    joints: int | None
    depth_bins: int | None
    output_hw: tuple[int, int] | None

    def summary(self) -> dict[str, Any]:
        return {
            "inputs": [f"{t.name} {list(t.shape)} {t.dtype}" for t in self.inputs],
            "outputs": [f"{t.name} {list(t.shape)} {t.dtype}" for t in self.outputs],
            "opset": self.opset, "producer": self.producer, "initializers": self.initializer_count,
            "parameters": self.parameter_count, "nodes": self.node_count, "output_kind": self.output_kind,
            "input_layout": self.input_layout, "input_hw": self.input_hw, "joints": self.joints,
            "depth_bins": self.depth_bins, "output_hw": self.output_hw,
        }


def _load_proto(path: Path) -> Any:
    import onnx

    if not path.is_file():
        raise OnnxImportError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise OnnxImportError(f"{path}: the file is empty (0 bytes); an interrupted download or copy?")
    try:
        model = onnx.load(str(path))
    except Exception as e:  # DecodeError, RuntimeWarning-as-error, external data missing...
        raise OnnxImportError(f"{path}: not a valid ONNX model: it does not parse as an ONNX protobuf "
                              f"({type(e).__name__}: {_first_line(e)})") from None
    if not model.graph.node or not model.graph.output:
        raise OnnxImportError(f"{path}: not a valid ONNX model: it holds no graph (no nodes or outputs)")
    try:
        onnx.checker.check_model(model)
    except Exception as e:  # onnx.checker.ValidationError and friends
        raise OnnxImportError(f"{path}: malformed ONNX model ({_first_line(e)})") from None
    return model


def _first_line(e: BaseException) -> str:
    return ((str(e).strip().splitlines() or [repr(e)])[0])[:300]


def _dims(vi: Any) -> tuple[int | str | None, ...]:
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        return ()
    return tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in t.shape.dim)


def _dtype(vi: Any) -> str:
    import onnx

    try:
        return onnx.TensorProto.DataType.Name(vi.type.tensor_type.elem_type).lower()
    except ValueError:
        return "unknown"


def _graph_inputs(model: Any) -> list[Any]:
    inits = {i.name for i in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in inits]  # old exporters list weights as inputs too


def inspect_onnx(path: str | Path) -> OnnxInfo:
    """Read an ONNX file's I/O and size; OnnxImportError unless it is a single-input 3-D pose heatmap model."""
    path = Path(path).expanduser()
    model = _load_proto(path)
    g = model.graph
    inputs = tuple(TensorInfo(i.name, _dims(i), _dtype(i)) for i in _graph_inputs(model))
    outputs = tuple(TensorInfo(o.name, _dims(o), _dtype(o)) for o in g.output)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    nparams = _stored_parameters(g)
    io = ", ".join(f"{t.name} {list(t.shape)}" for t in (*inputs, *outputs))
    if len(inputs) != 1 or len(inputs[0].shape) != 4 or 3 not in (inputs[0].shape[1], inputs[0].shape[3]):
        raise OnnxImportError(f"{path}: not a 3D pose heatmap model: PoseArena runs single-input image models "
                              f"([N,3,H,W] or [N,H,W,3]); this graph has {io}")
    out = outputs[0]
    rank = len(out.shape)
    kind = "coords" if rank == 3 and out.shape[2] == 3 else "heatmaps"
    if rank not in (3, 4, 5) or (rank == 3 and kind != "coords"):
        raise OnnxImportError(f"{path}: not a 3D pose heatmap model: output {out.name!r} has shape {list(out.shape)} "
                              f"(a classifier or embedding?); expected [N, J*D, H, W] or [N, J, D, H, W] heatmaps "
                              f"or [N, J, 3] coordinates")
    try:
        net = OnnxPoseNet(path, output=kind, depth_bins=None if kind == "heatmaps" else 1,
                          output_hw=None if kind == "heatmaps" else (1, 1))
    except OnnxModelError as e:
        raise OnnxImportError(f"not a 3D pose heatmap model: {e}") from None
    oshape = tuple(int(d) for d in net.run_numpy(np.zeros((1, 3, *net.input_hw), np.float32)).shape[1:])
    if kind == "heatmaps" and min(net.output_hw) < 2:
        raise OnnxImportError(f"{path}: not a 3D pose heatmap model: output {out.name!r} is {list(oshape)} per "
                              f"image, no spatial heatmap")
    heat = kind == "heatmaps"
    return OnnxInfo(
        path=path, inputs=inputs, outputs=outputs, opset=opset, ir_version=int(model.ir_version),
        producer=f"{model.producer_name} {model.producer_version}".strip(), initializer_count=len(g.initializer),
        parameter_count=nparams, node_count=len(g.node), output_kind=kind, input_layout=net.input_layout,
        input_hw=net.input_hw, output_shape=oshape, joints=net.joints, depth_bins=net.depth_bins if heat else None,
        output_hw=net.output_hw if heat else None,
    )


# ---------------------------------------------------------------------------------------------------- graph


def _stored_parameters(g: Any) -> int:
    """Float elements stored in the file: initializers and Constant nodes."""
    from onnx import TensorProto, helper

    floats = (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE, TensorProto.BFLOAT16)
    tensors = list(g.initializer) + [a.t for n in g.node if n.op_type == "Constant" for a in n.attribute
                                     if a.type == helper.AttributeProto.TENSOR]
    return sum(int(np.prod(t.dims, dtype=np.int64)) for t in tensors if t.data_type in floats)


def _constants(g: Any) -> dict[str, np.ndarray]:
    """Initializers, Constant nodes and whatever Identity/Cast/Unsqueeze/Squeeze/Reshape/Transpose make of them."""
    from onnx import helper, numpy_helper

    vals: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    for n in g.node:
        ins = [i for i in n.input if i]
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        if n.op_type == "Constant":
            v = next(iter(attrs.values()), None)
            vals[n.output[0]] = numpy_helper.to_array(v) if hasattr(v, "dims") else np.asarray(v)
            continue
        if not ins or any(i not in vals for i in ins):
            continue
        x = vals[ins[0]]
        try:
            if n.op_type == "Identity":
                out = x
            elif n.op_type == "Cast":
                out = x.astype(helper.tensor_dtype_to_np_dtype(attrs["to"]))
            elif n.op_type in ("Unsqueeze", "Squeeze"):
                axes = attrs.get("axes", vals[ins[1]].tolist() if len(ins) > 1 else None)
                if n.op_type == "Squeeze":
                    out = np.squeeze(x, axis=tuple(axes)) if axes is not None else np.squeeze(x)
                else:
                    out = x
                    rank = x.ndim + len(axes)
                    for a in sorted(a % rank for a in axes):
                        out = np.expand_dims(out, a)
            elif n.op_type == "Reshape":
                shape = [x.shape[i] if s == 0 else s for i, s in enumerate(vals[ins[1]].tolist())]
                out = x.reshape(shape)
            elif n.op_type == "Transpose":
                out = np.transpose(x, attrs.get("perm"))
            else:
                continue
        except Exception:  # an op we cannot fold statically: leave it dynamic
            continue
        vals[n.output[0]] = np.asarray(out)
    return vals


@dataclass
class _Layer:
    kind: str  # conv | bn | prelu | linear | ln
    name: str
    tensors: dict[str, np.ndarray]
    attrs: dict[str, Any] = field(default_factory=dict)
    inp: str = ""
    out: str = ""
    op: str = ""


def _onnx_layers(model: Any, consts: Mapping[str, np.ndarray], path: Path) -> list[_Layer]:
    """The parameterised nodes in graph order, with their static tensors."""
    from onnx import helper

    g = model.graph
    consumers: dict[str, list[Any]] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    layers: list[_Layer] = []
    for n in g.node:
        if n.op_type not in _PARAM_OPS:
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        ins = list(n.input)
        name = n.name or n.output[0]

        def static(k: int, what: str, ins: list[str] = ins, name: str = name) -> np.ndarray | None:
            if k >= len(ins) or not ins[k]:
                return None
            if ins[k] not in consts:
                raise NoMappingError(f"{path}: the {what} of node {name!r} is computed in the graph, not stored "
                                     f"(a quantised or otherwise transformed model); no weight mapping exists")
            return np.asarray(consts[ins[k]], dtype=np.float32)

        if n.op_type in ("Conv", "ConvTranspose"):
            t = {"weight": static(1, "weight"), "bias": static(2, "bias")}
            layers.append(_Layer("conv", name, t, attrs, ins[0], n.output[0], n.op_type))
        elif n.op_type == "BatchNormalization":
            t = dict(zip(("weight", "bias", "running_mean", "running_var"), (static(k, "statistics") for k in
                                                                                range(1, 5))))
            layers.append(_Layer("bn", name, t, attrs, ins[0], n.output[0]))
        elif n.op_type == "PRelu":
            layers.append(_Layer("prelu", name, {"weight": static(1, "slope")}, attrs, ins[0], n.output[0]))
        elif n.op_type == "LayerNormalization":
            layers.append(_Layer("ln", name, {"weight": static(1, "scale"), "bias": static(2, "bias")}, attrs,
                                 ins[0], n.output[0]))
        elif n.op_type == "Gemm":
            w, b = static(1, "weight"), static(2, "bias")
            w = (w if attrs.get("transB", 0) else w.T) * attrs.get("alpha", 1.0)
            b = None if b is None else b * attrs.get("beta", 1.0)
            layers.append(_Layer("linear", name, {"weight": w, "bias": b}, attrs, ins[0], n.output[0]))
        elif n.op_type == "MatMul":
            if ins[1] not in consts:
                continue  # activation x activation (attention): no weights
            w = static(1, "weight").T
            bias, out = None, n.output[0]
            adds = [c for c in consumers.get(out, []) if c.op_type == "Add"]
            if len(adds) == 1:
                other = [i for i in adds[0].input if i != out]
                if other and other[0] in consts and np.asarray(consts[other[0]]).ndim == 1:
                    bias, out = np.asarray(consts[other[0]], np.float32), adds[0].output[0]
            layers.append(_Layer("linear", name, {"weight": w, "bias": bias}, attrs, ins[0], out))
    return layers


def _input_affine(model: Any, consts: Mapping[str, np.ndarray], first_conv: _Layer | None,
                  path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (scale, offset) the graph applies to its input before the first parameterised node."""
    g = model.graph
    producers = {o: n for n in g.node for o in n.output}
    start = _graph_inputs(model)[0].name
    scale, offset = np.ones(3, np.float64), np.zeros(3, np.float64)
    if first_conv is None:
        raise NoMappingError(f"{path}: the graph has no parameterised layers")
    chain = []
    name = first_conv.inp
    while name != start:
        n = producers.get(name)
        if n is None:
            raise NoMappingError(f"{path}: the first layer {first_conv.name!r} does not read the graph input")
        dyn = [i for i in n.input if i and i not in consts]
        if n.op_type not in (*_PASS_OPS, *_AFFINE_OPS) or len(dyn) != 1:
            raise NoMappingError(f"{path}: the graph transforms its input ({n.op_type} node {n.name!r}) before the "
                                 f"first layer, which no PoseArena architecture does")
        chain.append(n)
        name = dyn[0]
    for n in reversed(chain):  # from the input forwards
        if n.op_type in _PASS_OPS:
            continue
        dyn = next(i for i in n.input if i not in consts)
        c = np.asarray(consts[next(i for i in n.input if i in consts)], np.float64).squeeze()
        if c.size not in (1, 3):
            raise NoMappingError(f"{path}: input {n.op_type} node {n.name!r} uses a constant of shape {c.shape}, "
                                 f"not per colour channel")
        c = np.broadcast_to(c.reshape(-1), (3,))
        if n.op_type == "Add":
            offset = offset + c
        elif n.op_type == "Sub":
            scale, offset = (scale, offset - c) if n.input[0] == dyn else (-scale, c - offset)
        elif n.op_type == "Mul":
            scale, offset = scale * c, offset * c
        elif n.op_type == "Div":
            if n.input[0] != dyn:
                raise NoMappingError(f"{path}: input node {n.name!r} divides a constant by the image")
            scale, offset = scale / c, offset / c
    return scale, offset


# ---------------------------------------------------------------------------------------------------- torch side


_TORCH_KINDS: tuple[tuple[type[nn.Module], str], ...] = (
    (nn.modules.conv._ConvNd, "conv"), (nn.modules.batchnorm._BatchNorm, "bn"), (nn.PReLU, "prelu"),
    (nn.Linear, "linear"), (nn.LayerNorm, "ln"),
)


@dataclass
class _TorchLayer:
    kind: str
    name: str
    module: nn.Module
    reads_previous: bool  # its input is the previous layer's output tensor (conv -> BN pairs)


def _torch_layers(net: nn.Module, input_hw: tuple[int, int]) -> list[_TorchLayer]:
    """Every module holding its own parameters, in execution order (forward hooks on one zero batch)."""
    order: list[_TorchLayer] = []
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
                order.append(_TorchLayer(kind, name, mod, reads))
                last_out[0] = out

        hooks.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            net(torch.zeros(1, 3, *input_hw))
    finally:
        for h in hooks:
            h.remove()
    return order


# ---------------------------------------------------------------------------------------------------- mapping


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


def _align(torch_layers: Sequence[_TorchLayer], onnx_layers: Sequence[_Layer],
           sd: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[tuple[str, str]], list[str]]:
    """Fill ``sd``'s keys from the ONNX layers; ValueError naming the first layer that does not fit."""
    out: dict[str, torch.Tensor] = {}
    pairs: list[tuple[str, str]] = []
    folded: list[str] = []
    j = 0
    i = 0

    def take(kind: str, tname: str) -> _Layer:
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


def _normalisation_affines() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per kind, the (scale, offset) it applies to 0..255 RGB (engine.inference.geometry holds the constants)."""
    from engine.inference.geometry import NORMALISATIONS

    out = {}
    for kind, stats in NORMALISATIONS.items():
        if stats is None:
            out[kind] = (np.ones(3), np.zeros(3))
        else:
            mean, std = np.asarray(stats[0], np.float64), np.asarray(stats[1], np.float64)
            out[kind] = (1.0 / std, -mean / std)
    return out


def _torch_normalisation(affine: tuple[np.ndarray, np.ndarray], onnx_norm: str, path: Path) -> str:
    """The normalisation the torch net needs: the file's own input normalisation followed by its input affine."""
    kinds = _normalisation_affines()
    s_in, o_in = kinds[onnx_norm]
    s, o = affine[0] * s_in, affine[0] * o_in + affine[1]
    for kind, (ks, ko) in kinds.items():
        if np.allclose(s, ks, rtol=1e-3, atol=1e-9) and np.allclose(o, ko, rtol=1e-3, atol=1e-6):
            return kind
    raise NoMappingError(f"{path}: the graph scales its input by {np.round(affine[0], 5).tolist()} and shifts it by "
                         f"{np.round(affine[1], 5).tolist()}, which matches no PoseArena normalisation")


def _arch_variants(spec: ModelSpec, joints: int) -> Iterable[dict[str, Any]]:
    arch = dict(spec.arch)
    if "joints" in arch:
        arch["joints"] = joints
    elif joints != spec.num_joints:
        return
    widths = sorted({*WIDTHS, float(arch["width"])}) if "width" in arch else [None]
    for w in widths:
        yield arch if w is None else {**arch, "width": w}


def _candidates(info: OnnxInfo, target: ModelSpec | None) -> list[tuple[ModelSpec, dict[str, Any], int]]:
    """Registered torch pose specs (joints and width varied) whose input and heatmap shapes equal the file's.

    With ``target`` only that spec, exactly as registered.
    """
    out, seen = [], set()
    c = info.output_shape[0] if info.output_kind == "heatmaps" and len(info.output_shape) == 3 else None
    for spec in [target] if target is not None else all_specs():
        if spec.backend != "torch" or spec.joint_set == "root" or info.output_kind != "heatmaps":
            continue
        if info.input_hw and tuple(spec.input_hw) != tuple(info.input_hw):
            continue
        if info.output_hw != tuple(spec.output_hw):
            continue
        channels = c if c is not None else (info.joints or 0) * (info.depth_bins or 0)
        if channels % spec.depth_bins or channels // spec.depth_bins not in _JOINT_SETS:
            continue
        joints = channels // spec.depth_bins
        if target is not None and joints != target.num_joints:
            continue
        for arch in [dict(target.arch)] if target is not None else _arch_variants(spec, joints):
            key = (spec.family, repr(sorted(arch.items())))
            if key not in seen:
                seen.add(key)
                out.append((spec, arch, joints))
    return out


def _registered_twin(spec: ModelSpec) -> ModelSpec | None:
    for s in all_specs():
        if (s.backend == "torch" and s.family == spec.family and dict(s.arch) == dict(spec.arch)
                and s.joint_set == spec.joint_set and s.normalisation == spec.normalisation
                and tuple(s.input_hw) == tuple(spec.input_hw)):
            return s
    return None


def _derived_spec(base: ModelSpec, arch: dict[str, Any], joints: int, normalisation: str, path: Path,
                  onnx_spec: ModelSpec | None) -> ModelSpec:
    joint_set = _JOINT_SETS[joints]
    cand = replace(base, arch=arch, joint_set=joint_set, normalisation=normalisation)
    twin = _registered_twin(cand)
    if twin is not None:
        return twin
    stem = onnx_spec.name if onnx_spec is not None else "".join(ch if ch.isalnum() or ch in "-_." else "-"
                                                                  for ch in path.stem)
    variant = ", ".join(f"{k} {v}" for k, v in arch.items())
    return replace(cand, name=f"{stem}-torch", variant=f"{variant} (converted from ONNX)", fixture=None,
                   params=None, gmacs=None, checkpoints=(), official=False,
                   published=Published(source="none: converted from a third-party ONNX file"),
                   notes=f"Converted from {path.name}" + (f"; {onnx_spec.notes}" if onnx_spec is not None else ""))


def match_architecture(path: str | Path, *, onnx_spec: ModelSpec | None = None,
                       onnx_normalisation: str | None = None,
                       target: str | None = None) -> tuple[ModelSpec, OnnxMapping]:
    """The torch spec whose layers the file's weights fill, and the filled state_dict; NoMappingError otherwise.

    ``onnx_normalisation`` (default: ``onnx_spec``'s) is what the file expects at its input; when unknown, a file
    without its own input affine is assumed to take what its architecture's registered spec takes. ``target``
    restricts the search to one registered torch model (architectures with equal shapes, such as posenet-r50 and
    integral-r50, are otherwise told apart only by preference: see ``OnnxMapping.alternatives``).
    """
    path = Path(path).expanduser()
    info = inspect_onnx(path)
    model = _load_proto(path)
    consts = _constants(model.graph)
    layers = _onnx_layers(model, consts, path)
    affine = _input_affine(model, consts, layers[0] if layers else None, path)
    has_affine = not (np.allclose(affine[0], 1.0) and np.allclose(affine[1], 0.0))
    declared = onnx_normalisation or (onnx_spec.normalisation if onnx_spec is not None else None)
    conv_shapes = sorted(tuple(lay.tensors["weight"].shape) for lay in layers if lay.kind == "conv")
    fits: list[tuple[ModelSpec, OnnxMapping]] = []
    reasons: list[str] = []
    from models.checkpoint import expected_shapes

    want = get_spec(target) if target else None
    for base, arch, joints in _candidates(info, want):
        label = f"{base.family} {arch}"
        try:
            shapes = expected_shapes(base, arch)
        except Exception as e:  # an arch the family rejects (e.g. LPRES at width 0.5)
            reasons.append(f"{label}: {_first_line(e)}")
            continue
        torch_convs = sorted(s for k, s in shapes.items() if k.endswith("weight") and len(s) >= 3)
        if torch_convs != conv_shapes:
            reasons.append(f"{label}: {len(torch_convs)} convolution weights vs {len(conv_shapes)} in the graph, "
                           f"or their shapes differ")
            continue
        net = build(replace(base, arch=arch))
        sd = net.state_dict()
        try:
            tl = _torch_layers(net, tuple(base.input_hw))
            filled, pairs, folded = _align(tl, layers, sd)
        except ValueError as e:
            reasons.append(f"{label}: {e}")
            continue
        onnx_norm = declared or ("raw_0_255" if has_affine else base.normalisation)
        norm = _torch_normalisation(affine, onnx_norm, path)
        spec = _derived_spec(base, arch, joints, norm, path, onnx_spec)
        mapping = OnnxMapping(
            kind="bn-folded" if folded else "one-to-one", state_dict=filled, pairs=pairs, folded_bn=folded,
            input_affine=(tuple(affine[0].tolist()), tuple(affine[1].tolist())) if has_affine else None,
            onnx_normalisation=onnx_norm, normalisation=norm, assumed=declared is None)
        fits.append((spec, mapping))
    if not fits:
        why = "; ".join(reasons[:4]) or (f"no registered architecture takes {info.input_hw} crops and gives "
                                        f"{info.output_shape} heatmaps")
        raise NoMappingError(f"{path}: its weights map onto no registered PoseArena architecture ({why})")

    def rank(item: tuple[ModelSpec, OnnxMapping]) -> tuple[bool, bool, bool]:
        spec, m = item
        registered = _registered_twin(spec) is not None
        return (not registered, spec.normalisation != m.onnx_normalisation, not spec.official)

    fits.sort(key=rank)
    best, mapping = fits[0]
    mapping.alternatives = [f"{s.name} ({s.family})" for s, _ in fits[1:]]
    return best, mapping


# ---------------------------------------------------------------------------------------------------- convert


def _crops(n: int, hw: tuple[int, int], seed: int) -> np.ndarray:
    """RGB 0..255 test crops: noise plus smooth gradients (a flat crop would hide spatial mistakes)."""
    rng = np.random.default_rng(seed)
    h, w = hw
    out = rng.uniform(0.0, 255.0, size=(n, h, w, 3)).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    for k in range(1, n, 2):
        out[k] = np.stack([xx / max(w - 1, 1), yy / max(h - 1, 1), (xx + yy) / max(h + w - 2, 1)], -1) * 255.0
    return out


def verify_conversion(onnx_net: nn.Module, torch_net: nn.Module, spec: ModelSpec, onnx_normalisation: str, *,
                      crops: int = 2, seed: int = 0, box_mm: float = BOX_MM) -> dict[str, float]:
    """Run both nets on the same crops -> max joint difference (mm) and max heatmap difference (relative)."""
    from engine.inference.geometry import normalise

    patches = _crops(crops, tuple(spec.input_hw), seed)
    with torch.no_grad():
        h_onnx = onnx_net(normalise(patches, onnx_normalisation)).float()
        h_torch = torch_net(normalise(patches, spec.normalisation)).float()
    if h_onnx.shape != h_torch.shape:
        return {"max_joint_diff_mm": float("inf"), "max_heatmap_diff": float("inf")}
    j, d = spec.num_joints, spec.depth_bins
    c_onnx, c_torch = soft_argmax_3d(h_onnx, j, d), soft_argmax_3d(h_torch, j, d)
    h, w = spec.output_hw
    mm = torch.tensor([box_mm / w, box_mm / h, spec.depth_range_mm / d])
    joint = ((c_onnx - c_torch) * mm).norm(dim=-1).max().item()
    scale = max(1.0, h_onnx.abs().max().item())
    return {"max_joint_diff_mm": float(joint), "max_heatmap_diff": float((h_onnx - h_torch).abs().max() / scale)}


def convert_to_checkpoint(path: str | Path, out_path: str | Path, *, onnx_spec: ModelSpec | None = None,
                          onnx_normalisation: str | None = None, target: str | None = None,
                          tolerance_mm: float = TOLERANCE_MM, crops: int = 2, seed: int = 0) -> dict[str, Any]:
    """Write a strict PyTorch checkpoint of the file's architecture, after checking it against onnxruntime.

    Raises NoMappingError when no architecture fits and ConversionRefusedError when the two disagree by more than
    ``tolerance_mm`` on any joint (or by more than 1 % of the logit range on any heatmap value).
    """
    from models.checkpoint import load_strict, sha256_file

    path, out_path = Path(path).expanduser(), Path(out_path).expanduser()
    spec, mapping = match_architecture(path, onnx_spec=onnx_spec, onnx_normalisation=onnx_normalisation,
                                       target=target)
    net = build(spec)
    load_strict(net, mapping.state_dict, path, spec.name)
    onnx_net = OnnxPoseNet(path, joints=spec.num_joints, depth_bins=spec.depth_bins, output_hw=spec.output_hw)
    diff = verify_conversion(onnx_net, net, spec, mapping.onnx_normalisation, crops=crops, seed=seed)
    if not (diff["max_joint_diff_mm"] <= tolerance_mm and diff["max_heatmap_diff"] <= 1e-2):
        raise ConversionRefusedError(
            f"{path}: the converted {spec.name} disagrees with onnxruntime by {diff['max_joint_diff_mm']:.3g} mm "
            f"(tolerance {tolerance_mm} mm; heatmap difference {diff['max_heatmap_diff']:.3g} of the logit range); "
            f"no checkpoint written")
    src_sha = sha256_file(path)
    meta = {"source_onnx": path.name, "source_sha256": src_sha, "family": spec.family, "arch": dict(spec.arch),
            "joint_set": spec.joint_set, "normalisation": spec.normalisation, "mapping": mapping.kind,
            "max_joint_diff_mm": diff["max_joint_diff_mm"]}
    with atomic_path(out_path) as tmp:
        torch.save({"network": mapping.state_dict, "posearena": meta}, tmp)
    return {
        "model": spec.name, "registered": _registered_twin(spec) is not None, "spec": spec,
        "family": spec.family, "arch": dict(spec.arch), "joint_set": spec.joint_set,
        "normalisation": spec.normalisation, "onnx_normalisation": mapping.onnx_normalisation,
        "normalisation_assumed": mapping.assumed, "input_affine": mapping.input_affine,
        "checkpoint": str(out_path), "sha256": sha256_file(out_path),
        "mapping": mapping.kind, "one_to_one": mapping.one_to_one, "folded_bn": len(mapping.folded_bn),
        "mapping_note": mapping.describe(), "alternatives": mapping.alternatives, **diff,
    }


# ---------------------------------------------------------------------------------------------------- import


def _onnx_specs() -> list[ModelSpec]:
    return [s for s in all_specs() if s.backend == "onnx"]


def _recognise(src: Path, model: str | None) -> ModelSpec | None:
    if model:
        spec = get_spec(model)
        return spec if spec.backend == "onnx" else None
    for spec in _onnx_specs():
        if spec.arch.get("onnx_file") and spec.arch["onnx_file"].lower() == src.name.lower():
            return spec
    return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _record(model: str, file: Path, d: Path, source: str) -> str:
    """Copy (if needed) and upsert the manifest entry through models.weights; returns the file's sha256."""
    from models.checkpoint import sha256_file
    from models.weights import ManifestEntry, read_manifest, write_manifest

    sha = sha256_file(file)
    entry = ManifestEntry(model, file.name, sha, source, _now(), False)
    keep = [e for e in read_manifest(d) if e.model != model and e.file != file.name]
    write_manifest([*keep, entry], d)
    return sha


def import_onnx(path: str | Path, weights_dir: str | Path | None = None, *, model: str | None = None,
                convert: bool = True, tolerance_mm: float = TOLERANCE_MM) -> dict[str, Any]:
    """Recognise an ONNX pose model, store it in the weights directory and convert it when a mapping exists.

    ``model`` names the registered model the file is (otherwise recognised by its file name). Returns a dict:
    ``file``, ``sha256``, ``model`` (registered ONNX model or None), ``stored`` (path or None), ``info``,
    ``conversion`` ({status: converted | no-mapping | refused | skipped, ...}) and ``messages`` (lines to print).
    Raises OnnxImportError for a file that is not a pose model, or one PoseArena can neither run nor convert.
    """
    from models.checkpoint import sha256_file
    from models.weights import resolve_weights_dir

    src = Path(path).expanduser()
    info = inspect_onnx(src)
    d = resolve_weights_dir(weights_dir)
    spec = _recognise(src, model)
    target = get_spec(model) if model and spec is None else None  # a torch model named explicitly
    messages: list[str] = []
    stored = None
    if spec is not None:
        try:
            build_onnx_net(spec, src)
        except OnnxModelError as e:
            raise OnnxImportError(f"{src} is not a usable {spec.name} file: {e}") from None
        dest = d / f"{spec.name}.onnx"
        if src.resolve() != dest.resolve():
            atomic_copy(src, dest)
        _record(spec.name, dest, d, f"import:{src.resolve()}")
        stored = dest
        messages.append(f"{src.name}: {spec.name} ({spec.variant}); stored as {dest}")
    conversion: dict[str, Any] = {"status": "skipped"}
    if convert:
        try:
            conv = convert_to_checkpoint(src, d / ".converting.pth", onnx_spec=spec, tolerance_mm=tolerance_mm,
                                         target=target.name if target is not None else None)
        except NoMappingError as e:
            conversion = {"status": "no-mapping", "reason": str(e)}
        except ConversionRefusedError as e:
            conversion = {"status": "refused", "reason": str(e)}
        else:
            tmp = Path(conv["checkpoint"])
            if target is not None and conv["model"] != target.name:
                tmp.unlink(missing_ok=True)
                raise OnnxImportError(f"{src}: its weights fit the architecture of {target.name}, but the graph "
                                      f"expects {conv['normalisation']} input, not {target.normalisation}")
            dest_pth = d / f"{conv['model']}.pth"
            os.replace(tmp, dest_pth)
            conv["checkpoint"] = str(dest_pth)
            conv.pop("spec", None)
            if conv["registered"]:
                _record(conv["model"], dest_pth, d, f"onnx-convert:{src.resolve()}")
            conversion = {"status": "converted", **conv}
            where = ("recorded in the manifest" if conv["registered"]
                     else "no registered model has this architecture, so the app cannot select it yet")
            messages.append(f"converted to a PyTorch checkpoint for {conv['model']} ({conv['family']} "
                            f"{conv['arch']}, {conv['joint_set']}, input {conv['normalisation']}): {dest_pth}; "
                            f"{conv['mapping_note']}; max joint difference {conv['max_joint_diff_mm']:.3g} mm; "
                            f"{where}")
    if conversion["status"] in ("no-mapping", "refused"):
        messages.append(f"no PyTorch conversion: {conversion['reason']}")
    if spec is None and conversion["status"] != "converted":
        known = ", ".join(f"{s.name} ({s.arch.get('onnx_file', '?')})" for s in _onnx_specs()) or "none"
        why = conversion.get("reason", "conversion skipped")
        raise OnnxImportError(f"{src}: a 3D pose model ({info.joints} joints, {info.output_shape} output) that "
                              f"PoseArena does not know: its file name matches no registered ONNX model and {why}. "
                              f"If it is one of the registered ONNX models under another name, import it with "
                              f"--model NAME. Registered ONNX models: {known}")
    return {"file": str(src), "sha256": sha256_file(src), "model": spec.name if spec else None,
            "stored": str(stored) if stored else None, "info": info.summary(), "conversion": conversion,
            "messages": messages}


def import_onnx_archive(path: str | Path, weights_dir: str | Path | None = None, *,
                        models: Sequence[str] | None = None, convert: bool = True) -> list[dict[str, Any]]:
    """Import the registered ONNX models found in a tar(.gz) archive such as PINTO's ``resources.tar.gz``.

    ``models`` limits it to those registered names; OnnxImportError when the archive holds none of them.
    """
    src = Path(path).expanduser()
    wanted = {s.arch["onnx_file"].lower(): s for s in _onnx_specs() if s.arch.get("onnx_file")
              and (not models or s.name in models)}
    try:
        tf = tarfile.open(src)
    except (tarfile.TarError, OSError) as e:
        raise OnnxImportError(f"{src}: not a readable tar archive ({_first_line(e)})") from None
    results = []
    with tf, tempfile.TemporaryDirectory(prefix="posearena-onnx-") as tmp:
        members = [m for m in tf.getmembers() if m.isfile() and Path(m.name).name.lower() in wanted]
        if not members:
            names = ", ".join(sorted(wanted)) or "none"
            raise OnnxImportError(f"{src}: the archive holds none of the registered ONNX files ({names})")
        for m in members:
            out = Path(tmp) / Path(m.name).name
            with tf.extractfile(m) as f, open(out, "wb") as g:  # type: ignore[union-attr]
                g.write(f.read())
            spec = wanted[out.name.lower()]
            results.append(import_onnx(out, weights_dir, model=spec.name, convert=convert))
    return results
