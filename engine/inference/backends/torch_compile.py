"""``torch.compile`` (default mode): off by default, since on this project's 2-core CPUs it measured slower."""

from __future__ import annotations

from collections.abc import Callable

import torch

from engine.inference.backends.base import register_backend
from engine.inference.backends.torch_eager import TorchEager

__all__ = ["TorchCompile"]


@register_backend("compile")
class TorchCompile(TorchEager):
    label_part = "compile"
    compile_mode: str | None = None

    def _wrap(self, net: torch.nn.Module) -> Callable[..., torch.Tensor]:
        return torch.compile(net, mode=self.compile_mode)
