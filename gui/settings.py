"""Remembered GUI settings (QSettings). With POSEARENA_HOME set (tests, portable installs) they live in an ini
file under it, so a test run never reads or writes the user's real settings."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

_OVERRIDE: Path | None = None


def use_settings_file(path: str | os.PathLike | None) -> None:
    """Force an ini file (tests); None returns to the default location."""
    global _OVERRIDE
    _OVERRIDE = Path(path) if path else None


def settings() -> QSettings:
    if _OVERRIDE is not None:
        return QSettings(str(_OVERRIDE), QSettings.Format.IniFormat)
    home = os.environ.get("POSEARENA_HOME")
    if home:
        return QSettings(str(Path(home).expanduser() / "gui.ini"), QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "PoseArena", "PoseArena")


def get(key: str, default: Any = None) -> Any:
    """Typed read: values are stored as JSON so bools, numbers and lists come back as they went in."""
    raw = settings().value(key)
    if raw is None:
        return default
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return default
    if default is not None and not isinstance(value, type(default)):
        if isinstance(default, float) and isinstance(value, int):
            return float(value)
        return default
    return value


@contextlib.contextmanager
def _file_lock(s: QSettings) -> Iterator[None]:
    """Hold ``fcntl.flock`` on a sidecar of the settings file while it is read, changed and written.

    Why: several windows (or a window and a test) write the same file; each must add its key to what the file holds
    now, not to what it held when that process last read it. The sidecar is never replaced, so every writer locks the
    same inode; the kernel drops a dead process's lock."""
    path = Path(s.fileName())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.with_name(path.name + ".lock-posearena"), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:  # a read-only settings folder: nothing can be written anyway, QSettings reports that
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def put(key: str, value: Any) -> None:
    s = settings()
    with _file_lock(s):
        s.sync()  # read what other processes wrote since this object was made
        s.setValue(key, json.dumps(value))
        s.sync()


def last_dir(default: str | os.PathLike | None = None) -> str:
    """The folder the last file dialog was left in (every dialog starts there), else ``default`` or home."""
    d = get("dialogs/last_dir", "")
    if d and Path(d).is_dir():
        return d
    return str(default) if default else str(Path.home())


def remember_dir(path: str | os.PathLike) -> None:
    """Remember the folder of a picked file (or the picked folder itself)."""
    p = Path(path)
    put("dialogs/last_dir", str(p if p.is_dir() else p.parent))
