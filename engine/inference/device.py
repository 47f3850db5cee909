"""Device and precision selection for inference: CUDA when present, else CPU; autocast for fp16/bf16."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

__all__ = ["PRECISIONS", "autocast", "check_precision", "describe", "pick_device", "synchronize"]

PRECISIONS: dict[str, torch.dtype | None] = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}


def pick_device(pref: str = "auto") -> torch.device:
    """"auto" -> first CUDA device if present, else CPU; "cpu", "cuda", "cuda:N" explicitly (error if absent)."""
    p = (pref or "auto").strip().lower()
    if p == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(p)
    except RuntimeError:
        raise ValueError(f"unknown device {pref!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N'") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {pref!r} requested but CUDA is not available (torch {torch.__version__})")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {pref!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    elif dev.type != "cpu":
        raise ValueError(f"unsupported device {pref!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N'")
    return dev


def check_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    return precision


@contextlib.contextmanager
def autocast(device: torch.device, precision: str) -> Iterator[None]:
    """Mixed precision for the network forward (fp32 = no autocast). Soft-argmax and geometry stay in fp32."""
    dtype = PRECISIONS[check_precision(precision)]
    if dtype is None:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield


def synchronize(device: torch.device) -> None:
    """Wait for queued kernels so wall-clock timings measure the work, not the launch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def describe(device: torch.device) -> str:
    """Human-readable device name for labels and reports."""
    if device.type == "cuda":
        idx = device.index if device.index is not None else torch.cuda.current_device()
        return f"CUDA {torch.cuda.get_device_name(idx)}"
    return f"CPU ({torch.get_num_threads()} threads)"
