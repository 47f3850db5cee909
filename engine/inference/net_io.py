"""What a network takes and returns, read from the spec's declared ``inputs`` (never from its family or decoding).

Why one module: exporting to ONNX, checking a call, timing a forward and counting MACs all need the same answer to
"which tensors does this net take?", and RootNet's extra ``k_value`` must get the same dummy value and the same
ONNX name in each of them. Here every input kind is one table row: its ONNX name, how a call's
tensor is checked and how a dummy is made.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from engine.defaults import ROOT
from models.spec import ModelSpec

__all__ = [
    "DUMMY_K_VALUE",
    "INPUT_KINDS",
    "InputKind",
    "check_inputs",
    "dummy_inputs",
    "onnx_input_names",
    "output_name",
    "torch_built",
]

# RootNet's k for a box of ROOT.bbox_real_mm seen 300 px wide at f = 1500 px (10000 for the default 2 m box): a
# plausible value, so dummy forwards (export tracing, timing, MAC counting) see realistic magnitudes.
DUMMY_K_VALUE = math.sqrt(ROOT.bbox_real_mm[0] * ROOT.bbox_real_mm[1]) * 1500.0 / 300.0


def torch_built(spec: ModelSpec) -> bool:
    """True for a net built by its torch family, so fast-path switches (export, autocast, compile) apply; False
    for a model that is its own file (ONNX), run as is. Asked of the spec's runtime, never of a backend name."""
    return spec.loads_torch_checkpoint


def _check_image(spec: ModelSpec, x: torch.Tensor) -> torch.Tensor:
    if x.ndim != 4 or tuple(x.shape[1:]) != (3, *spec.input_hw):
        raise ValueError(f"{spec.name}: input must be [N,3,{spec.input_hw[0]},{spec.input_hw[1]}], "
                         f"got {tuple(x.shape)}")
    return x


def _check_k(spec: ModelSpec, k: torch.Tensor) -> torch.Tensor:
    return k.reshape(-1, 1)


def _dummy_image(spec: ModelSpec, batch: int, g: torch.Generator) -> torch.Tensor:
    return torch.randn(batch, 3, *spec.input_hw, generator=g)


def _dummy_k(spec: ModelSpec, batch: int, g: torch.Generator) -> torch.Tensor:
    return torch.full((batch, 1), DUMMY_K_VALUE)


@dataclass(frozen=True)
class InputKind:
    """One kind of network input: its name in exported ONNX graphs, its call check, its dummy."""

    onnx_name: str
    check: Callable[[ModelSpec, torch.Tensor], torch.Tensor]
    dummy: Callable[[ModelSpec, int, torch.Generator], torch.Tensor]


INPUT_KINDS: dict[str, InputKind] = {
    "image": InputKind("x", _check_image, _dummy_image),
    "k_value": InputKind("k_value", _check_k, _dummy_k),
}
_COUNT = {1: "one", 2: "two", 3: "three"}


def onnx_input_names(spec: ModelSpec) -> list[str]:
    return [INPUT_KINDS[k].onnx_name for k in spec.inputs]


def output_name(spec: ModelSpec) -> str:
    """The exported graph's output: ``root`` [N,3] for a root model (RootNet), ``heatmaps`` [N,J*D,H,W] else."""
    return "root" if spec.is_root_model else "heatmaps"


def check_inputs(spec: ModelSpec, inputs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """The call's tensors, checked against the spec's declared inputs (count, then each kind's shape)."""
    want = spec.inputs
    if len(inputs) != len(want):
        n = len(want)
        raise ValueError(f"{spec.name}: takes {_COUNT.get(n, n)} input{'s' * (n != 1)} ({', '.join(want)}), "
                         f"got {len(inputs)}")
    return tuple(INPUT_KINDS[kind].check(spec, t) for kind, t in zip(want, inputs))


def dummy_inputs(spec: ModelSpec, batch: int, *, image: torch.Tensor | None = None,
                 device: str | torch.device | None = None, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """One tensor per declared input, in call order: ``image`` if given (else seeded noise), ``DUMMY_K_VALUE``."""
    g = torch.Generator().manual_seed(seed)
    out = tuple(image if kind == "image" and image is not None else INPUT_KINDS[kind].dummy(spec, batch, g)
                for kind in spec.inputs)
    return out if device is None else tuple(t.to(device) for t in out)
