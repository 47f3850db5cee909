"""The threaded live pipeline: source -> capture thread (newest frame) -> detector -> RootNet -> pose models ->
smoothing -> subscribers / recorder.

Design (the newest-frame practice of streaming pose pipelines such as rtmlib's and FreeMoCap's):
- Two threads. The capture thread keeps only the newest frame in a one-slot mailbox; the inference thread takes it
  when it is free, so at most one frame is in flight and nothing queues (drops happen at the entrance and are
  counted). Files processed "as fast as possible" use a lockstep mailbox instead: every frame, still one in flight.
- Every frame keeps its id and monotonic capture time to the end; ``LiveResult.latencies_ms`` has each stage and
  "end_to_end" (capture -> result published). ``stats()`` gives rolling mean/p50/p95 per stage and the FPS.
- Detection can run every N frames (boxes carried from the previous poses in between), RootNet every K frames
  (depth held per track in between); root depth is filtered causally per track, and poses are One Euro smoothed per
  model per track (raw and smoothed are both published and recorded).
- RootNet runs on a third thread (``root_worker``), one run in flight on the newest due frame, so no frame waits
  for it: poses use the newest finished depth per track, the fixed default until the first one. Each result says
  per model where its depth came from (``LiveResult.placement``, ``root_planner.Placement``'s words).
- Errors in either thread go to the error callbacks (and ``engine.error``), and end the run; they are never
  swallowed. Subscriber exceptions are reported the same way but do not stop inference.

Subscribers run on the inference thread: they must return quickly (the GUI adapter just emits a Qt signal).

Parts: ``config`` (LiveConfig), ``results`` (ModelInfo, LiveResult, statistics records), ``root_planner`` (RootPlan:
RootNet or a fixed depth and why, decided at ``prepare()`` and exposed as ``LiveEngine.root_plan``; the per-frame
RootNet schedule and depth filter), ``frame_step`` (FrameStep: one frame through detection, root depth, the
predictor and smoothing into a LiveResult), ``compare_feed`` (CompareFeed: the model comparison). This module keeps
the lifecycle (prepare, start/stop, the inference thread, callbacks, statistics) and re-exports the records.

Model comparison: the engine owns a ``compare_feed.CompareFeed`` (an ``engine.compare.CompareAccumulator``
over its models, made in ``prepare()``, so a new model set or source, which means a new engine, starts a new one),
fed after the subscribers and the recorder; ``compare_snapshot()`` reads it from any thread (the GUI's Compare
panel, twice a second).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.live.capture import CaptureThread
from engine.live.compare_feed import COMPARE_WINDOW_FRAMES, COMPARE_WINDOW_S, CompareFeed
from engine.live.config import LiveConfig
from engine.live.detector import PersonDetector, make_detector
from engine.live.frame_step import FrameStep, IntrinsicsCache, fps_of
from engine.live.results import EngineStats, LiveResult, ModelInfo, RollingStats, StageStats
from engine.live.root_planner import RootDepths, RootPlan, plan_root
from engine.live.root_worker import RootWorker
from engine.live.smoothing import PoseSmoother
from engine.live.sources import FrameSource, SourceEvent, SourceOptions, make_source

if TYPE_CHECKING:
    from engine.compare.accumulator import CompareAccumulator
    from engine.compare.snapshot import ModelDesc, Snapshot
    from engine.inference.protocols import LivePredictorLike, LoadedModelLike
    from engine.live.recording.writer import RecorderLike
    from engine.live.stream.sender import OscStreamer

log = logging.getLogger(__name__)

__all__ = ["COMPARE_WINDOW_FRAMES", "COMPARE_WINDOW_S", "EngineStats", "LiveConfig", "LiveEngine", "LiveResult",
           "ModelInfo", "RollingStats", "RootPlan", "StageStats", "run_engine"]

Subscriber = Callable[[LiveResult], None]
ErrorCallback = Callable[[BaseException], None]


class LiveEngine:
    """See the module docstring. ``source``, ``detector``, ``model_loader`` and ``predictor_factory`` may be
    injected (tests use stand-ins); by default they come from the config."""

    def __init__(self, config: LiveConfig | None = None, *, source: FrameSource | None = None,
                 detector: PersonDetector | None = None, model_loader: Callable[..., LoadedModelLike] | None = None,
                 predictor_factory: Callable[..., LivePredictorLike] | None = None,
                 recorder: RecorderLike | None = None,
                 on_result: Subscriber | None = None, on_error: ErrorCallback | None = None,
                 on_event: Callable[[SourceEvent], None] | None = None, compare: bool = True,
                 compare_window: int = COMPARE_WINDOW_FRAMES, compare_window_s: float | None = COMPARE_WINDOW_S
                 ) -> None:
        self.config = config or LiveConfig()
        if not self.config.models:
            raise ValueError("LiveConfig.models is empty: select at least one pose model")
        self._source = source
        self._detector = detector
        self._model_loader = model_loader
        self._predictor_factory = predictor_factory
        self.recorder: RecorderLike | None = recorder
        self.streamer: OscStreamer | None = None  # when config.stream is set
        self._subscribers: list[Subscriber] = [on_result] if on_result else []
        self._error_cbs: list[ErrorCallback] = [on_error] if on_error else []
        self._event_cbs: list[Callable[[SourceEvent], None]] = [on_event] if on_event else []
        self._finished_cbs: list[Callable[[], None]] = []
        self.models: list[ModelInfo] = []
        self.rootnet_info: ModelInfo | None = None
        self.root_plan: RootPlan | None = None  # set by prepare(): RootNet or a fixed depth, and why
        self.notes: list[str] = []
        self.predictor: LivePredictorLike | None = None
        self.capture: CaptureThread | None = None
        self.error: BaseException | None = None
        self._stats = RollingStats(self.config.stats_window)
        self._result_times: deque[float] = deque(maxlen=self.config.stats_window)
        self._processed = 0
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._thread: threading.Thread | None = None
        self._prepared = False
        self._intrinsics = IntrinsicsCache(self.config)  # camera intrinsics per frame size
        self._smoothers: dict[str, PoseSmoother] = {}
        self._depths: RootDepths | None = None
        self._step: FrameStep | None = None  # made by prepare()
        self._lock = threading.Lock()
        # model comparison (engine.compare): fed after each result, read by compare_snapshot() from any thread
        self._compare_feed = CompareFeed(compare, compare_window, compare_window_s)

    # -- callbacks -------------------------------------------------------------------------------------------------
    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(result)`` for every result (on the inference thread); returns an unsubscribe function."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def on_error(self, callback: ErrorCallback) -> None:
        self._error_cbs.append(callback)

    def on_event(self, callback: Callable[[SourceEvent], None]) -> None:
        self._event_cbs.append(callback)

    def on_finished(self, callback: Callable[[], None]) -> None:
        self._finished_cbs.append(callback)

    # -- set-up ----------------------------------------------------------------------------------------------------
    def prepare(self) -> LiveEngine:
        """Load models, build the detector, open the source and the recorder. Raises clear errors (missing weights,
        unopenable source) in the calling thread. Called by ``start()`` if not done."""
        if self._prepared:
            return self
        cfg = self.config
        load = self._model_loader or self._default_loader()
        loaded = [load(name, allow_untrained=cfg.allow_untrained) for name in cfg.models]
        self.root_plan, rootnet = plan_root(cfg.rootnet, load, allow_untrained=cfg.allow_untrained,
                                            default_root_mm=cfg.default_root_mm)
        self.models = [ModelInfo.from_loaded(lm) for lm in loaded]
        self.rootnet_info = ModelInfo.from_loaded(rootnet) if rootnet is not None else None
        if self.root_plan.note:
            self.notes.append(self.root_plan.note)
        placed = [lm.spec.name for lm in loaded if lm.spec.metric_3d]
        if self.root_plan.fixed and placed:
            self.notes.append(f"{', '.join(placed)}: placed by fitting its own metric 3D to its 2D joints")
        factory = self._predictor_factory or self._default_predictor_factory()
        profile = {"profile": cfg.profile} if cfg.profile is not None else {}  # injected factories may predate it
        self.predictor = predictor = factory(loaded, rootnet, device=cfg.device, precision=cfg.precision,
                                             channels_last=cfg.channels_last, flip_test=cfg.flip_test,
                                             default_root_mm=cfg.default_root_mm, **profile)
        follow = getattr(predictor, "follow_free_cores", None)  # torch's threads follow the free cores (live only)
        if follow is not None:
            follow()
        if self._detector is None:
            device = None if cfg.device == "auto" else cfg.device
            self._detector = make_detector(cfg.detector, imgsz=cfg.imgsz, conf=cfg.det_conf, every_n=cfg.det_every,
                                           tracker=cfg.tracker, device=device)
        if self._detector.note:
            self.notes.append(f"{self._detector.label} ({self._detector.note})")
        self._compare_feed.make(self.models, self.notes)
        if cfg.smoothing is not None:
            self._smoothers = {m.name: PoseSmoother(m.root_index, cfg.smoothing) for m in self.models}
        # root depth per track: filtered, and held between RootNet frames
        self._depths = RootDepths(self.root_plan, cfg.rootnet_every, cfg.root_filter)
        self._intrinsics.load(cfg.intrinsics)
        self._step = FrameStep(detector=self._detector, predictor=predictor, models=self.models,
                               rootnet_info=self.rootnet_info, depths=self._depths, smoothers=self._smoothers,
                               intrinsics=self._intrinsics, result_times=self._result_times, notes=self.notes,
                               dropped=lambda: self.capture.dropped if self.capture else 0,
                               root_worker=RootWorker(predictor) if rootnet else None,
                               on_stage=self._stats.add)
        if self._source is None:
            self._source = make_source(cfg.source, SourceOptions(realtime=cfg.realtime, loop=cfg.loop,
                                                                 on_event=self._emit_event))
        elif self._source.options.on_event is None:
            self._source.options.on_event = self._emit_event
        if self._source.info is None:
            self._source.open()
        if self.recorder is None and cfg.record:
            from engine.live.recording.writer import LiveRecorder

            self.recorder = LiveRecorder(cfg.record, self.models, max_persons=cfg.max_persons,
                                         attrs=self.recording_attrs())
        if self.streamer is None and cfg.stream:
            from engine.live.stream.sender import OscStreamer

            self.streamer = OscStreamer(cfg.stream, self.models, fmt=cfg.stream_format, model=cfg.stream_model)
        self._prepared = True
        return self

    def _default_loader(self) -> Callable[..., LoadedModelLike]:
        from models.loader import load_model

        wd = Path(self.config.weights_dir) if self.config.weights_dir else None
        return lambda name, allow_untrained: load_model(name, allow_untrained=allow_untrained, weights_dir=wd)

    @staticmethod
    def _default_predictor_factory() -> Callable[..., LivePredictorLike]:
        from engine.inference.predictor import Predictor

        return Predictor

    def recording_attrs(self) -> dict[str, Any]:
        """Root attributes for a ``LiveRecorder`` of this run (after ``prepare()``): source, models, hashes, ..."""
        from engine.live.run_attrs import recording_attrs

        return recording_attrs(self)

    # -- run control -----------------------------------------------------------------------------------------------
    def start(self) -> LiveEngine:
        if self._thread is not None:
            raise RuntimeError("LiveEngine.start() called twice; create a new engine to run again")
        self.prepare()
        src = self._source
        assert src is not None and src.info is not None
        drop = self.config.drop_frames
        if drop is None:
            drop = src.info.live or src.realtime
        self.capture = CaptureThread(src, drop_old=drop, on_error=self._report_error)
        self._thread = threading.Thread(target=self._run, name="posearena-inference", daemon=True)
        self.capture.start()
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop both threads and join them (each up to ``timeout`` s); True when everything ended in time."""
        self._stop.set()
        ok = True
        if self.capture is not None:
            ok = self.capture.stop(timeout)
            if not ok:
                log.warning("capture thread did not end within %.1f s (device read blocked?)", timeout)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                ok = False
                log.warning("inference thread did not end within %.1f s", timeout)
        elif self._thread is None:  # never started (e.g. prepare() failed): release what prepare() opened
            self._close_outputs()
            self._finished.set()
        if self._source is not None and (self.capture is None or not self.capture.alive):
            self._source.close()
        return ok

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run finishes (source ended, ``max_frames`` reached, error, or stop)."""
        return self._finished.wait(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def root_mode(self) -> str | None:
        """"rootnet" or "fixed" once prepared (see ``root_plan`` for the reason), None before."""
        return self.root_plan.mode if self.root_plan is not None else None

    @property
    def detector(self) -> PersonDetector | None:
        return self._detector

    @property
    def source(self) -> FrameSource | None:
        return self._source

    def __enter__(self) -> LiveEngine:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- model comparison (compare_feed.CompareFeed) ---------------------------------------------------------------
    @property
    def _compare(self) -> CompareAccumulator | None:
        """The CompareAccumulator once prepared (None when off or stopped)."""
        return self._compare_feed.acc

    @property
    def compare_error(self) -> str | None:
        """Why the comparison is off or stopped (it never stops inference); None while it runs."""
        return self._compare_feed.error

    @property
    def compare_models(self) -> list[ModelDesc]:
        """The ``engine.compare.ModelDesc`` of each compared model (empty before ``prepare()`` or when off)."""
        return self._compare_feed.models

    def compare_snapshot(self) -> Snapshot | None:
        """The comparison over the recent window (``engine.compare.Snapshot``), or None before ``prepare()`` / when
        the comparison is off. Thread-safe and never holds up inference (see ``CompareFeed.snapshot``)."""
        return self._compare_feed.snapshot()

    def reset_compare(self) -> None:
        """Start a new comparison window (e.g. the scene changed)."""
        self._compare_feed.reset()

    # -- statistics ------------------------------------------------------------------------------------------------
    def fps(self) -> float:
        return fps_of(self._result_times)

    def stats(self) -> EngineStats:
        src = self._source
        cap = self.capture
        return EngineStats(
            frames_processed=self._processed, frames_captured=cap.captured if cap else 0,
            frames_dropped=cap.dropped if cap else 0, frames_corrupt=src.stats.corrupt if src else 0,
            reconnects=src.stats.reconnects if src else 0, fps=self.fps(), stages=self._stats.snapshot(),
            running=self.running, finished=self._finished.is_set(),
            error=f"{type(self.error).__name__}: {self.error}" if self.error else None,
            detector_label=self._detector.label if self._detector else "",
            labels={m.name: m.label for m in self.models})

    def reset_stats(self) -> None:
        """Forget latency samples and FPS history (e.g. after warm-up frames)."""
        self._stats.clear()
        self._result_times.clear()

    # -- worker ----------------------------------------------------------------------------------------------------
    def _emit_event(self, ev: SourceEvent) -> None:
        log.info("source %s: %s %s", ev.source, ev.kind, ev.message)
        for cb in list(self._event_cbs):
            try:
                cb(ev)
            except Exception:
                log.exception("source event callback failed")

    def _report_error(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
        if not self._error_cbs:
            log.error("live engine error: %s", exc, exc_info=exc)
        for cb in list(self._error_cbs):
            try:
                cb(exc)
            except Exception:
                log.exception("error callback failed")

    def _run(self) -> None:
        cap = self.capture
        assert cap is not None
        try:
            while not self._stop.is_set():
                frame = cap.mailbox.take(timeout=0.1)
                if frame is None:
                    if self.recorder is not None:
                        self.recorder.maybe_flush()
                    if cap.mailbox.exhausted:
                        break
                    continue
                assert self._step is not None  # made by prepare()
                result = self._step(frame)
                self._processed += 1
                self._publish(result)
                if self.config.max_frames is not None and self._processed >= self.config.max_frames:
                    break
        except Exception as exc:
            self._report_error(exc)
        finally:
            cap.stop(timeout=2.0)
            if self._step is not None:
                self._step.close()
            self._close_outputs()
            self._finished.set()
            for cb in list(self._finished_cbs):
                try:
                    cb()
                except Exception:
                    log.exception("finished callback failed")

    def _drop_recorder(self, exc: BaseException) -> None:
        """Stop recording after a write failure (the file keeps what was flushed), report it; inference goes on."""
        rec, self.recorder = self.recorder, None
        try:
            rec.close()
        except Exception:  # noqa: BLE001 - the write error is the one worth reporting
            log.debug("closing a failed recorder", exc_info=True)
        self.notes.append(f"recording stopped: {exc}")
        self._emit_event(SourceEvent("error", f"recording stopped: {exc}", "recorder"))  # said at once, not at the end
        self._report_error(exc)

    def _close_outputs(self) -> None:
        if self.streamer is not None:
            self.streamer.close()
        if self.recorder is not None:
            try:
                self.recorder.close()
            except Exception as exc:
                self._report_error(exc)

    def _publish(self, result: LiveResult) -> None:
        for k, v in result.latencies_ms.items():
            self._stats.add(k, v)
        if self.recorder is not None:
            t = time.perf_counter()
            try:
                self.recorder.write(result)
            except Exception as exc:  # noqa: BLE001 - a failed recording (disk full) must not stop the live view
                self._drop_recorder(exc)
            else:
                self._stats.add("record", (time.perf_counter() - t) * 1e3)
        if self.streamer is not None:  # a copy into a bounded queue; the sender thread does the rest
            self.streamer.submit(result)
        with self._lock:
            subs = list(self._subscribers)
        for cb in subs:
            try:
                cb(result)
            except Exception as exc:  # a broken view must not stop inference; report it
                self._report_error(exc)
        self._compare_feed.feed(result, self._stats)  # after the views and the recorder: off their path


def run_engine(config: LiveConfig, *, frames: int | None = None, timeout: float | None = None,
               on_result: Subscriber | None = None, **kwargs: Any) -> tuple[LiveEngine, list[LiveResult]]:
    """Convenience for scripts and tests: run to the end (or ``frames``), collecting the results."""
    if frames is not None:
        config.max_frames = frames
    results: list[LiveResult] = []
    engine = LiveEngine(config, **kwargs)
    engine.subscribe(results.append)
    if on_result is not None:
        engine.subscribe(on_result)
    with engine:
        engine.wait(timeout)
    return engine, results

