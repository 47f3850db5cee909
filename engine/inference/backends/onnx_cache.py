"""The ONNX export cache: one file per model name + weights + opset, exported once and reused afterwards.

Why a cache: exporting a ResNet takes seconds; the weights tag keeps two checkpoints (or two random inits) apart.
"""

from __future__ import annotations

import copy
import hashlib
import os
import warnings
from pathlib import Path

import torch

from engine.inference.backends.base import DEFAULT_OPSET
from engine.inference.net_io import dummy_inputs, onnx_input_names, output_name
from models.fileio import atomic_path
from models.spec import ModelSpec

__all__ = ["EXPORT_BATCH", "export_onnx", "onnx_cache_dir", "onnx_cache_path", "weights_tag"]

EXPORT_BATCH = 2  # a batch of 1 lets the tracer bake N=1 into reshapes; 2 keeps the batch axis symbolic


def onnx_cache_dir(override: str | Path | None = None) -> Path:
    """argument > $POSEARENA_ONNX_CACHE > $POSEARENA_HOME/cache/onnx > $XDG_CACHE_HOME/posearena/onnx > ~/.cache/..."""
    if override:
        return Path(override).expanduser()
    env = os.environ
    if env.get("POSEARENA_ONNX_CACHE"):
        return Path(env["POSEARENA_ONNX_CACHE"]).expanduser()
    if env.get("POSEARENA_HOME"):
        return Path(env["POSEARENA_HOME"]).expanduser() / "cache" / "onnx"
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]).expanduser() / "posearena" / "onnx"
    return Path.home() / ".cache" / "posearena" / "onnx"


def weights_tag(net: torch.nn.Module, sha256: str | None = None) -> str:
    """Cache-key part for the weights: the checkpoint's sha256, else "untrained-" + a hash of the parameters.

    Why hash random weights: two untrained inits (other seeds) must not share an exported file.
    """
    if sha256:
        return sha256.lower()[:16]
    h = hashlib.sha256()
    for name, t in net.state_dict().items():
        t = t.detach().to("cpu", torch.float32 if t.is_floating_point() else t.dtype).contiguous()
        h.update(f"{name}{tuple(t.shape)}".encode())
        h.update(t.numpy().tobytes())
    return "untrained-" + h.hexdigest()[:12]


def onnx_cache_path(spec: ModelSpec, tag: str, opset: int = DEFAULT_OPSET, cache_dir: str | Path | None = None) -> Path:
    return onnx_cache_dir(cache_dir) / f"{spec.name}-{tag}-opset{opset}.onnx"


def export_onnx(net: torch.nn.Module, spec: ModelSpec, path: str | Path, opset: int = DEFAULT_OPSET) -> Path:
    """Export ``net`` (fp32, CPU copy) to ``path`` atomically, with a dynamic batch axis on every input and the output.

    Uses the TorchScript exporter (``dynamo=False``): the dynamo exporter needs onnxscript, which is not installed.
    The graph's inputs are the spec's declared ones (``x``, plus ``k_value`` for RootNet); the output is ``root``
    [N,3] for a k-value net, else ``heatmaps``.
    """
    path = Path(path)
    net = copy.deepcopy(net).float().cpu().to(memory_format=torch.contiguous_format).eval()
    inputs, output = onnx_input_names(spec), output_name(spec)
    axes = {n: {0: "batch"} for n in [*inputs, output]}
    with atomic_path(path) as tmp, warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # legacy-exporter deprecation and tracer notes: expected here
        torch.onnx.export(net, dummy_inputs(spec, EXPORT_BATCH), str(tmp), dynamo=False, opset_version=opset,
                          input_names=inputs, output_names=[output], dynamic_axes=axes, do_constant_folding=True)
    return path
