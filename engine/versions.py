"""The software versions written into every result file and recording (one copy, used by the benchmark exports and
the live recorder).

Versions come from the installed package metadata only: nothing is imported here. Importing a heavy library just
to read its ``__version__`` is avoidable work, and importing matplotlib off the main thread next to a running Qt
event loop was seen to deadlock (the GUI writes results from a worker thread). PoseArena's own version is its
installed metadata, or ``pyproject.toml`` beside the source tree when it runs from a checkout.
"""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

__all__ = ["app_version", "software_versions"]

APP = "posearena"
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
# key in the output -> distribution names that provide it (the first one installed wins)
PACKAGES: dict[str, tuple[str, ...]] = {
    "numpy": ("numpy",),
    "torch": ("torch",),
    "opencv": ("opencv-python", "opencv-python-headless", "opencv-contrib-python", "opencv-contrib-python-headless"),
    "h5py": ("h5py",),
    "matplotlib": ("matplotlib",),
    "ultralytics": ("ultralytics",),
}


def _dist_version(names: tuple[str, ...]) -> str | None:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def app_version() -> str | None:
    """PoseArena's version: the installed package's metadata, else the checkout's pyproject.toml, else None."""
    found = _dist_version((APP,))
    if found is not None:
        return found
    try:
        import tomllib

        return str(tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["version"])
    except (OSError, KeyError, TypeError, ValueError):
        return None


def software_versions() -> dict[str, str]:
    """{"python", "platform", "posearena", and each installed package of ``PACKAGES``} -> version text."""
    out = {"python": platform.python_version(), "platform": platform.platform(terse=True)}
    app = app_version()
    if app is not None:
        out[APP] = app
    for key, names in PACKAGES.items():
        v = _dist_version(names)
        if v is not None:
            out[key] = v
    return out
