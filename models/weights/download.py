"""Downloading a model's checkpoint into the weights directory: direct links (HTTP, resumed with Range), Google Drive
files and folders (gdown: listing, picking the file, transfer), the sha256 check, and the warning when a source's
file changed since it was recorded. The directory and manifest: models/weights/store.py.
"""

from __future__ import annotations

import errno
import inspect
import logging
import os
import re
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from models.checkpoint import CheckpointError, sha256_file
from models.errors import first_line
from models.spec import CheckpointSource, ModelSpec, get_spec
from models.weights.store import (
    ManifestEntry,
    WeightsError,
    _now,
    add_manifest_entry,
    find_entry,
    read_manifest,
    resolve_weights_dir,
)

__all__ = [
    "DownloadCancelled",
    "DriveFile",
    "NoNetworkError",
    "download",
    "download_plan",
    "downloadable",
    "is_offline",
    "list_drive_folder",
    "manual_instructions",
    "part_path",
    "pick_folder_file",
]

DIRECT_KINDS = ("http", "dropbox")
FOLDER_KIND = "gdrive-folder"
DOWNLOAD_KINDS = (*DIRECT_KINDS, "gdrive", FOLDER_KIND)  # sources `weights download` fetches by itself
GDRIVE_FILE_URL = "https://drive.google.com/uc?id="
CHUNK = 1 << 20
Progress = Callable[[int, "int | None"], None]
log = logging.getLogger(__name__)


class DownloadCancelled(WeightsError):
    """The user cancelled a download; the partial file is kept so the next attempt resumes."""


def downloadable(spec: ModelSpec) -> bool:
    """The registry has a source that ``download`` fetches by itself (direct link, Drive file or Drive folder).

    The one place that says which sources can be downloaded: the loader's "how to get the weights", the catalogue's
    Download button and the default download plan all ask here."""
    return any(s.kind in DOWNLOAD_KINDS for s in spec.checkpoints)


class NoNetworkError(WeightsError):
    """A download failed because this machine is offline (no name resolution, connection refused, no route): the
    message says so, never blaming the server, and comes in the CLI's words (``str``: names the model and may name
    commands) and the GUI's (``gui_text``: the GUI names the model itself; points at the Models tab's import button)."""

    def __init__(self, what: str, url: str) -> None:
        self.what, self.url = what, url
        self.host = re.sub(r"^[a-z]+://([^/:]+).*$", r"\1", url, flags=re.I)
        super().__init__(f"{what}: no network connection (cannot reach {self.host}); connect to the internet and run "
                         f"the same command again, or download the file on a machine that is online and run: "
                         f"python main.py weights import FILE")

    @property
    def gui_text(self) -> str:
        return (f"no network connection (cannot reach {self.host}). Connect to the internet and try "
                f"again, or get the file on a computer that is online and add it with “Import checkpoint…” on the "
                f"Models tab.")


_OFFLINE_ERRNOS = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ECONNREFUSED, errno.ENETDOWN}
_OFFLINE_WORDS = ("name or service not known", "temporary failure in name resolution", "nodename nor servname",
                  "nameresolutionerror", "failed to resolve", "getaddrinfo failed", "network is unreachable",
                  "connection refused", "no route to host", "newconnectionerror")


def is_offline(exc: BaseException) -> bool:
    """Whether ``exc`` (or an error it wraps: requests, urllib3 and gdown nest them) says the network is not there,
    as opposed to a server that answered with a refusal."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        e = todo.pop()
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, socket.gaierror | ConnectionRefusedError):
            return True
        if isinstance(e, OSError) and e.errno in _OFFLINE_ERRNOS:
            return True
        if any(w in str(e).lower() for w in _OFFLINE_WORDS):
            return True
        todo.extend([e.__cause__, e.__context__, getattr(e, "reason", None), *e.args])
    return False


def part_path(name: str, weights_dir: str | Path | None = None) -> Path:
    """Where an HTTP download of ``name`` accumulates (kept after a failure or cancel, so it resumes)."""
    return resolve_weights_dir(weights_dir) / f"{name}.pth.part"


def _gdrive_stage(name: str, d: Path) -> Path:
    """Google Drive downloads (files and files inside folders) land here; gdown keeps its partial file beside it
    (``<name>.pth.gdrive<8 random characters>.part``) and resumes from it."""
    return d / f"{name}.pth.gdrive"


def manual_instructions(spec: ModelSpec, *, import_hint: str | None = None, with_notes: bool = True) -> str:
    """How to get a model's weights by hand (when the automatic download failed, or none is published).

    ``import_hint``: what to do with the file, in the words of the interface asking (default: the CLI command);
    ``with_notes``: repeat the spec's notes (a view that shows them already passes False)."""
    cli_import = "run: python main.py weights import FILE"
    if not spec.checkpoints:
        why = f" ({spec.notes})" if spec.notes and with_notes else ""
        return (f"{spec.name}: no trained weights are published for this model{why}. If you have a checkpoint "
                f"file, {import_hint or cli_import}")
    lines = [f"{spec.name}: the weights cannot be downloaded automatically. Download by hand:"]
    for s in spec.checkpoints:
        note = f" ({s.note})" if s.note else ""
        if s.kind == "gdrive-folder":
            lines.append(f"  - open the Google Drive folder {s.url} in a browser and download {s.filename}{note}")
        else:
            lines.append(f"  - download {s.filename} from {s.url}{note}")
    lines.append(f"then {import_hint}" if import_hint else
                 f"then {cli_import}  (or: python main.py weights download {spec.name} --url DIRECT_LINK)")
    return "\n".join(lines)


def _guess_kind(url: str) -> str:
    if "drive.google.com" in url or "docs.google.com" in url:
        return FOLDER_KIND if "/folders/" in url else "gdrive"
    if not re.match(r"^(https?|file)://", url, re.I):
        raise WeightsError(f"{url}: not an http(s) URL")
    return "http"


def download_plan(spec: ModelSpec, url_override: str | None = None, sha256: str | None = None,
                  folder_file: str | None = None) -> CheckpointSource:
    """The source a download would use (the registry's first downloadable one); WeightsError with manual
    instructions when there is none. ``folder_file`` names the file to take from a Google Drive folder."""
    if url_override:
        kind = _guess_kind(url_override)
        filename = f"{spec.name}.pth"
        if kind == FOLDER_KIND:
            in_registry = [s.filename for s in spec.checkpoints if s.kind == FOLDER_KIND]
            filename = folder_file or (in_registry[0] if in_registry else "")
            if not filename:
                raise WeightsError(f"{url_override}: a Google Drive folder; name the checkpoint file in it with "
                                   f"--file NAME (or download it in a browser and run: "
                                   f"python main.py weights import FILE)")
        return CheckpointSource(url=url_override, filename=filename, sha256=sha256, kind=kind)
    for s in spec.checkpoints:
        if s.kind in DOWNLOAD_KINDS:
            return replace(s, sha256=sha256 or s.sha256,
                           filename=folder_file if folder_file and s.kind == FOLDER_KIND else s.filename)
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
        if is_offline(e):
            raise NoNetworkError(url, url) from None
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


def _gdown():
    try:
        import gdown
    except ImportError:
        raise WeightsError("Google Drive downloads need the gdown package (pip install gdown)") from None
    return gdown


def _drive_refusal(text: str) -> str:
    """gdown's reason in the user's words: Drive's download quota, or a file or folder not shared publicly."""
    low = text.lower()
    if "too many users" in low or "quota" in low or "many accesses" in low or "429" in low:
        return "Google Drive's download quota for it is exceeded for now (too many downloads); try again later"
    if "permission" in low or "anyone with the link" in low or "not shared" in low or "403" in low or "404" in low:
        return "Google Drive refused it: not shared publicly (or removed)"
    return "Google Drive refused the download (quota exceeded, or not shared publicly)"


def _gdrive_fetch(url: str, out: Path, progress: Progress | None, cancel: threading.Event | None) -> None:
    """One Drive file through gdown (it knows Drive's confirmation pages), resuming gdown's partial file.

    gdown >= 6 takes ``progress`` and ``cancel``; an older one without them still downloads (no progress bar, and
    cancel is only honoured before the transfer starts)."""
    gdown = _gdown()
    try:
        accepted = inspect.signature(gdown.download).parameters
    except (TypeError, ValueError):
        accepted = {}
    kw: dict = {"quiet": True, "resume": True}
    for key, value in (("progress", progress), ("cancel", cancel), ("timeout", 60)):
        if key in accepted or any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
            kw[key] = value
    if cancel is not None and cancel.is_set():
        raise DownloadCancelled("download cancelled; the partial file is kept for resuming")
    cancelled = getattr(gdown, "DownloadCancelled", None) or getattr(gdown.exceptions, "DownloadCancelled", ())
    refused = getattr(gdown, "FileURLRetrievalError", None) or gdown.exceptions.FileURLRetrievalError
    try:
        gdown.download(url=url, output=str(out), **kw)
    except cancelled:
        raise DownloadCancelled("download cancelled; the partial file is kept, the same command resumes it") from None
    except Exception as e:  # noqa: BLE001 - offline first: never blame Drive for a missing network
        if is_offline(e):
            raise NoNetworkError(url, url) from None
        if not isinstance(e, refused):
            raise WeightsError(f"{url}: download failed ({type(e).__name__}: {e}); run the same command again to "
                               f"resume") from None
        raise WeightsError(f"{url}: {_drive_refusal(str(e))} ({first_line(e)}). Download it in a browser and "
                           f"run: python main.py weights import FILE") from None
    if not out.is_file():
        raise WeightsError(f"{url}: Google Drive sent nothing (gdown finished without a file)")


@dataclass(frozen=True)
class DriveFile:
    """One file of a Google Drive folder listing: its Drive id and its path inside the folder."""

    id: str
    path: str

    @property
    def url(self) -> str:
        return GDRIVE_FILE_URL + self.id


def list_drive_folder(url: str) -> list[DriveFile]:
    """The files of a public Google Drive folder (recursively) through gdown's listing, nothing downloaded."""
    gdown = _gdown()
    if not hasattr(gdown, "download_folder"):
        raise WeightsError(f"{url}: this gdown cannot list Drive folders; pip install -U gdown")
    try:
        files = gdown.download_folder(url=url, quiet=True, skip_download=True)
    except Exception as e:  # gdown.DownloadError, requests errors, a page it cannot parse
        if is_offline(e):
            raise NoNetworkError(url, url) from None
        raise WeightsError(f"cannot list the Google Drive folder {url}: {_drive_refusal(str(e))} "
                           f"({first_line(e)})") from None
    out = []
    for f in files or ():
        file_id, path = getattr(f, "id", None), getattr(f, "path", None)
        if file_id and path:
            out.append(DriveFile(str(file_id), str(path).replace(os.sep, "/")))
    return out


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def pick_folder_file(files: list[DriveFile], wanted: str, hint: str = "", folder: str = "") -> DriveFile:
    """The file called ``wanted`` in a folder listing: an exact path inside the folder, else the one file with that
    name; several with that name are told apart by a sub-folder named in ``hint`` (the registry note, e.g.
    "Human3.6M protocol 2"). WeightsError listing what the folder has otherwise."""
    where = f"the Google Drive folder {folder}" if folder else "the Google Drive folder"
    target = wanted.strip("/").lower()
    exact = [f for f in files if f.path.strip("/").lower() == target]
    if len(exact) == 1:
        return exact[0]
    named = [f for f in files if f.path.rsplit("/", 1)[-1].lower() == target.rsplit("/", 1)[-1]]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        key = _norm(hint)
        hinted = [f for f in named if "/" in f.path and key
                  and any(_norm(part) and _norm(part) in key for part in f.path.split("/")[:-1])]
        if len(hinted) == 1:
            return hinted[0]
        raise WeightsError(f"{where} has {len(named)} files named {wanted}: {', '.join(f.path for f in named)}; "
                           f"choose one with --file PATH (its path in the folder)")
    have = ", ".join(f.path for f in files) if files else "nothing (or nothing gdown can list)"
    raise WeightsError(f"{where} has no file {wanted}; it has: {have}. Choose one with --file PATH")


def _hash_changed(spec: ModelSpec, source: str, new_sha: str, d: Path) -> ManifestEntry | None:
    """The manifest's earlier download of the same model from the same source, when its sha256 differs."""
    try:
        entries = read_manifest(d)
    except WeightsError:
        return None
    same = [e for e in entries if e.model == spec.name and e.source == source]
    return same[-1] if same and same[-1].sha256 != new_sha else None


def _fetch(spec: ModelSpec, source: CheckpointSource, d: Path, progress: Progress | None,
           cancel: threading.Event | None) -> tuple[Path, str]:
    """Transfer ``source`` into the weights directory: (the staged file, where it came from)."""
    origin = source.url
    if source.kind == FOLDER_KIND:
        try:
            listing = list_drive_folder(source.url)
        except NoNetworkError:
            raise
        except WeightsError as e:
            raise WeightsError(f"{spec.name}: {e}. By hand: open {source.url} in a browser, download "
                               f"{source.filename}, then run: python main.py weights import FILE") from None
        picked = pick_folder_file(listing, source.filename, source.note, source.url)
        origin = f"{source.url}#{picked.path}"
        staged = _gdrive_stage(spec.name, d)
        _gdrive_fetch(picked.url, staged, progress, cancel)
    elif source.kind == "gdrive":
        staged = _gdrive_stage(spec.name, d)
        _gdrive_fetch(source.url, staged, progress, cancel)
    else:
        staged = part_path(spec.name, d)
        _http_fetch(source.url, staged, progress, cancel)
    return staged, origin


def download(name: str, weights_dir: str | Path | None = None, progress: Progress | None = None,
             cancel: threading.Event | None = None, url_override: str | None = None,
             sha256: str | None = None, trust: bool | None = None, folder_file: str | None = None,
             warn: Callable[[str], None] | None = None) -> ManifestEntry:
    """Download a model's checkpoint, check its sha256, verify it loads strictly, move it in as ``<name>.pth``.

    ``progress(done_bytes, total_bytes|None)`` is called per chunk; setting ``cancel`` stops the transfer and keeps
    the partial file, which the next call resumes. A Google Drive folder source is listed (gdown) and the file of
    the registry's name (or ``folder_file``) is taken from it. The expected sha256 is ``sha256`` or the registry's;
    a mismatch removes the download. With no known hash the file's hash is recorded; when an earlier download of the
    same file was recorded with another hash, ``warn`` (default: the log) is told both, and the new file replaces the
    old one only because it loaded strictly. ``trust`` (default: only for registry sources) allows full unpickling
    of the downloaded file.
    """
    spec = get_spec(name)
    source = download_plan(spec, url_override, sha256, folder_file)
    d = resolve_weights_dir(weights_dir)
    d.mkdir(parents=True, exist_ok=True)
    try:
        staged, origin = _fetch(spec, source, d, progress, cancel)
    except NoNetworkError as e:  # named by the model, not by the URL it tried
        raise NoNetworkError(spec.name, e.url) from None
    earlier: ManifestEntry | None = None
    try:
        got = sha256_file(staged)
        if source.sha256 and got != source.sha256.lower():
            raise WeightsError(f"{origin}: sha256 mismatch: expected {source.sha256.lower()}, got {got}; the "
                               f"download was deleted")
        trusted_file = url_override is None if trust is None else trust
        earlier = _hash_changed(spec, origin, got, d)
        stored = spec.runtime.accept_download(spec, staged, d, origin, got, bool(trusted_file))
    except CheckpointError as e:
        staged.unlink(missing_ok=True)
        kept = " (the earlier file is kept)" if find_entry(spec.name, d) is not None else ""
        if earlier is not None:
            kept += (f"; note: it also differs from the file recorded on {earlier.date} (sha256 was "
                     f"{earlier.sha256}, now {got})")
        raise WeightsError(f"{origin}: the downloaded file is not a usable {spec.name} checkpoint: {e}; the "
                           f"download was deleted{kept}") from None
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    if earlier is not None:
        _warn(warn, f"{spec.name}: the file downloaded from {origin} differs from the one recorded on "
                    f"{earlier.date}: sha256 was {earlier.sha256}, now {got}. The new file loaded strictly into "
                    f"{spec.name}, so it replaces the old one; if you did not expect a change, check the source.")
    if stored is not None:  # the runtime installed it itself (ONNX files and archives)
        return stored
    dest = d / f"{spec.name}{spec.runtime.file_suffixes[0]}"
    os.replace(staged, dest)
    entry = ManifestEntry(spec.name, dest.name, got, origin, _now(), bool(trusted_file))
    add_manifest_entry(entry, d)
    return entry


def _warn(warn: Callable[[str], None] | None, text: str) -> None:
    log.warning("%s", text)
    if warn is not None:
        warn(text)
