"""The per-user weights directory: where checkpoints live, the manifest that records them, verify and import.

Why a manifest: no upstream publishes checksums, so the sha256 of every file we accept is recorded (with where it
came from and whether the user trusted it for full unpickling) the first time we see it. Every file that enters the
directory is verified first (identified or strictly loaded) and is moved in atomically, so a broken download never
replaces a good file. Downloads: models/weights/download.py; the YOLO detector file and the default live set:
models/weights/defaults.py. The 3DMPPE releases moved to Google Drive folders (their READMEs), so an automated
download can fail where importing a file the user has, with its sha256 recorded, does not.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

from models.checkpoint import check_checkpoint_file, read_checkpoint, sha256_file
from models.errors import PoseArenaError
from models.fileio import atomic_copy, atomic_write_json
from models.matching import identify_state_dict, load_strict
from models.spec import RUNTIMES, ModelSpec, all_specs, build, get_spec

__all__ = [
    "ManifestEntry",
    "WeightsError",
    "add_manifest_entry",
    "find_entry",
    "find_weights",
    "import_checkpoint",
    "manifest_lock",
    "read_manifest",
    "resolve_weights_dir",
    "trusted_hashes",
    "verify_checkpoint",
    "write_manifest",
]

MANIFEST = "manifest.json"
MANIFEST_LOCK = ".manifest.lock"  # sidecar lock file: the manifest itself is replaced on every write


class WeightsError(PoseArenaError):
    """A weights operation failed; the message says what and what to do."""


@dataclass(frozen=True)
class ManifestEntry:
    model: str
    file: str  # relative to the weights directory
    sha256: str
    source: str  # URL, or "import:<original path>"
    date: str  # ISO 8601, UTC
    trusted: bool = False  # the user (or the registry) allowed full unpickling of this exact file


# ---------------------------------------------------------------------------------------------------- directory


def resolve_weights_dir(override: str | Path | None = None) -> Path:
    """flag > $POSEARENA_WEIGHTS > $POSEARENA_HOME/weights > $XDG_DATA_HOME/posearena/weights > ~/.local/share/..."""
    if override:
        return Path(override).expanduser()
    if os.environ.get("POSEARENA_WEIGHTS"):
        return Path(os.environ["POSEARENA_WEIGHTS"]).expanduser()
    if os.environ.get("POSEARENA_HOME"):
        return Path(os.environ["POSEARENA_HOME"]).expanduser() / "weights"
    if os.environ.get("XDG_DATA_HOME"):
        return Path(os.environ["XDG_DATA_HOME"]).expanduser() / "posearena" / "weights"
    return Path.home() / ".local" / "share" / "posearena" / "weights"


def read_manifest(weights_dir: str | Path | None = None) -> list[ManifestEntry]:
    path = resolve_weights_dir(weights_dir) / MANIFEST
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = data["entries"] if isinstance(data, dict) else data
        names = {f.name for f in fields(ManifestEntry)}
        return [ManifestEntry(**{k: v for k, v in row.items() if k in names}) for row in rows]
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as e:
        raise WeightsError(f"{path}: unreadable weights manifest ({type(e).__name__}: {e}); fix or delete it and "
                           f"re-import the weights") from None


def write_manifest(entries: Iterable[ManifestEntry], weights_dir: str | Path | None = None) -> Path:
    """Atomic (models.fileio: a temp file in the same directory, then os.replace), flushed to disk first."""
    d = resolve_weights_dir(weights_dir)
    return atomic_write_json(d / MANIFEST, [asdict(e) for e in entries], indent=1, fsync=True)


@contextlib.contextmanager
def manifest_lock(weights_dir: str | Path | None = None) -> Iterator[None]:
    """Hold the weights directory's manifest lock (``fcntl.flock`` on a sidecar file; blocks until it is free).

    Why: the manifest is read, changed and written whole, so two imports at once would each write the list they read
    and one entry would be lost. The lock is on a sidecar file because ``manifest.json`` is replaced (a new inode) by
    every write; the kernel drops it when its holder dies, so a crash never leaves a stale lock."""
    d = resolve_weights_dir(weights_dir)
    d.mkdir(parents=True, exist_ok=True)
    fd = os.open(d / MANIFEST_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def add_manifest_entry(entry: ManifestEntry, weights_dir: str | Path | None = None) -> None:
    """One active file per model: the new entry replaces the model's earlier ones (and any for the same file).
    Read, change and write happen under ``manifest_lock``, so concurrent imports and downloads all keep theirs."""
    with manifest_lock(weights_dir):
        keep = [e for e in read_manifest(weights_dir) if e.model != entry.model and e.file != entry.file]
        write_manifest([*keep, entry], weights_dir)


def find_entry(name: str, weights_dir: str | Path | None = None) -> ManifestEntry | None:
    d = resolve_weights_dir(weights_dir)
    hits = [e for e in read_manifest(d) if e.model == name and (d / e.file).is_file()]
    return hits[-1] if hits else None


def find_weights(name: str, weights_dir: str | Path | None = None) -> Path | None:
    """The model's file: its manifest entry, else ``<name>.pth`` (.pth.tar/.tar/.pt; ONNX: .onnx) put there by hand.

    The suffixes tried are the spec's runtime's ``file_suffixes`` (models/runtimes.py).
    """
    d = resolve_weights_dir(weights_dir)
    entry = find_entry(name, d)
    if entry is not None:
        return d / entry.file
    spec = get_spec(name)
    runtime = RUNTIMES.get(spec.backend)
    for suffix in runtime.file_suffixes if runtime is not None else ():
        if (d / f"{name}{suffix}").is_file():
            return d / f"{name}{suffix}"
    bundled = runtime.bundled_file(spec) if runtime is not None else None
    return bundled if bundled is not None and bundled.is_file() else None


BUNDLED_SOURCE = "bundled with PoseArena"


def installed_entry(name: str, weights_dir: str | Path | None = None) -> ManifestEntry | None:
    """What is recorded of the model's file: its manifest entry, or, for a file that ships with the app, an entry
    with the sha256 it ships with (``source`` = ``BUNDLED_SOURCE``); None when nothing is installed or recorded."""
    entry = find_entry(name, weights_dir)
    if entry is not None:
        return entry
    spec = get_spec(name)
    runtime = RUNTIMES.get(spec.backend)
    path = find_weights(name, weights_dir)
    sha = runtime.bundled_sha256(spec) if runtime is not None else None
    if path is not None and sha and path == runtime.bundled_file(spec):
        return ManifestEntry(name, str(path), sha, BUNDLED_SOURCE, "", trusted=True)
    return None


def trusted_hashes(weights_dir: str | Path | None = None) -> set[str]:
    """sha256 of files allowed full unpickling: the registry's published hashes + files the user trusted."""
    known = {s.sha256.lower() for spec in all_specs() for s in spec.checkpoints if s.sha256}
    try:
        known |= {e.sha256.lower() for e in read_manifest(weights_dir) if e.trusted}
    except WeightsError:
        pass  # an unreadable manifest trusts nothing
    return known


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------------------- import


def verify_checkpoint(path: Path, spec: ModelSpec | None, trusted: set[str]) -> ModelSpec:
    """Identify the file (or check it against ``spec``) and strictly load it into a freshly built network."""
    sd = read_checkpoint(path, trusted)
    if spec is None:
        spec, _ = identify_state_dict(sd, path)
    load_strict(build(spec), sd, path, spec.name)
    return spec


def import_checkpoint(path: str | Path, weights_dir: str | Path | None = None, trust: bool = False,
                      model: str | None = None) -> ManifestEntry:
    """Verify a checkpoint file, copy it in as ``<model>.pth`` and record it in the manifest.

    ``model`` checks against that model instead of identifying the file; ``trust`` allows full unpickling of this
    exact file (recorded by sha256). A file already inside the weights directory keeps its name (no copy).
    """
    src = Path(path).expanduser()
    if src.suffix.lower() == ".onnx":
        raise WeightsError(f"{src}: an ONNX model, not a torch checkpoint; import it with "
                           f"python main.py weights import {src}")
    wanted = get_spec(model) if model else None
    check_checkpoint_file(src)  # a directory, a device or a 20 GB file is named as such, never hashed
    d = resolve_weights_dir(weights_dir)
    sha = sha256_file(src)
    trusted = trusted_hashes(d) | ({sha} if trust else set())
    spec = verify_checkpoint(src, wanted, trusted)
    d.mkdir(parents=True, exist_ok=True)
    if src.resolve().parent == d.resolve():
        file = src.name
    else:
        file = f"{spec.name}.pth"
        atomic_copy(src, d / file, fsync=True)
    entry = ManifestEntry(spec.name, file, sha, f"import:{src.resolve()}", _now(), bool(trust))
    add_manifest_entry(entry, d)
    return entry
