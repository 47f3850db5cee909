"""engine.inference.cpu_memory: freed blocks are reused, so a repeated large allocation no longer faults in pages.

Each case runs in a fresh interpreter (the setting is per process and cannot be undone), allocating and freeing a
64 MiB array ten times and counting the minor page faults of those ten rounds.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PROBE = """
import resource, sys
import numpy as np
from engine.inference.cpu_memory import keep_freed_memory, malloc_state
state = "untouched"
if sys.argv[1] == "keep":
    state = keep_freed_memory()
    assert keep_freed_memory() == state  # once per process: the same answer again
a = np.ones(8 << 20); del a
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    a = np.ones(8 << 20); del a
print(state, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0, str(malloc_state()).replace(" ", "_"))
"""

glibc_only = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                                reason="the setting exists for glibc only")


def probe(mode: str, **env: str) -> tuple[str, int, str]:
    full = {k: v for k, v in os.environ.items() if k != "POSEARENA_MALLOC"} | env
    out = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=ROOT, env=full, capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    return " ".join(out[:-2]), int(out[-2]), out[-1]  # the state may hold spaces: "not changed: ..."


@glibc_only
def test_kept_memory_is_reused_without_page_faults() -> None:
    untouched, plain, before = probe("plain")
    assert (untouched, before) == ("untouched", "None")
    state, kept, after = probe("keep")
    assert state == "kept" and after == "kept"
    assert plain >= 100, f"glibc gave the 64 MiB back and faulted it in again: {plain} faults expected >= 100"
    assert kept < plain / 10, f"with freed memory kept, ten rounds faulted {kept} times (plain: {plain})"


@glibc_only
def test_the_environment_can_leave_the_allocator_alone() -> None:
    state, faults, after = probe("keep", POSEARENA_MALLOC="system")
    assert state == "not changed: POSEARENA_MALLOC=system" and after == state.replace(" ", "_")
    assert faults >= 100


def test_a_cpu_predictor_applies_it() -> None:
    from engine.inference.cpu_memory import malloc_state
    from engine.inference.predictor import Predictor

    Predictor([], None, device="cpu")
    assert malloc_state() is not None
