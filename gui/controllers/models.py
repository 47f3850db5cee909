"""The Models tab's controller: registry rows (shared by the Live, Benchmark and Models tabs), checkpoint import
and downloads, each in a worker."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, Signal

from gui.workers import Worker, readable_error

if TYPE_CHECKING:
    from models.spec import ModelSpec
    from models.weights.defaults import DefaultItem, DefaultResult
    from models.weights.store import ManifestEntry

DEFAULTS = "default models"  # the name downloadDone carries for "Get default models"


@dataclass(frozen=True)
class ModelRow:
    """One registered model as the tables and pickers show it."""

    name: str
    family: str
    variant: str
    joint_set: str
    params: int | None
    gmacs: float | None
    mpjpe_p2: float | None
    pa_mpjpe_p1: float | None
    published_source: str
    official: bool
    has_weights: bool
    weights_file: str
    sha256: str
    downloadable: bool  # the registry has a source the app downloads by itself (otherwise manual instructions)
    notes: str
    backend: str
    can_run_untrained: bool = False  # runs with random ("untrained") weights when it has none (speed tests)
    backend_note: str = ""  # the backend, shown only when it is not the registry's default one (e.g. "ONNX")
    per_action_p2: tuple[float, ...] | None = None  # published per-action MPJPE (Protocol 2, GT root)
    how_to_get: str = ""  # manual download instructions when there is no direct link
    speed: str = "not measured"  # last `python -m bench.model_speed` on this machine (batch 1, fastest mode)
    speed_device: str = ""

    @property
    def is_pose_model(self) -> bool:
        return self.joint_set != "root"

    @property
    def runnable(self) -> bool:
        """Trained weights, or a model that can run with random ("untrained") weights."""
        return self.has_weights or self.can_run_untrained

    @property
    def weights_text(self) -> str:
        return "trained weights" if self.has_weights else "no weights: untrained (speed test only)"


def can_run_untrained(spec: ModelSpec) -> bool:
    """Whether the spec's model can be built with random weights (the spec declares it: torch-built models can,
    imported ONNX graphs cannot). Widgets read ``ModelRow.can_run_untrained``."""
    return bool(spec.can_run_untrained)


def backend_note(spec: ModelSpec) -> str:
    """'' for the registry's default backend, else its name in capitals (shown in the Notes column)."""
    default = next((f.default for f in fields(type(spec)) if f.name == "backend"), None)
    return "" if spec.backend == default else str(spec.backend).upper()


def registry_rows(weights_dir: str | None = None) -> list[ModelRow]:
    """Read the registry and the weights directory (worker thread: imports torch, reads the manifest). The facts
    come from ``engine.catalogue`` (the CLI's ``models`` reads the same rows); this adds what the GUI shows."""
    from engine.catalogue import catalogue
    from models.weights.download import manual_instructions

    rows = []
    for c in catalogue(weights_dir, strict=False):
        s, path, pub = c.spec, c.weights_file, c.spec.published
        notes = f"weights directory problem: {c.problem}" if c.problem else s.notes
        rows.append(ModelRow(
            name=s.name, family=s.family, variant=s.variant, joint_set=s.joint_set, params=s.params, gmacs=s.gmacs,
            mpjpe_p2=pub.mpjpe_p2, pa_mpjpe_p1=pub.pa_mpjpe_p1, published_source=pub.source, official=s.official,
            has_weights=path is not None, weights_file=str(path) if path else "",
            sha256=(c.sha256 or ("(file present, not in manifest)" if path else "")),
            downloadable=_downloadable(s), notes=notes, backend=s.backend,
            can_run_untrained=can_run_untrained(s), backend_note=backend_note(s),
            per_action_p2=pub.per_action_mpjpe_p2, how_to_get=_how_to_get(s, manual_instructions),
            speed=c.speed_label, speed_device=c.speed.get("device", ""),
        ))
    return rows


def _downloadable(spec: ModelSpec) -> bool:
    from models.weights.download import downloadable  # the one place that says which sources download

    return downloadable(spec)


def download_error_text(exc: BaseException) -> str:
    """A failed download in the GUI's words: offline is said as such and points at the Models tab's import button
    (never a command line); other failures keep their own one-line reason."""
    gui_text = getattr(exc, "gui_text", None)
    return str(gui_text) if gui_text else readable_error(exc)


class ManualInstructions(Protocol):
    """The shape of ``models.weights.download.manual_instructions``: its keyword options, which a ``Callable`` type
    cannot name."""

    def __call__(self, spec: ModelSpec, *, import_hint: str | None = ..., with_notes: bool = ...) -> str: ...


def _how_to_get(spec: ModelSpec, manual: ManualInstructions) -> str:
    if _downloadable(spec):
        return ""
    try:  # the GUI's words (no command line), and not the notes again: the detail text shows them
        return manual(spec, import_hint="import it with “Import checkpoint…” above", with_notes=False)
    except Exception:  # noqa: BLE001 - instructions are a courtesy
        return ""


def weights_dir_path() -> Path:
    from models.weights.store import resolve_weights_dir

    return resolve_weights_dir()


@dataclass(frozen=True)
class _Failed:
    """A download job's failure already worded for the GUI (the worker would prefix an exception's class name)."""

    text: str


class RegistryController(QObject):
    """Registry rows (shared by the Live, Benchmark and Models tabs), checkpoint import and downloads."""

    rowsReady = Signal(list)  # list[ModelRow]
    message = Signal(str, str)  # level (info|warning|error), text
    importDone = Signal(str)  # model name
    importFailed = Signal(str, str)  # the one-line reason, the details (key lists) or ""
    downloadProgress = Signal(str, int, object)  # model, done bytes, total bytes or None
    downloadDone = Signal(str, str)  # model (or DEFAULTS), status: finished | cancelled | failed
    defaultsItemDone = Signal(str, str, str)  # file name, status (downloaded|present|failed|cancelled|skipped), detail

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[ModelRow] = []
        self._download: Worker | None = None
        self._refresh: Worker | None = None
        self.defaultsItemDone.connect(self._on_default_item)

    def refresh(self) -> None:
        if self._refresh is not None and self._refresh.isRunning():
            return
        w = Worker(registry_rows, name="registry")
        w.returned.connect(self._on_rows)
        w.errored.connect(lambda m: self.message.emit("error", f"Could not read the model registry: {m}"))
        self._refresh = w
        w.start()

    def _on_rows(self, rows: list[ModelRow]) -> None:
        self.rows = rows
        self.rowsReady.emit(rows)

    def import_checkpoint(self, path: str, trust: bool = False) -> Worker:
        """Identify a checkpoint file automatically and copy it into the weights directory."""

        def job() -> ManifestEntry:
            from models.weights.store import import_checkpoint

            return import_checkpoint(path, trust=trust)

        w = Worker(job, name="import")
        w.returned.connect(self._on_imported)
        w.errored.connect(lambda m: self._on_import_failed(path, m))
        w.start()
        return w

    def _on_import_failed(self, path: str, text: str) -> None:
        """One line in the messages; the key lists (the lines after the first) go behind the tab's details view."""
        first, _, details = str(text).partition("\n")
        self.message.emit("error", f"Import of {path} failed: {first}")
        self.importFailed.emit(first, details.strip())

    def _on_imported(self, entry: ManifestEntry) -> None:
        self.message.emit("info", f"Imported {entry.file} as {entry.model} (sha256 {entry.sha256[:12]}…)")
        self.importDone.emit(entry.model)
        self.refresh()

    @property
    def downloading(self) -> bool:
        return self._download is not None and self._download.isRunning()

    def download(self, name: str, url: str | None = None) -> Worker | None:
        if self.downloading:
            self.message.emit("warning", "A download is already running; cancel it first.")
            return None

        def job(cancel: threading.Event) -> ManifestEntry | _Failed:
            from models.weights.download import download

            def progress(done: int, total: int | None) -> None:
                self.downloadProgress.emit(name, int(done), total)

            try:
                return download(name, progress=progress, cancel=cancel, url_override=url or None,
                                warn=lambda text: self.message.emit("warning", text))
            except Exception as exc:
                if getattr(exc, "gui_text", None):  # offline: the GUI's own words, not the CLI's
                    return _Failed(download_error_text(exc))
                raise

        w = Worker(job, name=f"download {name}")
        w.returned.connect(lambda e: self._on_downloaded(name, e))
        w.errored.connect(lambda m: self._on_download_failed(name, m))
        w.cancelled.connect(lambda: self._on_download_cancelled(name))
        self._download = w
        w.start()
        self.message.emit("info", f"Downloading {name}…")
        return w

    def cancel_download(self) -> None:
        if self._download is not None:
            self._download.request_cancel()

    def _on_downloaded(self, name: str, entry: ManifestEntry | _Failed) -> None:
        if isinstance(entry, _Failed):
            self._on_download_failed(name, entry.text)
            return
        self._download = None  # finished as far as the user is concerned (its thread is ending)
        self.message.emit("info", f"Downloaded {name}: {entry.file} (sha256 {entry.sha256[:12]}…)")
        self.downloadDone.emit(name, "finished")
        self.refresh()

    def _on_download_failed(self, name: str, msg: str) -> None:
        self._download = None  # finished as far as the user is concerned (its thread is ending)
        self.message.emit("error", f"Download of {name} failed: {msg}")
        self.downloadDone.emit(name, "failed")

    def _on_download_cancelled(self, name: str) -> None:
        self._download = None  # finished as far as the user is concerned (its thread is ending)
        self.message.emit("info", f"Download of {name} cancelled; the partial file is kept and will resume.")
        self.downloadDone.emit(name, "cancelled")

    def download_defaults(self) -> Worker | None:
        """"Get default models": what the default live view needs online (``weights download --defaults``), one
        file after another with progress; a failure does not stop the others, cancel stops them all."""
        if self.downloading:
            self.message.emit("warning", "A download is already running; cancel it first.")
            return None

        def job(cancel: threading.Event) -> list[DefaultResult]:
            from engine.defaults import ROOT
            from engine.live.detector import DEFAULT_YOLO
            from models.weights.defaults import default_download_plan, download_defaults

            def progress(item: DefaultItem) -> Callable[[int, int | None], None]:
                return lambda done, total: self.downloadProgress.emit(item.name, int(done), total)

            def on_result(res: DefaultResult) -> None:
                detail = getattr(res.error, "gui_text", None) or res.detail
                self.defaultsItemDone.emit(res.item.name, res.status, detail)

            plan = default_download_plan(ROOT.rootnet, DEFAULT_YOLO[0])
            self.message.emit("info", "Getting the default models: " + ", ".join(i.name for i in plan) + "…")
            return download_defaults(plan, progress=progress, cancel=cancel, on_result=on_result,
                                     warn=lambda text: self.message.emit("warning", text))

        w = Worker(job, name="download defaults", close_on_cancel=False)
        w.returned.connect(self._on_defaults_done)
        w.errored.connect(lambda m: self._on_download_failed(DEFAULTS, m))
        w.cancelled.connect(lambda: self._on_download_cancelled(DEFAULTS))
        self._download = w
        w.start()
        return w

    def _on_default_item(self, name: str, status: str, detail: str) -> None:
        level, text = {"downloaded": ("info", f"{name}: downloaded ({detail})"),
                       "present": ("info", f"{name}: already installed ({detail})"),
                       "failed": ("error", f"{name}: download failed: {detail}"),
                       "cancelled": ("info", f"{name}: cancelled; the partial file is kept and will resume"),
                       }.get(status, ("info", f"{name}: {status} ({detail})"))
        self.message.emit(level, text)

    def _on_defaults_done(self, results: list[DefaultResult]) -> None:
        self._download = None
        bad = [r for r in results if not r.ok]
        status = ("cancelled" if any(r.status in ("cancelled", "skipped") for r in bad)
                  else "failed" if bad else "finished")
        summary = f"Default models: {len(results) - len(bad)} of {len(results)} ready"
        if bad:
            summary += "; not done: " + ", ".join(f"{r.item.name} ({r.status})" for r in bad)
        self.message.emit("warning" if bad else "info", summary)
        self.downloadDone.emit(DEFAULTS, status)
        self.refresh()
