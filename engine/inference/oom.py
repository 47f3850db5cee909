"""Run a batched function, halving the batch when memory runs out, instead of crashing a long run.

Why: a benchmark started with ``--batch-size 64`` on a smaller GPU (or a CPU box with little RAM) should finish,
slower, rather than die after the first batch. ``run_with_backoff`` calls ``fn`` on consecutive chunks of ``items``;
when a chunk runs out of memory (``torch.cuda.OutOfMemoryError``, a ``RuntimeError`` saying "out of memory" such as
CPU's "DefaultCPUAllocator: can't allocate memory", or ``MemoryError``), it frees what it can (drops the failed
attempt's references, ``gc.collect()``, ``torch.cuda.empty_cache()``), halves the batch and retries the same chunk.
The smaller batch is kept for the rest of the items. Each back-off is reported (``on_backoff`` and a log warning).
At ``min_batch`` it gives up with ``OutOfMemoryBackoffError``, a message saying which items and what to try.

The results equal a plain run's: ``fn`` sees the same items in the same order, only in smaller chunks, and its
per-item outputs are joined in order. ``fn`` must therefore be per-item (no batch statistics), as inference is.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from models.errors import PoseArenaError

__all__ = ["BackoffEvent", "OutOfMemoryBackoffError", "is_out_of_memory", "join_outputs", "run_with_backoff"]

log = logging.getLogger(__name__)

_OOM_PHRASES = ("out of memory", "can't allocate memory", "cannot allocate memory", "failed to allocate memory")


class OutOfMemoryBackoffError(PoseArenaError, RuntimeError):
    """Out of memory even at the smallest allowed batch; the message names the items and what to try."""


@dataclass(frozen=True)
class BackoffEvent:
    """One halving: the chunk starting at ``start`` failed at ``old_batch`` and is retried at ``new_batch``."""

    start: int
    old_batch: int
    new_batch: int
    reason: str  # first line of the out-of-memory error

    def __str__(self) -> str:
        return (f"out of memory at batch size {self.old_batch} (items from {self.start}); "
                f"retrying with batch size {self.new_batch}")


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether an exception means "not enough memory" (CUDA or CPU), as opposed to a bug or bad input."""
    if isinstance(exc, MemoryError):
        return True
    try:
        import torch

        if isinstance(exc, torch.cuda.OutOfMemoryError):
            return True
    except (ImportError, AttributeError):  # pragma: no cover (torch is a dependency)
        pass
    if isinstance(exc, RuntimeError):
        text = str(exc).lower()
        return any(p in text for p in _OOM_PHRASES)
    return False


def _free_memory() -> None:
    gc.collect()
    try:
        import torch

        torch.cuda.empty_cache()  # a no-op when CUDA was never initialised
    except (ImportError, RuntimeError):  # pragma: no cover
        pass


def join_outputs(parts: Sequence[Any]) -> Any:
    """Per-chunk outputs joined in order: torch.cat / np.concatenate along dim 0, else one flat list."""
    if not parts:
        return []
    first = parts[0]
    try:
        import torch

        if isinstance(first, torch.Tensor):
            return torch.cat(list(parts), dim=0)
    except ImportError:  # pragma: no cover
        pass
    import numpy as np

    if isinstance(first, np.ndarray):
        return np.concatenate(list(parts), axis=0)
    out: list[Any] = []
    for p in parts:
        out.extend(p)
    return out


def run_with_backoff(fn: Callable[[Any], Any], items: Any, batch_size: int, min_batch: int = 1,
                     on_backoff: Callable[[BackoffEvent], None] | None = None) -> Any:
    """``fn`` over ``items`` (anything sliceable with ``len``: list, tensor, array) in chunks of ``batch_size``.

    Returns the chunk outputs joined in order (see ``join_outputs``); ``fn`` returns one output per item of its
    chunk (a tensor/array with that many rows, or a sequence). Out-of-memory errors halve the batch (never below
    ``min_batch``) and retry the same chunk; any other error propagates unchanged.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if not 1 <= min_batch <= batch_size:
        raise ValueError(f"min_batch must be between 1 and batch_size ({batch_size}), got {min_batch}")
    n = len(items)
    parts: list[Any] = []
    batch = batch_size
    start = 0
    while start < n:
        chunk = items[start:start + batch]
        failure: BaseException | None = None
        try:
            parts.append(fn(chunk))
        except BaseException as exc:
            if not is_out_of_memory(exc):
                raise
            failure = exc
        if failure is None:
            start += len(chunk)
            continue
        reason = (str(failure).strip().splitlines() or [type(failure).__name__])[0][:200]
        failure_type = type(failure).__name__
        del failure, chunk  # the traceback holds the failed attempt's tensors: drop it before retrying
        _free_memory()
        if batch <= min_batch:
            raise OutOfMemoryBackoffError(
                f"out of memory even at batch size {batch} (items {start}..{min(start + batch, n) - 1} of {n}; "
                f"{failure_type}: {reason}); free memory (close other programs / GPU jobs), use a smaller model or "
                f"input size, or run on the CPU")
        new = max(min_batch, batch // 2)
        event = BackoffEvent(start, batch, new, f"{failure_type}: {reason}")
        log.warning("%s", event)
        if on_backoff is not None:
            on_backoff(event)
        batch = new
    return join_outputs(parts)
