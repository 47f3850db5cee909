"""Keep freed CPU memory in the process, so a batched forward does not fault in fresh pages every call.

Why: glibc serves an allocation above its mmap threshold (128 KiB to 32 MiB, adaptive) with a fresh ``mmap`` and
hands it back with ``munmap`` when freed. A conv net's activations over a batch of crops are such blocks, so every
forward asked the kernel for zeroed pages again: on the 2-core CPU half the CPU time of an 8-person frame was system
time, and 8 persons cost 247 ms where the same process with the blocks kept cost 132 ms (mhp-lpski, one batched
call). ``keep_freed_memory`` tells glibc (``mallopt``) to serve large blocks from its heap and to give back only
free heap beyond 2 GiB: the process keeps its working set and reuses it. The price is resident memory: a loop of
batch-32 flip-test forwards holds 1.7 GiB where glibc's default held 0.8 GiB between calls, and the full benchmark
peaks 17 % higher (2,412 MiB, not 2,068); ``release_free_memory`` keeps it from creeping up.
Without it a batch of 8 or 16 crops costs more per crop than a batch of 4 (``bench.micro_batch``); with the blocks
kept, the larger batch costs the same or less.

Only on Linux with glibc; elsewhere, or when ``POSEARENA_MALLOC=system`` is set, it does nothing and says so.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import threading

__all__ = ["ENV", "RELEASE_EVERY", "keep_freed_memory", "malloc_state", "release_free_memory"]

ENV = "POSEARENA_MALLOC"  # "system": leave the C allocator as it is
_M_TRIM_THRESHOLD = -1  # glibc malloc.h: free heap above this is returned to the OS
_M_MMAP_MAX = -4  # glibc malloc.h: how many blocks may be served by mmap at once (0 = none)
_KEEP_BYTES = 2**31 - 1  # the largest value mallopt takes: free heap up to 2 GiB stays in the process

RELEASE_EVERY = 32  # batches between ``release_free_memory`` calls in a long run (one re-fault per 32 batches)

_lock = threading.Lock()
_state: str | None = None  # "kept" | a reason it was not done
_libc: ctypes.CDLL | None = None  # set with _state == "kept"


def _glibc() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        lib = ctypes.CDLL(name)
        lib.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        lib.mallopt.restype = ctypes.c_int
        return lib
    except (OSError, AttributeError):
        return None


def keep_freed_memory() -> str:
    """Apply the setting once per process (later calls return the first answer): "kept" or why not."""
    global _state, _libc
    with _lock:
        if _state is not None:
            return _state
        if os.environ.get(ENV, "").strip().lower() == "system":
            _state = f"not changed: {ENV}=system"
            return _state
        lib = _glibc()
        if lib is None:
            _state = "not changed: not glibc"
            return _state
        ok_trim = lib.mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES)
        ok_mmap = lib.mallopt(_M_MMAP_MAX, 0)
        _state = "kept" if ok_trim == 1 and ok_mmap == 1 else "not changed: mallopt refused"
        _libc = lib if _state == "kept" else None
        return _state


def malloc_state() -> str | None:
    """What ``keep_freed_memory`` did in this process (None: not called yet)."""
    return _state


def release_free_memory() -> bool:
    """Give the free pages of the heap back to the OS now (glibc ``malloc_trim``); True when any were.

    Why: with freed memory kept, a long run whose allocations vary leaves free gaps between live blocks that only
    grow the resident size (the 8,695-sample benchmark: 2,198 MiB at 1k samples, 2,550 at the end; released every
    32 batches: 2,257 and 2,412, flat from 4k on). ``Predictor.predict_batch`` calls it every ``RELEASE_EVERY``
    calls (live: frames); each call costs one re-fault of the working set. A no-op when nothing is kept.
    """
    return bool(_libc is not None and _libc.malloc_trim(0))
