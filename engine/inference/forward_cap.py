"""How many crops one CPU forward may take: a memory budget divided by the model's activation memory per crop.

Why: a CPU has no out-of-memory error to back off from; the kernel kills the process instead. The benchmark puts a
whole batch (and with the flip test its mirrored twin) into one forward, and a heavy model such as MobileHumanPose
LPRES needs about 0.45 GB per crop, so 64 crops asked for ~24 GB. Each spec declares its peak activation memory per
crop (``ModelSpec.activation_mb``, measured by ``python -m bench.benchmark_memory``); a model that declares none gets
``INFERENCE.cpu_crop_mb_default``. A GPU keeps its out-of-memory back-off (``engine.inference.oom``) instead.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from engine.defaults import INFERENCE

__all__ = ["capped", "crops_within_budget", "forward_cap", "mb_per_crop"]


def mb_per_crop(spec: Any) -> float:
    """The memory one crop costs in a forward (MiB): the declared activation peak times the workspace margin."""
    declared = getattr(spec, "activation_mb", None)
    if declared is None or not declared > 0:
        return float(INFERENCE.cpu_crop_mb_default)
    return float(declared) * INFERENCE.cpu_workspace_factor


def crops_within_budget(per_crop_mb: float, budget_mb: float) -> int:
    """The most crops whose activations fit ``budget_mb`` (at least 1); 0 = no cap (budget 0 or nothing to cap)."""
    if budget_mb <= 0 or per_crop_mb <= 0:
        return 0
    return max(1, int(math.floor(budget_mb / per_crop_mb)))


def forward_cap(lm: Any, device: torch.device, budget_mb: float | None = None) -> int:
    """The crops one forward of ``lm`` may take on ``device`` (0 = no cap: GPUs, or a budget of 0)."""
    if torch.device(device).type != "cpu":
        return 0
    budget = INFERENCE.cpu_forward_budget_mb if budget_mb is None else budget_mb
    return crops_within_budget(mb_per_crop(lm.spec), budget)


def capped(micro_batch: int, cap: int) -> int:
    """The stricter of a micro-batch and a memory cap, where 0 means "no limit" for both."""
    if cap <= 0:
        return micro_batch
    if micro_batch <= 0:
        return cap
    return min(micro_batch, cap)
