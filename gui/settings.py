"""Remembered GUI settings (QSettings). With POSEARENA_HOME set (tests, portable installs) they live in an ini
file under it, so a test run never reads or writes the user's real settings."""

from __future__ import annotations

import json
import os
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


def put(key: str, value: Any) -> None:
    s = settings()
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
