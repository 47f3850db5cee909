"""Inference fast paths: one place that prepares a network for inference by a named profile.

A profile (``PROFILES``: name -> ``FastPathConfig``) sets independent switches: precision (fp32 | bf16 | fp16
autocast), channels_last memory format, ``torch.compile`` (off by default: on this project's 2-core CPUs it measured
slower), CUDA graphs (GPU only) and the backend (torch | onnxruntime). ``FastPathConfig.runner`` names the backend
class that runs it (``engine.inference.backends``: one file per backend, found through a registry); ``prepare``
builds it. The onnxruntime backend exports the torch net to ONNX once into a cache keyed by model name + weights +
opset and reuses the file afterwards.

``parity_mm`` says how far a fast path's joints move from the fp32 reference, in millimetres at a *nominal* scale:
the crop is taken to be a 1000 mm-wide box, so x and y cells convert at ``1000 / output_width`` mm per cell (cells are
square, so the same factor serves y, also for non-square inputs); z bins convert at ``depth_range_mm / depth_bins``
mm per bin. RootNet's root depth is compared relatively, at a nominal 4000 mm: ``|d_fast - d_ref| / |d_ref| * 4000``
(random weights put roots ~10^7 mm away, where absolute mm would mean nothing). A real person's box is usually
1.5-2.5 m wide, so real image-plane errors scale accordingly; the number is a comparable yardstick across models and
precisions, not an MPJPE.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from engine.defaults import INFERENCE
from engine.inference.backends import BACKEND_CLASSES, DEFAULT_OPSET, Backend
from engine.inference.backends.onnx_cache import export_onnx, onnx_cache_dir, onnx_cache_path, weights_tag
from models.soft_argmax import soft_argmax_3d
from models.spec import ModelSpec

__all__ = [
    "BACKENDS",
    "DEFAULT_OPSET",
    "NOMINAL_BOX_MM",
    "NOMINAL_ROOT_DEPTH_MM",
    "PRECISIONS",
    "PROFILES",
    "Backend",
    "FastPath",
    "FastPathConfig",
    "cells_to_nominal_mm",
    "default_micro_batch",
    "export_onnx",
    "get_profile",
    "onnx_cache_dir",
    "onnx_cache_path",
    "parity_mm",
    "parity_threshold_mm",
    "prepare",
    "profiles_for",
    "resolve_micro_batch",
    "weights_tag",
]

PRECISIONS = ("fp32", "bf16", "fp16")
BACKENDS = ("torch", "onnxruntime")  # the user-facing ``backend`` switch; compile / cuda_graphs are torch options
NOMINAL_BOX_MM = 1000.0
NOMINAL_ROOT_DEPTH_MM = 4000.0  # a yardstick (parity_mm), not a default: it must not move with ROOT
FastPath = Backend  # the name callers know a prepared network by


# ------------------------------------------------------------------------------------------------------ profiles


@dataclass(frozen=True)
class FastPathConfig:
    """How to run a network. Switches are independent; ``validate(device)`` rejects combinations that cannot run."""

    precision: str = "fp32"  # fp32 | bf16 | fp16 (autocast; soft-argmax stays fp32)
    channels_last: bool = False
    compile: bool = False  # torch.compile (default mode)
    cuda_graphs: bool = False  # GPU only: torch.compile(mode="reduce-overhead")
    backend: str = "torch"  # torch | onnxruntime

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; use one of {', '.join(PRECISIONS)}")
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}; use one of {', '.join(BACKENDS)}")
        BACKEND_CLASSES[self.backend].check_switches(self)

    @property
    def runner(self) -> str:
        """The registered backend class that runs this config (``engine.inference.backends.BACKEND_CLASSES``)."""
        if self.cuda_graphs:
            return "cuda_graphs"
        return "compile" if self.compile else self.backend

    def validate(self, device: torch.device) -> None:
        """Raise ValueError for switches the device cannot honour (CUDA graphs need a GPU)."""
        BACKEND_CLASSES[self.runner].check_device(torch.device(device))

    @property
    def label(self) -> str:
        """Short human name, e.g. "fp32", "channels_last+bf16", "onnxruntime", "fp16+cuda_graphs"."""
        parts = ["channels_last"] if self.channels_last else []
        if self.precision != "fp32":
            parts.append(self.precision)
        part = BACKEND_CLASSES[self.runner].label_part
        return "+".join([*parts, *([part] if part else [])]) or "fp32"


PROFILES: Mapping[str, FastPathConfig] = {
    "fp32": FastPathConfig(),
    "bf16": FastPathConfig(precision="bf16"),
    "channels_last": FastPathConfig(channels_last=True),
    "channels_last+bf16": FastPathConfig(precision="bf16", channels_last=True),
    "onnxruntime": FastPathConfig(backend="onnxruntime"),
    "compile": FastPathConfig(compile=True),
    "fp16": FastPathConfig(precision="fp16"),
    "channels_last+fp16": FastPathConfig(precision="fp16", channels_last=True),
    "cuda_graphs": FastPathConfig(cuda_graphs=True),
    "fp16+cuda_graphs": FastPathConfig(precision="fp16", cuda_graphs=True),
}
_CUDA_ONLY = ("fp16", "channels_last+fp16", "cuda_graphs", "fp16+cuda_graphs")


def get_profile(name: str) -> FastPathConfig:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown fast-path profile {name!r}; known: {', '.join(PROFILES)}") from None


def profiles_for(device: torch.device, compile: bool = False) -> list[str]:
    """The profiles worth benchmarking on a device: fp16 and CUDA graphs only on CUDA, compile only when asked."""
    cuda = torch.device(device).type == "cuda"
    return [n for n in PROFILES if (cuda or n not in _CUDA_ONLY) and (compile or n != "compile")]


def parity_threshold_mm(cfg: FastPathConfig | str, spec: ModelSpec | None = None) -> float:
    """Largest nominal-mm drift from fp32 eager still counted as "the same answer" for this kind of path.

    fp32 paths (eager, channels_last, compile, onnxruntime) differ only by summation order: 0.1 mm. Half precision:
    5 mm for pose nets; 20 mm for RootNet, whose depth comes from one gamma factor where bf16's 8-bit mantissa alone
    is ~0.4 % (16 mm at the nominal 4 m) — still far below its published 120 mm root error.
    """
    cfg = get_profile(cfg) if isinstance(cfg, str) else cfg
    if cfg.precision == "fp32":  # onnxruntime is always fp32 (its backend fixes the switch)
        return 0.1
    return 20.0 if spec is not None and spec.takes_k_value else 5.0


# ------------------------------------------------------------------------------------------------------ parity


def cells_to_nominal_mm(spec: ModelSpec, out: torch.Tensor, ref_depth: torch.Tensor | None = None) -> torch.Tensor:
    """Decoded output -> nominal mm (module docstring). Pose nets: heatmaps -> [N,J,3]; RootNet: [N,3] -> [N,1,3].

    RootNet's depth is rescaled so that ``ref_depth`` [N] (the reference output's depth; default: this output's)
    sits at ``NOMINAL_ROOT_DEPTH_MM``: its drift is relative, as random weights put roots hundreds of metres away.
    """
    out = out.detach().float().cpu()
    mm_per_cell = NOMINAL_BOX_MM / spec.output_hw[1]
    if spec.is_root_model:
        if out.ndim != 2 or out.shape[1] != 3:
            raise ValueError(f"{spec.name}: RootNet output must be [N,3], got {tuple(out.shape)}")
        out = out.double()  # depths of random nets reach 1e7 mm: float32 would eat the drift being measured
        ref = (out[:, 2] if ref_depth is None else ref_depth.detach().double().cpu()).abs().clamp_min(1.0)
        xy = out[:, :2] * mm_per_cell
        z = out[:, 2:] / ref[:, None] * NOMINAL_ROOT_DEPTH_MM
        return torch.cat((xy, z), dim=1)[:, None, :]
    if out.ndim != 4:
        raise ValueError(f"{spec.name}: heatmaps must be [N,J*D,H,W], got {tuple(out.shape)}")
    cells = soft_argmax_3d(out, spec.num_joints, spec.depth_bins)
    scale = torch.tensor([mm_per_cell, mm_per_cell, spec.depth_range_mm / spec.depth_bins])
    return cells * scale


def parity_mm(spec: ModelSpec, ref_heatmaps: torch.Tensor, fast_heatmaps: torch.Tensor) -> float:
    """Largest 3-D distance (nominal mm) between the same joint of the same crop in two outputs; NaN stays NaN."""
    if tuple(ref_heatmaps.shape) != tuple(fast_heatmaps.shape):
        raise ValueError(f"{spec.name}: outputs differ in shape: {tuple(ref_heatmaps.shape)} vs "
                         f"{tuple(fast_heatmaps.shape)}")
    ref_depth = ref_heatmaps[:, 2] if spec.is_root_model and ref_heatmaps.ndim == 2 else None
    a = cells_to_nominal_mm(spec, ref_heatmaps, ref_depth)
    b = cells_to_nominal_mm(spec, fast_heatmaps, ref_depth)
    d = torch.linalg.vector_norm((a - b).double(), dim=-1)
    if torch.isnan(d).any():
        return float("nan")
    return float(d.max()) if d.numel() else 0.0


# ------------------------------------------------------------------------------------------------------ prepare


def prepare(net: Any, spec: ModelSpec, device: str | torch.device, cfg: FastPathConfig | str = "fp32", *,
            weights_sha256: str | None = None, cache_dir: str | Path | None = None,
            opset: int = DEFAULT_OPSET, micro_batch: int | None = None) -> Backend:
    """Prepare ``net`` (an nn.Module or a ``models.loader.LoadedModel``) to run ``spec`` on ``device`` per ``cfg``.

    ``micro_batch``: the most rows one forward takes (``Backend.micro_batch``; 0 = no limit); None = the device's
    default (``INFERENCE.cpu_micro_batch`` on a CPU, no limit on a GPU).

    Torch backends: the net is moved / converted **in place** (like ``nn.Module.to``); pass a deepcopy to keep the
    original. onnxruntime backend: the net is exported once to the ONNX cache (``onnx_cache_path``) keyed by the
    model name, ``weights_sha256`` (taken from a LoadedModel; without one, a hash of the parameters) and the opset;
    an existing file is reused, a corrupt one is re-exported. Raises ValueError for a switch the device cannot run.
    """
    if hasattr(net, "net") and hasattr(net, "sha256"):  # LoadedModel
        weights_sha256 = weights_sha256 or net.sha256
        net = net.net
    cfg = get_profile(cfg) if isinstance(cfg, str) else cfg
    device = torch.device(device)
    cfg.validate(device)
    backend = BACKEND_CLASSES[cfg.runner](spec, device, cfg)
    backend.micro_batch = resolve_micro_batch(micro_batch, device)
    return backend.prepare(net, weights_sha256=weights_sha256, cache_dir=cache_dir, opset=opset)


def resolve_micro_batch(value: int | None, device: str | torch.device) -> int:
    """A caller's micro-batch checked (a whole number >= 0; 0 = no limit), or the device's default for None."""
    if value is None:
        return default_micro_batch(device)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"micro_batch must be a whole number >= 0 (0 = no limit), got {value!r}")
    return value


def default_micro_batch(device: str | torch.device) -> int:
    """The device's micro-batch: ``INFERENCE.cpu_micro_batch`` on a CPU; 0 (the whole batch) elsewhere."""
    return INFERENCE.cpu_micro_batch if torch.device(device).type == "cpu" else 0
