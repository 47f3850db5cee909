"""CUDA graphs through ``torch.compile(mode="reduce-overhead")``: GPU only; each call marks a new graph step."""

from __future__ import annotations

import torch

from engine.inference.backends.base import register_backend
from engine.inference.backends.torch_compile import TorchCompile

__all__ = ["CudaGraphs"]


@register_backend("cuda_graphs")
class CudaGraphs(TorchCompile):
    label_part = "cuda_graphs"  # implies compile
    compile_mode = "reduce-overhead"
    needs_cuda = True

    def _call(self, args: tuple[torch.Tensor, ...]) -> torch.Tensor:
        torch.compiler.cudagraph_mark_step_begin()
        return self._fn(*args)

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        return super().forward(*args).clone()  # graph outputs are overwritten by the next replay
