"""The weights side of an ONNX graph: folded constants, parameterised layers in graph order, the input affine.

Why: matching a file to a torch architecture compares layers, not nodes. Weights may reach a node through
Identity / Unsqueeze / Reshape / Cast chains (exporters dedupe identical tensors and unsqueeze PReLU slopes); those
are folded statically. A per-channel affine (Sub/Div...) between the graph input and the first convolution is read
as the file's own input normalisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.onnx.inspect import NoMappingError, graph_inputs

__all__ = ["OnnxLayer", "fold_constants", "input_affine", "onnx_layers"]

_PARAM_OPS = ("Conv", "ConvTranspose", "BatchNormalization", "PRelu", "Gemm", "MatMul", "LayerNormalization")
_PASS_OPS = ("Identity", "Cast", "Transpose")  # layout/no-op steps allowed between the input and the first conv
_AFFINE_OPS = ("Sub", "Add", "Mul", "Div")


def fold_constants(g: Any) -> dict[str, np.ndarray]:
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
class OnnxLayer:
    kind: str  # conv | bn | prelu | linear | ln
    name: str
    tensors: dict[str, np.ndarray]
    attrs: dict[str, Any] = field(default_factory=dict)
    inp: str = ""
    out: str = ""
    op: str = ""


def onnx_layers(model: Any, consts: Mapping[str, np.ndarray], path: Path) -> list[OnnxLayer]:
    """The parameterised nodes in graph order, with their static tensors."""
    from onnx import helper

    g = model.graph
    consumers: dict[str, list[Any]] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    layers: list[OnnxLayer] = []
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
            layers.append(OnnxLayer("conv", name, t, attrs, ins[0], n.output[0], n.op_type))
        elif n.op_type == "BatchNormalization":
            t = dict(zip(("weight", "bias", "running_mean", "running_var"), (static(k, "statistics") for k in
                                                                                range(1, 5))))
            layers.append(OnnxLayer("bn", name, t, attrs, ins[0], n.output[0]))
        elif n.op_type == "PRelu":
            layers.append(OnnxLayer("prelu", name, {"weight": static(1, "slope")}, attrs, ins[0], n.output[0]))
        elif n.op_type == "LayerNormalization":
            layers.append(OnnxLayer("ln", name, {"weight": static(1, "scale"), "bias": static(2, "bias")}, attrs,
                                 ins[0], n.output[0]))
        elif n.op_type == "Gemm":
            w, b = static(1, "weight"), static(2, "bias")
            w = (w if attrs.get("transB", 0) else w.T) * attrs.get("alpha", 1.0)
            b = None if b is None else b * attrs.get("beta", 1.0)
            layers.append(OnnxLayer("linear", name, {"weight": w, "bias": b}, attrs, ins[0], n.output[0]))
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
            layers.append(OnnxLayer("linear", name, {"weight": w, "bias": bias}, attrs, ins[0], out))
    return layers


def input_affine(model: Any, consts: Mapping[str, np.ndarray], first_conv: OnnxLayer | None,
                  path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (scale, offset) the graph applies to its input before the first parameterised node."""
    g = model.graph
    producers = {o: n for n in g.node for o in n.output}
    start = graph_inputs(model)[0].name
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
