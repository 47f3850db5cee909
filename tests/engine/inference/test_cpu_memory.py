"""engine.inference.cpu_memory: freed blocks are reused, so a repeated large allocation does not fault in pages.

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


RELEASE_PROBE = """
import numpy as np, psutil
from engine.inference.cpu_memory import keep_freed_memory, release_free_memory
assert release_free_memory() is False  # nothing kept yet: nothing to do
keep_freed_memory()
blocks = [np.ones(4 << 20) for _ in range(8)]  # 8 x 32 MiB, then every other one freed: gaps between live blocks
del blocks[::2]
rss = lambda: psutil.Process().memory_info().rss / 2**20
before = rss()
print(release_free_memory(), round(before - rss()))
"""


@glibc_only
def test_release_gives_the_free_gaps_back() -> None:
    """Kept memory would hold the freed 4 x 32 MiB between live blocks for ever; a release returns them."""
    env = {k: v for k, v in os.environ.items() if k != "POSEARENA_MALLOC"}
    out = subprocess.run([sys.executable, "-c", RELEASE_PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    assert out[0] == "True" and int(out[1]) >= 100, out


def test_a_predictor_releases_every_so_many_batches(monkeypatch) -> None:
    import engine.inference.predictor as predictor_mod
    from engine.inference.cpu_memory import RELEASE_EVERY
    from tests.engine.inference.test_predictor import CAM, POSENET, FakePoseNet, boxes_for, loaded, make_frame

    calls: list[int] = []
    monkeypatch.setattr(predictor_mod, "release_free_memory", lambda: calls.append(1) or True)
    pred = predictor_mod.Predictor([loaded(POSENET, FakePoseNet(POSENET))], None, device="cpu")
    frame, boxes = make_frame(), boxes_for([0])
    for _ in range(2 * RELEASE_EVERY + 1):
        pred.predict_frame(frame, boxes, CAM, root_depth_mm=5000.0)
    assert len(calls) == 2
