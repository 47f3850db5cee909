"""Plain torch: the net on the device, optionally channels_last and under autocast (fp16 / bf16)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from engine.inference.backends.base import DEFAULT_OPSET, Backend, register_backend
from engine.inference.device import autocast

__all__ = ["TorchEager"]


@register_backend("torch")
class TorchEager(Backend):
    """The reference path. Subclasses only change how the module is wrapped (``_wrap``) and called (``_call``)."""

    _fn: Callable[..., torch.Tensor]

    def prepare(self, net: torch.nn.Module, *, weights_sha256: str | None = None,
                cache_dir: str | Path | None = None, opset: int = DEFAULT_OPSET) -> TorchEager:
        """Move / convert ``net`` **in place** (like ``nn.Module.to``); pass a deepcopy to keep the original."""
        net = net.to(self.device).eval()
        if self.cfg.channels_last:
            net = net.to(memory_format=torch.channels_last)
        self.net = net
        self._fn = self._wrap(net)
        return self

    def _wrap(self, net: torch.nn.Module) -> Callable[..., torch.Tensor]:
        return net

    def _call(self, args: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return self._fn(*args)

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        args = tuple(a.to(self.device, torch.float32, non_blocking=True) for a in args)
        if self.cfg.channels_last:
            args = (args[0].contiguous(memory_format=torch.channels_last), *args[1:])
        with torch.inference_mode(), autocast(self.device, self.cfg.precision):
            out = self._call(args)
        return out.float()
