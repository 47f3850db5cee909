"""The backend base class and its registry: one class per way of running a network (eager, compiled, ONNX...).

Why classes: no fast-path function branches on ``cfg.backend``; a profile names its backend
(``FastPathConfig.runner``), the registry gives the class, and each class says once what it needs (a CUDA device,
switches it cannot change) and how it prepares and calls a net. Adding a backend = one file, one ``register``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Protocol

import torch

from engine.inference.device import synchronize
from engine.inference.net_io import check_inputs
from models.registry import Registry
from models.spec import ModelSpec

__all__ = ["BACKEND_CLASSES", "DEFAULT_OPSET", "Backend", "Switches", "chunk_bounds", "register_backend"]

DEFAULT_OPSET = 17


class Switches(Protocol):
    """What a backend reads of a profile (``engine.inference.fast_paths.FastPathConfig``)."""

    precision: str
    channels_last: bool
    compile: bool
    cuda_graphs: bool
    backend: str

    @property
    def label(self) -> str: ...


def chunk_bounds(n: int, size: int) -> list[tuple[int, int]]:
    """Rows 0..n in the fewest chunks of at most ``size`` rows, as even as possible (6 by 4 -> 3 + 3, not 4 + 2).

    ``size`` <= 0 means one chunk. Even chunks matter on a CPU: a chunk of 2 after one of 4 wastes the batch gain.
    """
    if n <= 0:
        return []
    if size <= 0 or n <= size:
        return [(0, n)]
    k = -(-n // size)
    base, extra = divmod(n, k)
    bounds, a = [], 0
    for i in range(k):
        b = a + base + (1 if i < extra else 0)
        bounds.append((a, b))
        a = b
    return bounds


class Backend:
    """A prepared network: ``backend(*inputs) -> float32 output on the device`` (inputs as the spec declares them).

    Attributes say what actually runs: ``cfg``, ``device``, ``net`` (torch backends: the module, moved in place),
    ``providers``, ``onnx_path`` and ``exported`` (onnxruntime; False when a cached file was reused), and
    ``micro_batch``: a call over more rows runs as even chunks of at most that many (0 = the whole batch at once),
    which ``prepare`` sets from the device (``engine.defaults.INFERENCE.cpu_micro_batch`` on a CPU).
    """

    kind: ClassVar[str] = ""  # registry key (the profile's ``runner``), set by register_backend
    label_part: ClassVar[str] = ""  # this backend's part of a profile label ("" = plain torch)
    fixed: ClassVar[Mapping[str, Any]] = {}  # profile switches this backend cannot change, with the only value
    fixed_reason: ClassVar[str] = "cannot change these switches"  # why ``fixed``, for the error message
    needs_cuda: ClassVar[bool] = False

    def __init__(self, spec: ModelSpec, device: torch.device, cfg: Switches) -> None:
        self.spec, self.device, self.cfg = spec, torch.device(device), cfg
        self.net: torch.nn.Module | None = None
        self.onnx_path: Path | None = None
        self.exported = False
        self.providers: list[str] = []
        self.micro_batch = 0

    @classmethod
    def check_switches(cls, cfg: Switches) -> None:
        """Raise ValueError for a profile switch this backend cannot honour (e.g. bf16 on an exported fp32 graph)."""
        bad = [f"{k} {getattr(cfg, k)}" if isinstance(v, str) else k
               for k, v in cls.fixed.items() if getattr(cfg, k) != v]
        if bad:
            raise ValueError(f"the {cls.kind} backend {cls.fixed_reason}; {', '.join(bad)} only apply to the "
                             f"torch backend")

    @classmethod
    def check_device(cls, device: torch.device) -> None:
        if cls.needs_cuda and torch.device(device).type != "cuda":
            raise ValueError(f"{cls.kind} needs a CUDA device, got {device}")

    @property
    def label(self) -> str:
        return self.cfg.label

    def prepare(self, net: torch.nn.Module, *, weights_sha256: str | None = None,
                cache_dir: str | Path | None = None, opset: int = DEFAULT_OPSET) -> Backend:
        """Make ``net`` ready to run here; returns self."""
        raise NotImplementedError

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        """Run checked inputs (one tensor per declared input); subclasses implement."""
        raise NotImplementedError

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        args = check_inputs(self.spec, inputs)
        bounds = chunk_bounds(int(args[0].shape[0]), self.micro_batch)
        if len(bounds) <= 1:
            return self.forward(*args)
        return torch.cat([self.forward(*(t[a:b] for t in args)) for a, b in bounds], dim=0)

    def synchronize(self) -> None:
        synchronize(self.device)


BACKEND_CLASSES: Registry[type[Backend]] = Registry("inference backend", set_kind=True)


def register_backend(name: str) -> Callable[[type[Backend]], type[Backend]]:
    """Class decorator: register a backend under ``name`` (a profile's ``runner``); the class gets ``kind = name``."""
    return BACKEND_CLASSES.register(name)
