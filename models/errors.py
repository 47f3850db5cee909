"""The one base of every error a user can act on, and what happens to every other error.

Why one base: an interface (CLI or GUI) catches ``PoseArenaError`` and shows its message in one line, because the
message already names the file or setting and what is wrong. Anything else that escapes is a bug: the user sees one
line saying so and where the traceback was written (``bug_report``), never a tidy message that hides it.
Lowest layer: no torch, no engine.
"""

from __future__ import annotations

import os
import traceback
from datetime import UTC, datetime
from pathlib import Path

from models.fileio import atomic_write_text

__all__ = ["PoseArenaError", "bug_report", "first_line", "logs_dir"]


class PoseArenaError(Exception):
    """An error whose message is written for the user: it names the file, model or setting and what is wrong."""

    @property
    def user_message(self) -> str:
        return first_line(self, limit=None) if str(self).strip() else type(self).__name__


def first_line(e: BaseException | str, limit: int | None = 300) -> str:
    """The first non-empty line of an error's text (its type name when it has none; "" for an empty string), cut to
    ``limit`` characters."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    text = lines[0] if lines else ("" if isinstance(e, str) else type(e).__name__)
    return text if limit is None else text[:limit]


def logs_dir() -> Path:
    """$POSEARENA_HOME/logs > $XDG_DATA_HOME/posearena/logs > ~/.local/share/posearena/logs (beside the weights)."""
    if os.environ.get("POSEARENA_HOME"):
        return Path(os.environ["POSEARENA_HOME"]).expanduser() / "logs"
    if os.environ.get("XDG_DATA_HOME"):
        return Path(os.environ["XDG_DATA_HOME"]).expanduser() / "posearena" / "logs"
    return Path.home() / ".local" / "share" / "posearena" / "logs"


def bug_report(exc: BaseException, context: str = "") -> tuple[str, Path | None]:
    """Write ``exc``'s traceback to a new log file; return the one line to show the user and the file (None when the
    log could not be written: the line then says so, and the caller may still print the traceback)."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    path = logs_dir() / f"error-{stamp}.log"
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    header = f"PoseArena {context}\n" if context else ""
    what = f"{type(exc).__name__}: {first_line(exc, limit=200)}"
    try:
        atomic_write_text(path, header + text)
    except OSError as write_error:
        return f"unexpected error (a bug), {what}; the traceback could not be written to {path}: " \
               f"{first_line(write_error)}", None
    return f"unexpected error (a bug), {what}; the traceback is in {path}", path
