"""Writing benchmark output files: every file through the project's one atomic-write helper (``models.fileio``),
with a failed write reported as ``OutputWriteError`` naming the final file (not the hidden temp file).

Why a separate error: a full disk during a long benchmark must say which file could not be written, that the disk
is full, and (``advice``, set by the caller that knows what was kept) what to do next.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from models import fileio
from models.errors import PoseArenaError
from models.fileio import FILE_MODE

__all__ = ["FILE_MODE", "OutputWriteError", "atomic_path", "atomic_write_bytes", "atomic_write_text",
           "output_errors", "staged_outputs"]

_DISK_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


class OutputWriteError(PoseArenaError, OSError):
    """Writing an output file failed (disk full, file too large, no permission): the message names the final file,
    not the hidden temp file, and ``advice`` (set by the caller that knows what was kept) says what to do."""

    def __init__(self, path: str | os.PathLike, cause: BaseException, advice: str = "") -> None:
        code = getattr(cause, "errno", None)
        text = os.strerror(code) if code else str(cause) or type(cause).__name__
        super().__init__(code, text, str(path))
        self.advice = advice

    @property
    def disk_full(self) -> bool:
        return self.errno in _DISK_FULL

    def __str__(self) -> str:
        hint = " (disk full, or the file is larger than a size limit allows)" if self.disk_full else ""
        msg = f"{self.filename}: cannot write it: {self.strerror}{hint}"
        return f"{msg}; {self.advice}" if self.advice else msg


@contextmanager
def output_errors(path: str | os.PathLike) -> Iterator[None]:
    """An ``OSError`` inside the block comes out as ``OutputWriteError`` naming ``path``."""
    try:
        yield
    except OutputWriteError:
        raise
    except OSError as exc:
        raise OutputWriteError(path, exc) from exc


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """``models.fileio.atomic_path`` (temp file beside ``path``, one-step replace, mode ``FILE_MODE``, temp removed
    on failure), with an ``OSError`` coming out as ``OutputWriteError`` naming ``path``."""
    with output_errors(path), fileio.atomic_path(path, FILE_MODE) as tmp:
        yield tmp


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """``models.fileio.atomic_write_text`` (UTF-8), failures as ``OutputWriteError``."""
    with output_errors(path):
        fileio.atomic_write_text(path, text, FILE_MODE)


def atomic_write_bytes(path: str | os.PathLike, data: bytes | bytearray | memoryview) -> None:
    """``models.fileio.atomic_write_bytes``, failures as ``OutputWriteError``."""
    with output_errors(path):
        fileio.atomic_write_bytes(path, data, FILE_MODE)


@contextmanager
def staged_outputs(out_dir: str | os.PathLike, last: Sequence[str] = ()) -> Iterator[Path]:
    """Yield a hidden staging folder inside ``out_dir``; write a whole set of outputs there. On success every file
    moves to the same place under ``out_dir`` (``last``: these relative paths move after the others, e.g. the file
    that marks the folder finished); on any failure the staging folder is removed and ``out_dir`` is as it was.

    Why: a set of results (results.json, CSVs, report, plots) is only meaningful whole; a full disk half-way must not
    leave a folder that looks finished without its plots. The moves are renames in one file system: no space needed."""
    out = Path(out_dir)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".staging.", suffix=".tmp", dir=out))
    try:
        yield stage
        files = sorted((f for f in stage.rglob("*") if f.is_file()),
                       key=lambda f: (str(f.relative_to(stage)) in last, str(f)))
        for f in files:
            dest = out / f.relative_to(stage)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(f, dest)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    shutil.rmtree(stage, ignore_errors=True)
