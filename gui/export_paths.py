"""Where an export goes and in which format: the dialog starts in the last folder used (or the home folder), and a
typed extension that names a format is the format written (TRC content never lands in a ``.csv``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gui import settings

FORMAT_NAMES = {"csv": "CSV", "json": "JSON", "markdown": "Markdown", "hdf5": "HDF5", "png": "PNG", "mp4": "MP4",
                "jsonl": "JSON lines", "c3d": "C3D", "trc": "TRC", "bvh": "BVH"}


ALIASES = {".markdown": "markdown", ".hdf5": "hdf5", ".h5": "hdf5", ".ndjson": "jsonl"}  # other usual extensions


def format_name(kind: str) -> str:
    return FORMAT_NAMES.get(kind, kind)


def suggested_path(file_name: str) -> str:
    """``file_name`` in the folder the last file dialog was left in (home when none): never the program's folder."""
    return str(Path(settings.last_dir()) / Path(file_name).name)


def resolve_export(path: str, chosen: str, suffixes: Mapping[str, str]) -> tuple[str, str]:
    """(format, file) for a typed ``path``: its extension decides when it names a known format; otherwise the
    ``chosen`` format's extension is added."""
    p = Path(path).expanduser()
    by_suffix = {**{a: k for a, k in ALIASES.items() if k in suffixes}, **{v: k for k, v in suffixes.items()}}
    fmt = by_suffix.get(p.suffix.lower())
    if fmt is not None:
        return fmt, str(p)
    return chosen, str(p.with_name(p.name + suffixes[chosen]))
