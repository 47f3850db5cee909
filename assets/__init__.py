"""Bundled media and data (demo clip, still image, RootNet results), found through the installed package.

Code asks ``asset_path("demo_walk.mp4")`` instead of walking up from its own source file, so the same lookup works
from a clone, an editable install and a wheel.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def asset_path(*parts: str) -> Path:
    """The path of a bundled asset (it may not exist: callers report a missing file themselves)."""
    return Path(str(files(__name__).joinpath(*parts)))
