"""The Live tab's controller: starts and stops ``engine.live.engine.LiveEngine`` without blocking the GUI.

Models load and the source opens in a worker; the engine runs its own threads and hands each result to
``_on_result_engine`` (inference thread), which converts it to a ``gui.live_frame.LiveFrame`` and keeps only the
newest one: at most one queued signal is in flight to the GUI thread. Recording can start and stop while it runs.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from engine.defaults import DETECTOR, LIVE, ROOT
from gui.controllers.live_notes import bundled_detector_prefix, self_placed_prefix, without_root_fallback_notes
from gui.live_frame import LiveFrame, ModelFrame
from gui.workers import Worker, readable_error

if TYPE_CHECKING:
    from engine.live.engine import LiveEngine
    from engine.live.recording.writer import LiveRecorder
    from engine.live.results import LiveResult


@dataclass
class LiveSettings:
    """What the Live tab asks for; turned into an ``engine.live.engine.LiveConfig`` here."""

    source: str = LIVE.source
    models: tuple[str, ...] = ()
    allow_untrained: bool = False
    use_rootnet: bool = True
    smoothing: bool = True
    imgsz: int = DETECTOR.imgsz
    det_conf: float = DETECTOR.conf
    det_every: int = DETECTOR.every
    record: str | None = None
    realtime: bool | None = None  # None: files and image folders every frame in order (as the CLI), the demo
    # paced like a camera; True: files paced at their frame rate, dropping what the models cannot keep up with
    extra: dict[str, Any] = field(default_factory=dict)  # any other LiveConfig field


class _LockedRecorder:
    """Lets recording start and stop while the engine runs: writes and close never overlap, writes after close
    are ignored (the inference thread may still hold the old reference for one frame)."""

    def __init__(self, recorder: LiveRecorder) -> None:
        self._rec = recorder
        self._lock = threading.Lock()
        self.closed = False
        self.path = getattr(recorder, "path", None)

    def write(self, result: LiveResult) -> None:
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


PLACEMENT_TEXT = {  # a frame's root source -> words, for an engine that gives no per-model placement
    "rootnet": "placed by RootNet", "held": "placed by RootNet", "fit": "placed by its own 3D (fitted to its 2D)",
    "default": "depth fixed (no RootNet)", "given": "depth given",
}


def to_live_frame(result: LiveResult, seq: int, smoothed: bool, model_fps: float | None = None) -> LiveFrame:
    """engine.live.engine.LiveResult -> gui.live_frame.LiveFrame (runs on the inference thread: cheap, no copies)."""
    untrained = set(getattr(result, "untrained", ()))
    lat = dict(getattr(result, "latencies_ms", {}) or {})
    placements = getattr(result, "placement", None)  # the engine's words per model, for this frame
    models: dict[str, ModelFrame] = {}
    for name, out in result.outputs.items():
        src = result.smoothed.get(name) if smoothed and getattr(result, "smoothed", None) else None
        src = src if src is not None else out
        models[name] = ModelFrame(
            name=name, label=result.labels.get(name, name), joint_set=out.joint_set, trained=name not in untrained,
            joints_2d=src.joints_2d, joints_rel_mm=src.joints_rel_mm, joints_cam_mm=src.joints_cam_mm,
            latency_ms=lat.get(name, getattr(out, "latency_ms", None)), fps=model_fps,
            placement=placements.get(name, "") if placements is not None
            else PLACEMENT_TEXT.get(str(getattr(result, "root_source", "") or ""), ""),
        )
    e2e = lat.pop("end_to_end", None)
    ids = [int(i) if int(i) >= 0 else None for i in np.asarray(result.track_ids).reshape(-1)]
    return LiveFrame(
        seq=seq, frame_bgr=result.image, boxes_xyxy=_xywh_to_xyxy(result.boxes), track_ids=ids, models=models,
        fps=float(result.fps), stage_ms=lat, end_to_end_ms=e2e, frame_id=int(result.frame_id),
        root_source=str(getattr(result, "root_source", "") or ""),
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
        self.engine: LiveEngine | None = None
        self.smoothing = True
        self._lock = threading.Lock()
        self._latest: LiveFrame | None = None
        self._pending = False
        self._seq = 0
        self._error: str | None = None
        self._recorder: _LockedRecorder | None = None
        self._worker: Worker | None = None
        self._pending_engine: LiveEngine | None = None
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

    def _prepare_engine(self, s: LiveSettings) -> tuple[LiveEngine, list[str]]:
        """Worker thread: build the config, load models, open the source, start the engine threads."""
        from engine.live.engine import LiveConfig, LiveEngine
        from engine.live.smoothing import DEFAULT_POSE
        from models.weights.store import find_weights

        notes = []
        rootnet = None
        if s.use_rootnet:
            if find_weights(ROOT.rootnet) is not None:
                rootnet = ROOT.rootnet
            else:
                notes.append(f"{ROOT.rootnet} has no weights: models that do not place themselves in 3D stand "
                             f"at a fixed {ROOT.default_root_mm / 1000:g} m depth (import RootNet in the Models tab "
                             "for measured depth)")
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

    def _on_engine_started(self, value: tuple[LiveEngine, list[str]]) -> None:
        engine, notes = value
        self.engine = engine
        if self._stop_requested:  # Stop was pressed while it loaded: stop without showing it run
            self.state = "running"
            self._stop_engine("stopped")
            return
        self._set_state("running")
        engine_notes = without_root_fallback_notes(engine, list(getattr(engine, "notes", [])))
        normal = tuple(p for p in (self_placed_prefix(engine), bundled_detector_prefix(engine)) if p)
        for n in notes:
            self.message.emit("info", n)
        for n in engine_notes:  # a model placing itself, or a bundled detector offline, is how it works
            self.message.emit("info" if normal and n.startswith(normal) else "warning", n)
        untrained = [m.label for m in engine.models if not m.trained]
        if untrained:
            self.message.emit("warning", "Untrained (random) weights, for speed tests only: " + ", ".join(untrained))
        self.started.emit([dict(name=m.name, label=m.label, joint_set=m.joint_set, trained=m.trained)
                           for m in engine.models])
        if self._recorder is not None:
            self.recordingChanged.emit(True, str(self._recorder.path))
        if getattr(engine, "streamer", None) is not None:
            self.message.emit("info", f"Streaming {engine.streamer.model} poses to {engine.streamer.address}")

    def _on_start_failed(self, msg: str) -> None:
        self._recorder = None
        self._set_state("idle")
        self.message.emit("error", f"Could not start: {msg}")
        self.stopped.emit(msg)

    # -- engine thread callbacks (must be quick) ------------------------------------------------------------------
    def _on_result_engine(self, result: LiveResult) -> None:
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
            self._stop_requested = True  # stop as soon as it has started; say so now
            self._set_state("stopping")
            self.message.emit("info", "Stopping: the models are still loading; the live view stops once they are.")
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
            assert engine is not None, "only a running engine is stopped"
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

    def _make_recorder(self, engine: LiveEngine, path: str) -> _LockedRecorder:
        from engine.live.recording.writer import LiveRecorder

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


