"""The one Qt adapter between the widgets and engine/ + models/.

Everything that touches torch, disk or the network runs here, off the GUI thread: model loading and the live engine
(its own threads; results are marshalled to the GUI thread by a queued signal, at most one in flight), benchmark
runs (the runner's generator iterated in a ``Worker`` with a cancel Event), validation, synthetic data, exports,
checkpoint import and downloads. Widgets get plain records (``gui.live_frame``, dicts) and readable messages; they
import nothing from engine/ or torch. Engine imports are deferred to the functions that need them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from gui.bench_io import EXPORT_SUFFIX, default_export_name, export_results, result_payload  # noqa: F401
from gui.live_frame import LiveFrame, ModelFrame
from gui.workers import Worker, readable_error

# ------------------------------------------------------------------------------------------------- registry rows


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
    downloadable: bool  # a direct link exists (otherwise manual instructions)
    notes: str
    backend: str
    per_action_p2: tuple[float, ...] | None = None  # published per-action MPJPE (Protocol 2, GT root)
    how_to_get: str = ""  # manual download instructions when there is no direct link
    speed: str = "not measured"  # last `python -m bench.model_speed` on this machine (batch 1, fastest mode)
    speed_device: str = ""

    @property
    def is_pose_model(self) -> bool:
        return self.joint_set != "root"

    @property
    def weights_text(self) -> str:
        return "trained weights" if self.has_weights else "no weights: untrained (speed test only)"


def registry_rows(weights_dir: str | None = None) -> list[ModelRow]:
    """Read the registry and the weights directory (worker thread: imports torch, reads the manifest)."""
    from engine.speed_results import last_speed, speed_label
    from models.spec import all_specs
    from models.weights import find_entry, find_weights, manual_instructions

    rows = []
    speed = last_speed()
    for s in all_specs():
        try:
            path = find_weights(s.name, weights_dir)
            entry = find_entry(s.name, weights_dir) if path is not None else None
        except Exception as exc:  # noqa: BLE001 - an unreadable manifest is shown, not fatal
            path, entry = None, None
            notes = f"weights directory problem: {readable_error(exc)}"
        else:
            notes = s.notes
        pub = s.published
        rows.append(ModelRow(
            name=s.name, family=s.family, variant=s.variant, joint_set=s.joint_set, params=s.params, gmacs=s.gmacs,
            mpjpe_p2=pub.mpjpe_p2, pa_mpjpe_p1=pub.pa_mpjpe_p1, published_source=pub.source, official=s.official,
            has_weights=path is not None, weights_file=str(path) if path else "",
            sha256=(entry.sha256 if entry else ("(file present, not in manifest)" if path else "")),
            downloadable=any(c.kind in ("http", "dropbox", "gdrive") for c in s.checkpoints), notes=notes,
            backend=s.backend, per_action_p2=pub.per_action_mpjpe_p2,
            how_to_get=_how_to_get(s, manual_instructions),
            speed=speed_label(s.name, speed), speed_device=speed.get(s.name, {}).get("device", ""),
        ))
    return rows


def _how_to_get(spec: Any, manual: Callable[[Any], str]) -> str:
    if any(c.kind in ("http", "dropbox", "gdrive") for c in spec.checkpoints):
        return ""
    try:
        return manual(spec)
    except Exception:  # noqa: BLE001 - instructions are a courtesy
        return ""


def weights_dir_path() -> Path:
    from models.weights import resolve_weights_dir

    return resolve_weights_dir()


class RegistryController(QObject):
    """Registry rows (shared by the Live, Benchmark and Models tabs), checkpoint import and downloads."""

    rowsReady = Signal(list)  # list[ModelRow]
    message = Signal(str, str)  # level (info|warning|error), text
    importDone = Signal(str)  # model name
    downloadProgress = Signal(str, int, object)  # model, done bytes, total bytes or None
    downloadDone = Signal(str, str)  # model, status: finished | cancelled | failed

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[ModelRow] = []
        self._download: Worker | None = None
        self._refresh: Worker | None = None

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

        def job() -> Any:
            from models.weights import import_checkpoint

            return import_checkpoint(path, trust=trust)

        w = Worker(job, name="import")
        w.returned.connect(self._on_imported)
        w.errored.connect(lambda m: self.message.emit("error", f"Import of {path} failed: {m}"))
        w.start()
        return w

    def _on_imported(self, entry: Any) -> None:
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

        def job(cancel: threading.Event) -> Any:
            from models.weights import download

            def progress(done: int, total: int | None) -> None:
                self.downloadProgress.emit(name, int(done), total)

            return download(name, progress=progress, cancel=cancel, url_override=url or None)

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
            self._download.quit()

    def _on_downloaded(self, name: str, entry: Any) -> None:
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


# ------------------------------------------------------------------------------------------------------ sources


class SourceController(QObject):
    camerasFound = Signal(list)  # list[(index, label)]

    def scan(self) -> None:
        def job() -> list[tuple[int, str]]:
            from engine.live.sources import list_cameras

            return [(c.index, f"{c.name} ({c.width}x{c.height})") for c in list_cameras()]

        w = Worker(job, name="cameras")
        w.returned.connect(self.camerasFound.emit)
        w.errored.connect(lambda m: self.camerasFound.emit([]))
        w.start()


# --------------------------------------------------------------------------------------------------------- live


@dataclass
class LiveSettings:
    """What the Live tab asks for; turned into an ``engine.live.engine.LiveConfig`` here."""

    source: str = "demo"
    models: tuple[str, ...] = ()
    allow_untrained: bool = False
    use_rootnet: bool = True
    smoothing: bool = True
    imgsz: int = 320
    det_conf: float = 0.35
    det_every: int = 1
    record: str | None = None
    realtime: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # any other LiveConfig field


class _LockedRecorder:
    """Lets recording start and stop while the engine runs: writes and close never overlap, writes after close
    are ignored (the inference thread may still hold the old reference for one frame)."""

    def __init__(self, recorder: Any) -> None:
        self._rec = recorder
        self._lock = threading.Lock()
        self.closed = False
        self.path = getattr(recorder, "path", None)

    def write(self, result: Any) -> None:
        with self._lock:
            if not self.closed:
                self._rec.write(result)

    def maybe_flush(self) -> None:
        with self._lock:
            if not self.closed:
                self._rec.maybe_flush()

    def close(self) -> None:
        with self._lock:
            if not self.closed:
                self.closed = True
                self._rec.close()

    @property
    def frames_written(self) -> int:
        return int(getattr(self._rec, "frames_written", 0))


def _xywh_to_xyxy(b: np.ndarray) -> np.ndarray:
    b = np.asarray(b, dtype=np.float32).reshape(-1, 4)
    return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)


def to_live_frame(result: Any, seq: int, smoothed: bool, model_fps: float | None = None) -> LiveFrame:
    """engine.live.engine.LiveResult -> gui.live_frame.LiveFrame (runs on the inference thread: cheap, no copies)."""
    untrained = set(getattr(result, "untrained", ()))
    lat = dict(getattr(result, "latencies_ms", {}) or {})
    models: dict[str, ModelFrame] = {}
    for name, out in result.outputs.items():
        src = result.smoothed.get(name) if smoothed and getattr(result, "smoothed", None) else None
        src = src if src is not None else out
        models[name] = ModelFrame(
            name=name, label=result.labels.get(name, name), joint_set=out.joint_set, trained=name not in untrained,
            joints_2d=src.joints_2d, joints_rel_mm=src.joints_rel_mm, joints_cam_mm=src.joints_cam_mm,
            latency_ms=lat.get(name, getattr(out, "latency_ms", None)), fps=model_fps,
        )
    e2e = lat.pop("end_to_end", None)
    ids = [int(i) if int(i) >= 0 else None for i in np.asarray(result.track_ids).reshape(-1)]
    return LiveFrame(
        seq=seq, frame_bgr=result.image, boxes_xyxy=_xywh_to_xyxy(result.boxes), track_ids=ids, models=models,
        fps=float(result.fps), stage_ms=lat, end_to_end_ms=e2e, frame_id=int(result.frame_id),
        root_source=str(result.root_source),
    )


class LiveController(QObject):
    """Starts/stops ``engine.live.engine.LiveEngine`` without blocking the GUI; keeps the newest frame for the views.

    States: idle -> starting (models load in a worker) -> running -> stopping (threads joined in a worker) -> idle.
    """

    started = Signal(list)  # list[dict(name, label, joint_set, trained)]
    stopped = Signal(str)  # why: "stopped" | "source ended" | an error message
    stateChanged = Signal(str)
    message = Signal(str, str)  # level, text
    frameReady = Signal()  # a new frame is in ``latest()`` (at most one pending)
    recordingChanged = Signal(bool, str)  # on, path
    _resultQueued = Signal()  # engine thread -> GUI thread
    _errorQueued = Signal(str)
    _finishedQueued = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = "idle"
        self.engine: Any = None
        self.smoothing = True
        self._lock = threading.Lock()
        self._latest: LiveFrame | None = None
        self._pending = False
        self._seq = 0
        self._error: str | None = None
        self._recorder: _LockedRecorder | None = None
        self._worker: Worker | None = None
        self._pending_engine: Any = None
        self._stop_requested = False
        self.frames_received = 0
        self._resultQueued.connect(self._on_result_gui)
        self._errorQueued.connect(self._on_error_gui)
        self._finishedQueued.connect(self._on_finished_gui)

    # -- state ---------------------------------------------------------------------------------------------------
    def _set_state(self, s: str) -> None:
        self.state = s
        self.stateChanged.emit(s)

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def busy(self) -> bool:
        return self.state in ("starting", "running", "stopping")

    def latest(self) -> LiveFrame | None:
        with self._lock:
            return self._latest

    # -- start -----------------------------------------------------------------------------------------------------
    def start(self, s: LiveSettings) -> None:
        if self.busy:
            self.message.emit("warning", f"The live view is {self.state}; stop it first.")
            return
        if not s.models:
            self.message.emit("error", "Select at least one pose model before starting.")
            return
        self._error = None
        self._stop_requested = False
        self.smoothing = s.smoothing
        with self._lock:
            self._latest, self._pending = None, False
        self._set_state("starting")
        self.message.emit("info", f"Starting {', '.join(s.models)} on {s.source}…")
        w = Worker(self._prepare_engine, s, name="live start")
        w.returned.connect(self._on_engine_started)
        w.errored.connect(self._on_start_failed)
        self._worker = w
        w.start()

    def _prepare_engine(self, s: LiveSettings) -> Any:
        """Worker thread: build the config, load models, open the source, start the engine threads."""
        from engine.live.engine import LiveConfig, LiveEngine
        from engine.live.smoothing import DEFAULT_POSE
        from models.weights import find_weights

        notes = []
        rootnet = None
        if s.use_rootnet:
            if find_weights("rootnet-r50") is not None:
                rootnet = "rootnet-r50"
            else:
                notes.append("rootnet-r50 has no weights: root depth fixed at 4 m (import RootNet in the Models tab)")
        cfg = LiveConfig(
            source=s.source, models=tuple(s.models), allow_untrained=s.allow_untrained, imgsz=int(s.imgsz),
            det_conf=float(s.det_conf), det_every=int(s.det_every), rootnet=rootnet, smoothing=DEFAULT_POSE,
            realtime=s.realtime, record=None, **s.extra,
        )
        engine = LiveEngine(cfg)
        self._pending_engine = engine  # so shutdown() can stop it even before the GUI heard it started
        try:
            engine.prepare()
            engine.subscribe(self._on_result_engine)
            engine.on_error(self._on_error_engine)
            engine.on_finished(self._finishedQueued.emit)
            if s.record:
                self._recorder = self._make_recorder(engine, s.record)
                engine.recorder = self._recorder
            engine.start()
        except BaseException:
            self._pending_engine = None
            try:
                engine.stop(timeout=2.0)  # release whatever prepare() opened (source, recorder)
            except Exception:  # noqa: BLE001 - the original error is the one to report
                pass
            raise
        return engine, notes

    def _on_engine_started(self, value: Any) -> None:
        engine, notes = value
        self.engine = engine
        self._set_state("running")
        engine_notes = list(getattr(engine, "notes", []))
        if notes:  # ours already says why RootNet is off (and what to do)
            engine_notes = [n for n in engine_notes if not n.lower().startswith("no rootnet")]
        for n in [*notes, *engine_notes]:
            self.message.emit("warning", n)
        untrained = [m.label for m in engine.models if not m.trained]
        if untrained:
            self.message.emit("warning", "Untrained (random) weights, for speed tests only: " + ", ".join(untrained))
        self.started.emit([dict(name=m.name, label=m.label, joint_set=m.joint_set, trained=m.trained)
                           for m in engine.models])
        if self._recorder is not None:
            self.recordingChanged.emit(True, str(self._recorder.path))
        if self._stop_requested:
            self.stop()

    def _on_start_failed(self, msg: str) -> None:
        self._recorder = None
        self._set_state("idle")
        self.message.emit("error", f"Could not start: {msg}")
        self.stopped.emit(msg)

    # -- engine thread callbacks (must be quick) ------------------------------------------------------------------
    def _on_result_engine(self, result: Any) -> None:
        with self._lock:
            self._seq += 1
            self._latest = to_live_frame(result, self._seq, self.smoothing)
            emit = not self._pending
            self._pending = True
        if emit:
            self._resultQueued.emit()

    def _on_error_engine(self, exc: BaseException) -> None:
        self._errorQueued.emit(readable_error(exc))

    # -- GUI thread ----------------------------------------------------------------------------------------------
    @Slot()
    def _on_result_gui(self) -> None:
        with self._lock:
            self._pending = False
        self.frames_received += 1
        self.frameReady.emit()

    @Slot(str)
    def _on_error_gui(self, msg: str) -> None:
        self._error = msg
        self.message.emit("error", f"Live engine: {msg}")

    @Slot()
    def _on_finished_gui(self) -> None:
        if self.state == "running" and not self._stop_requested:
            self._stop_engine(self._error or "source ended")

    # -- stop ------------------------------------------------------------------------------------------------------
    def stop(self) -> None:
        if self.state == "starting":
            self._stop_requested = True  # stop as soon as it has started
            return
        if self.state != "running":
            return
        self._stop_requested = True
        self._stop_engine("stopped")

    def _stop_engine(self, why: str) -> None:
        engine = self.engine
        self._set_state("stopping")
        rec = self._recorder

        def job() -> str:
            engine.stop(timeout=5.0)
            if rec is not None:
                rec.close()
            return why

        w = Worker(job, name="live stop")
        w.returned.connect(self._on_stopped)
        w.errored.connect(lambda m: self._on_stopped(f"{why} (while stopping: {m})"))
        self._worker = w
        w.start()

    def _on_stopped(self, why: str) -> None:
        self.engine = self._pending_engine = None
        if self._recorder is not None:
            path = str(self._recorder.path)
            self._recorder = None
            self.recordingChanged.emit(False, path)
        self._set_state("idle")
        self.message.emit("info" if why in ("stopped", "source ended") else "error", f"Live view {why}.")
        self.stopped.emit(why)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Blocking stop for application exit (also while a start or stop is still in its worker)."""
        if self._worker is not None and self._worker.isRunning():
            self._worker.wait(int(timeout * 1000))
        for engine in {id(e): e for e in (self.engine, self._pending_engine) if e is not None}.values():
            engine.stop(timeout=timeout)
        if self._recorder is not None:
            self._recorder.close()
        self.engine = self._pending_engine = None

    # -- recording while running ------------------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        return self._recorder is not None and not self._recorder.closed

    def _make_recorder(self, engine: Any, path: str) -> _LockedRecorder:
        from engine.live.recording import LiveRecorder

        attrs_fn = getattr(engine, "recording_attrs", None) or getattr(engine, "_recording_attrs", None)
        attrs = attrs_fn() if attrs_fn is not None else {}
        cfg = engine.config
        # never replace an earlier recording (LiveRecorder refuses to): an existing name gets a timestamped sibling,
        # e.g. posearena_recording-20250101-120000.h5; "Recording to ..." names the file actually written
        p = Path(path)
        if p.exists():
            stamp = time.strftime("%Y%m%d-%H%M%S")
            p = next(c for c in (p.with_name(f"{p.stem}-{stamp}{'' if k == 0 else f'-{k}'}{p.suffix}")
                                 for k in range(1000)) if not c.exists())
        return _LockedRecorder(LiveRecorder(p, engine.models, max_persons=cfg.max_persons, attrs=attrs))

    def start_recording(self, path: str) -> None:
        if not self.running or self.engine is None:
            self.message.emit("warning", "Start the live view first; recording begins with it.")
            return
        if self.recording:
            return
        engine = self.engine

        def job() -> _LockedRecorder:
            return self._make_recorder(engine, path)

        w = Worker(job, name="record")
        w.returned.connect(self._on_recorder_ready)
        w.errored.connect(lambda m: self.message.emit("error", f"Cannot record to {path}: {m}"))
        w.start()

    def _on_recorder_ready(self, rec: _LockedRecorder) -> None:
        if not self.running or self.engine is None:
            rec.close()
            return
        self._recorder = rec
        self.engine.recorder = rec
        self.message.emit("info", f"Recording to {rec.path}")
        self.recordingChanged.emit(True, str(rec.path))

    def stop_recording(self) -> None:
        rec = self._recorder
        if rec is None:
            return
        if self.engine is not None:
            self.engine.recorder = None
        self._recorder = None

        def job() -> int:
            rec.close()
            return rec.frames_written

        w = Worker(job, name="record stop")
        w.returned.connect(lambda n: self.message.emit("info", f"Recording saved: {rec.path} ({n} frames)"))
        w.errored.connect(lambda m: self.message.emit("error", f"Closing the recording {rec.path} failed: {m}"))
        w.start()
        self.recordingChanged.emit(False, str(rec.path))

    # -- statistics ----------------------------------------------------------------------------------------------
    def stage_table(self) -> list[tuple[str, float, float, float, float]]:
        """(stage, last, mean, p50, p95) ms per pipeline stage, end-to-end last; empty when not running."""
        engine = self.engine
        if engine is None:
            return []
        try:
            stages = dict(engine.stats().stages)
        except Exception:  # noqa: BLE001 - statistics must never break the window
            return []
        e2e = stages.pop("end_to_end", None)
        rows = [(k, v.last, v.mean, v.p50, v.p95) for k, v in stages.items()]
        if e2e is not None:
            rows.append(("end-to-end", e2e.last, e2e.mean, e2e.p50, e2e.p95))
        return rows

    def stats_text(self) -> str:
        """Status bar line from the engine's rolling statistics (means over the recent window)."""
        engine = self.engine
        if engine is None:
            return ""
        try:
            st = engine.stats()
        except Exception as exc:  # noqa: BLE001 - statistics must never break the window
            return f"statistics unavailable: {readable_error(exc)}"
        stages = dict(st.stages)
        e2e = stages.pop("end_to_end", None)
        parts = [f"{st.fps:.1f} FPS"]
        if e2e is not None:
            parts.append(f"end-to-end {e2e.mean:.0f} ms (p95 {e2e.p95:.0f})")
        shown = [f"{k} {v.mean:.1f}" for k, v in stages.items() if k not in ("wait",)]
        if shown:
            parts.append("stages ms: " + " · ".join(shown))
        parts.append(f"dropped {st.frames_dropped}")
        frame = self.latest()
        if frame is not None:
            parts.append(f"{len(frame.boxes_xyxy)} person(s)")
        if self.recording:
            parts.append("● REC")
        return " | ".join(parts)


# ---------------------------------------------------------------------------------------------------- benchmark


def validation_summary(report: Any) -> dict[str, Any]:
    return {
        "ok": bool(report.ok), "text": report.format(max_lines=40),
        "errors": [str(i) for i in report.errors], "warnings": [str(i) for i in report.warnings],
        "counts": dict(getattr(report, "counts", {}) or {}),
    }


@dataclass
class BenchmarkSettings:
    data_dir: str
    out_dir: str
    models: tuple[str, ...]
    protocol: int = 2
    root: str = "gt"
    flip: bool = True
    limit: int | None = None
    allow_untrained: bool = False
    batch_size: int = 8
    num_workers: int = 0
    overwrite: bool = False


class BenchmarkController(QObject):
    """Validation, benchmark runs (cancel / resume), synthetic data and exports, each in a worker."""

    validated = Signal(str, dict)  # data dir, summary (ok, text, errors, warnings, counts)
    progress = Signal(dict)  # done, total, eta_s, phase, rate, message
    finished = Signal(dict)  # status, out_dir, summary, results (list of results.json dicts), files
    failed = Signal(str)
    cancelled = Signal(dict)  # done, total, out_dir
    message = Signal(str, str)
    syntheticDone = Signal(str)  # folder ("" when it failed)
    exported = Signal(str, str)  # kind, path

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._run: Worker | None = None
        self._validate: Worker | None = None
        self._validate_gen = 0
        self.last_settings: BenchmarkSettings | None = None
        self.last_result: dict[str, Any] | None = None

    @property
    def running(self) -> bool:
        return self._run is not None  # cleared when its result was handled (the thread may still be ending)

    # -- validation ------------------------------------------------------------------------------------------------
    def validate(self, data_dir: str, protocol: int) -> None:
        """Check the folder in a worker; only the newest request's answer is emitted."""
        self._validate_gen += 1
        gen = self._validate_gen

        def job() -> dict[str, Any]:
            from engine.h36m.layout import validate

            return validation_summary(validate(data_dir, protocol, images="exists"))

        w = Worker(job, name="validate")
        w.returned.connect(lambda d: self._on_validated(gen, data_dir, d))
        w.errored.connect(lambda m: self._on_validated(gen, data_dir, {"ok": False, "text": m, "errors": [m],
                                                                       "warnings": [], "counts": {}}))
        self._validate = w
        w.start()

    def _on_validated(self, gen: int, data_dir: str, d: dict[str, Any]) -> None:
        if gen == self._validate_gen:
            self.validated.emit(data_dir, d)

    # -- runs ------------------------------------------------------------------------------------------------------
    def run(self, s: BenchmarkSettings) -> Worker | None:
        if self.running:
            self.message.emit("warning", "A benchmark is already running.")
            return None
        self.last_settings = s
        self.last_result = None

        def job(cancel: threading.Event):
            from engine.h36m.runner import BenchmarkConfig, BenchmarkRunner

            cfg = BenchmarkConfig(
                data_dir=Path(s.data_dir), models=s.models, out_dir=Path(s.out_dir), protocol=s.protocol,
                root=s.root, flip=s.flip, limit=s.limit, allow_untrained=s.allow_untrained,
                batch_size=s.batch_size, num_workers=s.num_workers, overwrite=s.overwrite,
            )
            runner = BenchmarkRunner(cfg, cancel=cancel)
            gen = runner.run()
            t0 = time.monotonic()
            while True:
                try:
                    p = next(gen)
                except StopIteration as stop:
                    result = stop.value
                    break
                yield {"done": p.done, "total": p.total, "eta_s": p.eta_s, "phase": p.phase, "rate": p.rate,
                       "message": p.message, "elapsed_s": time.monotonic() - t0}
            return result_payload(result, s.models)

        w = Worker(job, name="benchmark", close_on_cancel=False)
        w.yielded.connect(self.progress.emit)
        w.returned.connect(self._on_finished)
        w.errored.connect(self._on_failed)
        self._run = w
        w.start()
        return w

    def resume(self) -> Worker | None:
        """Run the last configuration again: the runner continues from its saved batches."""
        if self.last_settings is None:
            self.message.emit("warning", "Nothing to resume.")
            return None
        return self.run(self.last_settings)

    def cancel(self) -> None:
        if self._run is not None:
            self._run.quit()

    def _on_finished(self, payload: dict[str, Any]) -> None:
        self._run = None
        if payload["status"] == "cancelled":
            self.message.emit("info", f"Benchmark stopped at {payload['done']}/{payload['total']} samples; "
                                      f"Resume continues from there.")
            self.cancelled.emit(payload)
            return
        self.last_result = payload
        self.message.emit("info", f"Benchmark {payload['status']}: results in {payload['out_dir']}")
        self.finished.emit(payload)

    def _on_failed(self, msg: str) -> None:
        self._run = None
        self.message.emit("error", f"Benchmark failed: {msg}")
        self.failed.emit(msg)

    # -- synthetic data --------------------------------------------------------------------------------------------
    def make_synthetic(self, folder: str, samples: int = 120) -> None:
        def job() -> str:
            from engine.h36m.synthetic import generate

            info = generate(folder, samples=samples)
            return str(info.root)

        w = Worker(job, name="synthetic")
        w.returned.connect(self._on_synthetic)
        w.errored.connect(self._on_synthetic_failed)
        w.start()

    def _on_synthetic_failed(self, msg: str) -> None:
        self.message.emit("error", f"Could not write the synthetic dataset: {msg}")
        self.syntheticDone.emit("")

    def _on_synthetic(self, folder: str) -> None:
        self.message.emit("info", f"Synthetic Human3.6M-layout dataset written to {folder}")
        self.syntheticDone.emit(folder)

    # -- exports ---------------------------------------------------------------------------------------------------
    def export(self, kind: str, dest: str) -> Worker | None:
        """kind: csv | json | markdown | hdf5 | png; copies/combines the finished run's files to ``dest``."""
        payload = self.last_result
        if payload is None:
            self.message.emit("warning", "Run the benchmark first: there is nothing to export.")
            return None
        w = Worker(export_results, kind, payload, dest, name=f"export {kind}")
        w.returned.connect(lambda p: self._on_exported(kind, p))
        w.errored.connect(lambda m: self.message.emit("error", f"Export ({kind}) failed: {m}"))
        w.start()
        return w

    def _on_exported(self, kind: str, path: str) -> None:
        self.message.emit("info", f"Exported {kind.upper()} to {path}")
        self.exported.emit(kind, path)
