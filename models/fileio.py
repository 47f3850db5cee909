"""Atomic file writes, shared by every layer (models, engine, gui, cli, bench): one copy of the temp-file dance.

Why: a write that fails half-way (full disk, crash, Ctrl-C) must leave the previous file whole and no partial file
under the final name. So every output is written to a unique hidden temp file in the destination folder
(``.NAME.<random>.tmp``, same file system, so the final ``os.replace`` is one atomic step), and the temp file is
removed on any failure. mkstemp creates owner-only files; outputs are ordinary files, so they get ``mode`` (0o644).
No torch here: this is the lowest layer.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["FILE_MODE", "atomic_copy", "atomic_path", "atomic_write_bytes", "atomic_write_json", "atomic_write_text"]

FILE_MODE = 0o644


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike, mode: int = FILE_MODE, *, fsync: bool = False) -> Iterator[Path]:
    """Yield a temp path beside ``final`` (its folder is created); on success it replaces ``final`` in one step.

    Write the file at the yielded path (any writer: ``torch.save``, h5py, ``savefig`` ...). ``fsync`` flushes the
    data to disk before the replace (for files worth the cost, such as the weights manifest)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if fsync:
            _fsync(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(final: str | os.PathLike, data: bytes | bytearray | memoryview, mode: int = FILE_MODE, *,
                       fsync: bool = False) -> Path:
    with atomic_path(final, mode, fsync=fsync) as tmp:
        tmp.write_bytes(data)
    return Path(final)


def atomic_write_text(final: str | os.PathLike, text: str, mode: int = FILE_MODE, *, encoding: str = "utf-8",
                      fsync: bool = False) -> Path:
    """``text`` as written, no newline translation."""
    return atomic_write_bytes(final, text.encode(encoding), mode, fsync=fsync)


def atomic_write_json(final: str | os.PathLike, obj: Any, mode: int = FILE_MODE, *, indent: int | None = 2,
                      end: str = "\n", fsync: bool = False, **dumps_kwargs: Any) -> Path:
    """``json.dumps(obj, indent=indent, **dumps_kwargs) + end``, written atomically (the dump happens first, so an
    object that cannot be serialised leaves no file)."""
    text = json.dumps(obj, indent=indent, **dumps_kwargs) + end
    return atomic_write_text(final, text, mode, fsync=fsync)


def atomic_copy(src: str | os.PathLike, final: str | os.PathLike, mode: int = FILE_MODE, *,
                fsync: bool = False) -> Path:
    """Copy ``src``'s bytes to ``final`` atomically (``final`` gets ``mode``, not ``src``'s permissions)."""
    with atomic_path(final, mode, fsync=fsync) as tmp:
        shutil.copyfile(src, tmp)
    return Path(final)
