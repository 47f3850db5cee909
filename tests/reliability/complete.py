"""The rule every file the app writes keeps: it is **complete or absent**.

``assert_complete_or_absent(path)`` passes when ``path`` does not exist, or when it is a whole, valid file of its kind
(read back by the library that reads it in the app), and in both cases no hidden temp file of it is left beside it.
A half-written video, a cut CSV or a stray ``.NAME.*.tmp`` fails. No tests here.
"""

from __future__ import annotations

import configparser
import csv
import json
from collections.abc import Callable
from pathlib import Path


def _json(p: Path) -> None:
    json.loads(p.read_text(encoding="utf-8"))


def _jsonl(p: Path) -> None:
    text = p.read_text(encoding="utf-8")
    assert text.endswith("\n"), f"{p}: the last line is cut"
    for line in text.splitlines():
        json.loads(line)


def _csv(p: Path) -> None:
    text = p.read_text(encoding="utf-8")
    assert text.endswith("\n"), f"{p}: the last row is cut"
    rows = list(csv.reader(text.splitlines()))
    assert rows, f"{p}: empty CSV"
    widths = {len(r) for r in rows[1:]} if len(rows) > 1 else {len(rows[0])}
    assert widths == {len(rows[0])}, f"{p}: rows of {sorted(widths)} columns under a header of {len(rows[0])}"


def _text(p: Path) -> None:
    text = p.read_text(encoding="utf-8")
    assert text.strip() and text.endswith("\n"), f"{p}: empty or cut text"


def _trc(p: Path) -> None:
    lines = p.read_text(encoding="utf-8").splitlines()
    head = dict(zip(lines[1].split("\t"), lines[2].split("\t"), strict=False))
    rows = [ln for ln in lines[5:] if ln.strip()]
    assert len(rows) == int(head["NumFrames"]), f"{p}: {len(rows)} rows, header says {head['NumFrames']}"


def _h5(p: Path) -> None:
    import h5py

    with h5py.File(p, "r") as h:
        h.visititems(lambda _name, obj: obj[()] if isinstance(obj, h5py.Dataset) else None)


def _mp4(p: Path) -> None:
    import cv2

    cap = cv2.VideoCapture(str(p))
    try:
        assert cap.isOpened(), f"{p}: not a playable video"
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        read = 0
        while cap.read()[0]:
            read += 1
        assert count > 0 and read == count, f"{p}: {read} frames decode of the {count} its header announces"
    finally:
        cap.release()


def _c3d(p: Path) -> None:
    import ezc3d

    c = ezc3d.c3d(str(p))
    assert c["data"]["points"].shape[2] > 0, f"{p}: no frames"


def _png(p: Path) -> None:
    import cv2

    assert p.read_bytes().endswith(b"IEND\xaeB`\x82"), f"{p}: PNG without its end chunk"
    assert cv2.imread(str(p)) is not None, f"{p}: PNG does not decode"


def _ini(p: Path) -> None:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read_string(p.read_text(encoding="utf-8"))


CHECKS: dict[str, Callable[[Path], None]] = {
    ".json": _json, ".jsonl": _jsonl, ".csv": _csv, ".md": _text, ".trc": _trc, ".h5": _h5, ".mp4": _mp4,
    ".c3d": _c3d, ".png": _png, ".ini": _ini,
}


def leftovers(path: Path) -> list[Path]:
    """Hidden temp files of ``path`` beside it (``.NAME.*``, as ``models.fileio.atomic_path`` names them)."""
    return sorted(path.parent.glob(f".{path.name}.*")) if path.parent.is_dir() else []


def assert_complete_or_absent(path: str | Path, kind: str | None = None) -> bool:
    """Assert the rule for ``path``; True when the file exists (and is whole). ``kind``: a suffix (".mp4") when the
    name does not tell."""
    path = Path(path)
    assert not leftovers(path), f"temp files left beside {path}: {leftovers(path)}"
    if not path.exists():
        return False
    check = CHECKS[(kind or path.suffix).lower()]
    assert path.stat().st_size > 0, f"{path}: an empty file"
    check(path)
    return True


def assert_folder_complete_or_absent(folder: str | Path) -> list[Path]:
    """Every known output file under ``folder`` is whole, and no hidden temp file is anywhere under it."""
    folder = Path(folder)
    if not folder.exists():
        return []
    tmp = [p for p in folder.rglob(".*") if p.is_file() and (p.name.endswith(".tmp") or ".tmp" in p.name)]
    assert not tmp, f"temp files left under {folder}: {tmp}"
    found = [p for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix.lower() in CHECKS
             and not p.name.startswith(".")]
    for p in found:
        assert_complete_or_absent(p)
    return found
