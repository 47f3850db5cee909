"""Which samples a benchmark shard runs: contiguous, disjoint, covering slices of the test set.

A module of its own (pure numpy, imports nothing of the benchmark) so the runner and its config can use it while
``engine.h36m.shards`` (running and merging shard folders) imports the runner.
"""

from __future__ import annotations

import numpy as np

__all__ = ["parse_shard", "shard_indices"]


def shard_indices(n: int, index: int, count: int, align: int = 1) -> np.ndarray:
    """Sample positions of shard ``index`` (0-based) of ``count`` over ``n`` samples: contiguous, disjoint, covering.

    Shards differ in size by at most ``align`` samples. ``align``: shard boundaries fall on multiples of it (pass the
    inference batch size, so every shard's batches are exactly the whole run's batches; some backends give
    bit-different results for a sample depending on what else is in its batch). Trailing shards may be empty when
    ``count * align > n``.
    """
    n, index, count, align = int(n), int(index), int(count), int(align)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if count < 1:
        raise ValueError(f"shard count must be at least 1, got {count}")
    if not 0 <= index < count:
        raise ValueError(f"shard index must be in 0..{count - 1}, got {index}")
    if align < 1:
        raise ValueError(f"align must be at least 1, got {align}")
    blocks = -(-n // align)  # ceil: the last block may be short

    def start(i: int) -> int:
        return min(n, (blocks * i // count) * align)

    return np.arange(start(index), start(index + 1), dtype=np.int64)


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` (0-based I, as SLURM_ARRAY_TASK_ID) -> (I, N), with a message a CLI can show."""
    try:
        i, n = (int(v) for v in str(text).split("/"))
    except ValueError:
        raise ValueError(f"shard must be I/N with whole numbers (e.g. 0/4), got {text!r}") from None
    if n < 1 or not 0 <= i < n:
        raise ValueError(f"shard {text!r}: need 0 <= I < N")
    return i, n
