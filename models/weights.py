"""The per-user weights directory: where checkpoints live, the manifest that records them, import and download.

Why a manifest: no upstream publishes checksums, so the sha256 of every file we accept is recorded (with where it
came from and whether the user trusted it for full unpickling) the first time we see it. Every file that enters the
directory is verified first (identified or strictly loaded) and is moved in atomically, so a broken download never
replaces a good file. Spec: ../shared/spec/house-style.md C.i, published-and-practice.md B.4.
"""

from __future__ import annotations

import json
import os
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path

from models.checkpoint import (
    CheckpointError,
    identify_state_dict,
    load_strict,
    read_checkpoint,
    sha256_file,
)
from models.fileio import atomic_copy, atomic_write_json
from models.spec import RUNTIMES, CheckpointSource, ModelSpec, all_specs, build, get_spec

__all__ = [
    "DownloadCancelled",
    "ManifestEntry",
    "WeightsError",
    "add_manifest_entry",
    "download",
    "download_plan",
    "find_entry",
    "find_weights",
    "import_checkpoint",
    "manual_instructions",
    "part_path",
    "read_manifest",
    "resolve_weights_dir",
    "trusted_hashes",
    "verify_checkpoint",
    "write_manifest",
]

MANIFEST = "manifest.json"
DIRECT_KINDS = ("http", "dropbox")
CHUNK = 1 << 20
Progress = Callable[[int, "int | None"], None]


class WeightsError(Exception):
    """A weights operation failed; the message says what and what to do."""


class DownloadCancelled(WeightsError):
    """The user cancelled a download; the partial file is kept so the next attempt resumes."""


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


def add_manifest_entry(entry: ManifestEntry, weights_dir: str | Path | None = None) -> None:
    """One active file per model: the new entry replaces the model's earlier ones (and any for the same file)."""
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
    if not src.is_file():
        raise CheckpointError(f"{src}: no such file")
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


# ---------------------------------------------------------------------------------------------------- download


def part_path(name: str, weights_dir: str | Path | None = None) -> Path:
    """Where an HTTP download of ``name`` accumulates (kept after a failure or cancel, so it resumes)."""
    return resolve_weights_dir(weights_dir) / f"{name}.pth.part"


def _gdrive_stage(name: str, d: Path) -> Path:
    return d / f"{name}.pth.gdrive"


def manual_instructions(spec: ModelSpec) -> str:
    """How to get a model's weights by hand (Drive folders, sources without a direct link, or none published)."""
    if not spec.checkpoints:
        why = f" ({spec.notes})" if spec.notes else ""
        return (f"{spec.name}: no trained weights are published for this model{why}. If you have a checkpoint "
                f"file, run: python main.py weights import FILE")
    lines = [f"{spec.name}: the weights cannot be downloaded automatically. Download by hand:"]
    for s in spec.checkpoints:
        note = f" ({s.note})" if s.note else ""
        if s.kind == "gdrive-folder":
            lines.append(f"  - open the Google Drive folder {s.url} in a browser and download {s.filename}{note}")
        else:
            lines.append(f"  - download {s.filename} from {s.url}{note}")
    lines.append(f"then run: python main.py weights import FILE  (or: python main.py weights download {spec.name} "
                 f"--url DIRECT_LINK)")
    return "\n".join(lines)


def _guess_kind(url: str) -> str:
    if "drive.google.com" in url or "docs.google.com" in url:
        return "gdrive-folder" if "/folders/" in url else "gdrive"
    if not re.match(r"^(https?|file)://", url, re.I):
        raise WeightsError(f"{url}: not an http(s) URL")
    return "http"


def download_plan(spec: ModelSpec, url_override: str | None = None, sha256: str | None = None) -> CheckpointSource:
    """The source a download would use; WeightsError with manual instructions when there is none."""
    if url_override:
        src = CheckpointSource(url=url_override, filename=f"{spec.name}.pth", sha256=sha256,
                               kind=_guess_kind(url_override))
        if src.kind == "gdrive-folder":
            raise WeightsError(f"{url_override}: a Google Drive folder cannot be downloaded automatically; open it "
                               f"in a browser, download the checkpoint file, then run: "
                               f"python main.py weights import FILE")
        return src
    for s in spec.checkpoints:
        if s.kind in (*DIRECT_KINDS, "gdrive"):
            return replace(s, sha256=sha256 or s.sha256)
    raise WeightsError(manual_instructions(spec))


def _http_fetch(url: str, part: Path, progress: Progress | None, cancel: threading.Event | None,
                timeout: float = 30.0) -> None:
    """Append to ``part`` from where it stopped (HTTP Range); restart when the server ignores the range."""
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": "PoseArena weights downloader"})
    if have:
        req.add_header("Range", f"bytes={have}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # nothing left to send, or a stale part: start over
            part.unlink()
            return _http_fetch(url, part, progress, cancel, timeout)
        raise WeightsError(f"{url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        raise WeightsError(f"{url}: cannot connect ({getattr(e, 'reason', e)})") from None
    with resp:
        resumed = bool(have) and resp.status == 206 and str(resp.headers.get("Content-Range", "")).startswith(
            f"bytes {have}-")
        if resp.status == 206 and not resumed:  # a range we did not ask for: start over without one
            resp.close()
            part.unlink(missing_ok=True)
            if not have:
                raise WeightsError(f"{url}: the server sent a partial response to a full request")
            return _http_fetch(url, part, progress, cancel, timeout)
        if not resumed:
            have = 0
        length = resp.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        done = have
        with open(part, "ab" if resumed else "wb") as f:
            if progress:
                progress(done, total)
            while True:
                if cancel is not None and cancel.is_set():
                    raise DownloadCancelled(f"download cancelled; {done} bytes kept in {part} for resuming")
                try:
                    block = resp.read(CHUNK)
                except (OSError, ValueError) as e:
                    raise WeightsError(f"{url}: connection lost after {done} bytes ({e}); run the same command "
                                       f"again to resume") from None
                if not block:
                    break
                f.write(block)
                done += len(block)
                if progress:
                    progress(done, total)
    if total is not None and done < total:
        raise WeightsError(f"{url}: the server sent {done} of {total} bytes; run the same command again to resume")


def _gdrive_fetch(url: str, out: Path, progress: Progress | None, cancel: threading.Event | None) -> None:
    try:
        import gdown
    except ImportError:
        raise WeightsError(f"{url}: Google Drive downloads need the gdown package (pip install gdown)") from None
    try:
        gdown.download(url=url, output=str(out), quiet=True, resume=True, progress=progress, cancel=cancel,
                       timeout=60)
    except gdown.DownloadCancelled:
        raise DownloadCancelled("download cancelled; the partial file is kept for resuming") from None
    except gdown.FileURLRetrievalError as e:
        raise WeightsError(f"{url}: Google Drive refused the download (quota exceeded, or not shared publicly): "
                           f"{str(e).strip().splitlines()[0]}. Download it in a browser and run: "
                           f"python main.py weights import FILE") from None
    except Exception as e:  # network errors of every kind from requests
        raise WeightsError(f"{url}: download failed ({type(e).__name__}: {e})") from None


def download(name: str, weights_dir: str | Path | None = None, progress: Progress | None = None,
             cancel: threading.Event | None = None, url_override: str | None = None,
             sha256: str | None = None, trust: bool | None = None) -> ManifestEntry:
    """Download a model's checkpoint, check its sha256, verify it loads strictly, move it in as ``<name>.pth``.

    ``progress(done_bytes, total_bytes|None)`` is called per chunk; setting ``cancel`` stops the transfer and keeps
    the partial file, which the next call resumes. The expected sha256 is ``sha256`` or the registry's; a mismatch
    removes the download. With no known hash the file's hash is recorded. ``trust`` (default: only for registry
    sources) allows full unpickling of the downloaded file.
    """
    spec = get_spec(name)
    source = download_plan(spec, url_override, sha256)
    d = resolve_weights_dir(weights_dir)
    d.mkdir(parents=True, exist_ok=True)
    if source.kind == "gdrive":
        staged = _gdrive_stage(spec.name, d)
        _gdrive_fetch(source.url, staged, progress, cancel)
    else:
        staged = part_path(spec.name, d)
        _http_fetch(source.url, staged, progress, cancel)
    try:
        got = sha256_file(staged)
        if source.sha256 and got != source.sha256.lower():
            raise WeightsError(f"{source.url}: sha256 mismatch: expected {source.sha256.lower()}, got {got}; the "
                               f"download was deleted")
        trusted_file = url_override is None if trust is None else trust
        stored = spec.runtime.accept_download(spec, staged, d, source.url, got, bool(trusted_file))
        if stored is not None:  # the runtime installed it itself (ONNX files and archives)
            return stored
    except CheckpointError as e:
        staged.unlink(missing_ok=True)
        raise WeightsError(f"{source.url}: the downloaded file is not a usable {spec.name} checkpoint: {e}; the "
                           f"download was deleted") from None
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    dest = d / f"{spec.name}{spec.runtime.file_suffixes[0]}"
    os.replace(staged, dest)
    entry = ManifestEntry(spec.name, dest.name, got, source.url, _now(), bool(trusted_file))
    add_manifest_entry(entry, d)
    return entry
