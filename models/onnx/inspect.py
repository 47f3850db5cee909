"""Read an ONNX pose model: parse and check the file, describe its inputs and outputs, derive the heatmap geometry.

Why a module of its own: every later step (matching, converting, storing) starts from ``inspect_onnx``'s verdict,
and the errors it raises (``OnnxImportError`` and subclasses) are the ones ``python main.py weights import`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.errors import first_line
from models.onnx.backend import OnnxModelError, OnnxPoseNet

__all__ = [
    "ConversionRefusedError",
    "NoMappingError",
    "OnnxImportError",
    "OnnxInfo",
    "TensorInfo",
    "first_line",
    "graph_inputs",
    "inspect_onnx",
    "load_proto",
]


class OnnxImportError(OnnxModelError):
    """An ONNX file cannot be imported; the message names the file and what is wrong."""


class NoMappingError(OnnxImportError):
    """The file's weights map onto no registered torch architecture (the ONNX backend can still run it)."""


class ConversionRefusedError(OnnxImportError):
    """The converted checkpoint disagrees with the ONNX model beyond the tolerance."""


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


def load_proto(path: Path) -> Any:
    import onnx

    if not path.is_file():
        raise OnnxImportError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise OnnxImportError(f"{path}: the file is empty (0 bytes); an interrupted download or copy?")
    try:
        model = onnx.load(str(path))
    except Exception as e:  # DecodeError, RuntimeWarning-as-error, external data missing...
        raise OnnxImportError(f"{path}: not a valid ONNX model: it does not parse as an ONNX protobuf "
                              f"({type(e).__name__}: {first_line(e)})") from None
    if not model.graph.node or not model.graph.output:
        raise OnnxImportError(f"{path}: not a valid ONNX model: it holds no graph (no nodes or outputs)")
    try:
        onnx.checker.check_model(model)
    except Exception as e:  # onnx.checker.ValidationError and friends
        raise OnnxImportError(f"{path}: malformed ONNX model ({first_line(e)})") from None
    return model


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


def graph_inputs(model: Any) -> list[Any]:
    inits = {i.name for i in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in inits]  # old exporters list weights as inputs too


def inspect_onnx(path: str | Path) -> OnnxInfo:
    """Read an ONNX file's I/O and size; OnnxImportError unless it is a single-input 3-D pose heatmap model."""
    path = Path(path).expanduser()
    model = load_proto(path)
    g = model.graph
    inputs = tuple(TensorInfo(i.name, _dims(i), _dtype(i)) for i in graph_inputs(model))
    outputs = tuple(TensorInfo(o.name, _dims(o), _dtype(o)) for o in g.output)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    nparams = stored_parameters(g)
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


def stored_parameters(g: Any) -> int:
    """Float elements stored in the file: initializers and Constant nodes."""
    from onnx import TensorProto, helper

    floats = (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE, TensorProto.BFLOAT16)
    tensors = list(g.initializer) + [a.t for n in g.node if n.op_type == "Constant" for a in n.attribute
                                     if a.type == helper.AttributeProto.TENSOR]
    return sum(int(np.prod(t.dims, dtype=np.int64)) for t in tensors if t.data_type in floats)
