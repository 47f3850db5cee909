"""Where the benchmark's root (absolute depth) comes from: the names the CLI, the GUI and the runner share.

Why a module of its own: the names are an interface (``--root``, the Benchmark form, run.json), so they are written
once, with the words each interface shows. Plain data: no torch, so a parser or a widget can read it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LIVE_ROOT", "ROOT_SOURCES", "RootSource", "all_root_sources", "root_source"]


@dataclass(frozen=True)
class RootSource:
    name: str  # the value of --root and of run.json's "root"
    label: str  # the Benchmark form's choice
    short: str  # a run's one-line description


_TABLE = (
    RootSource("gt", "Ground-truth root depth and boxes", "ground-truth roots"),
    RootSource("rootnet", "RootNet result file (boxes and roots)", "RootNet result file"),
    RootSource("rootnet-model", "RootNet network run live (rootnet-r50 weights)", "RootNet run live"),
)
ROOT_SOURCES = tuple(s.name for s in _TABLE)
LIVE_ROOT = "rootnet-model"  # the one that runs the RootNet network (its checkpoint is needed)


def root_source(name: str) -> RootSource:
    """The entry for ``name``; KeyError naming the known ones."""
    for s in _TABLE:
        if s.name == name:
            return s
    raise KeyError(f"unknown root source {name!r}; known: {', '.join(ROOT_SOURCES)}")


def all_root_sources() -> tuple[RootSource, ...]:
    return _TABLE
