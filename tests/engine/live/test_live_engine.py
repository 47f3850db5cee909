"""The live engine end to end on the real demo video: stand-in predictor for exact checks, then the real Predictor
with random-weight models (labelled untrained) and a random-weight YOLO that finds nobody."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from engine.live.engine import LiveConfig, LiveEngine, run_engine
from engine.live.recording.writer import load_recording
from tests.engine.live.test_live_fakes import FakePredictor, FixedDetector, fake_loader

MODEL = "mhp-lpski-w0.5"
BOXES = [[100, 80, 120, 300], [380, 60, 100, 280]]


def _engine(frames=6, *, detector=None, predictor_box=None, **cfg):
    cfg.setdefault("realtime", False)
    config = LiveConfig(source="demo", models=(MODEL,), max_frames=frames, **cfg)
    holder = predictor_box if predictor_box is not None else {}

    def factory(models, rootnet, **kw):
        holder["p"] = FakePredictor(models, rootnet, **kw)
        return holder["p"]

    det = detector or FixedDetector(BOXES, [3, 8])
    return LiveEngine(config, detector=det, model_loader=fake_loader, predictor_factory=factory), holder


def test_demo_run_ids_timestamps_shapes_latency_tracks():
    engine, holder = _engine(6, rootnet_every=3)
    results = []
    engine.subscribe(results.append)
    with engine:
        assert engine.wait(30)
    assert engine.error is None
    assert [r.frame_id for r in results] == list(range(6))  # lockstep on an as-fast-as-possible file: no drops
    cap = [r.capture_ts for r in results]
    assert all(b > a for a, b in zip(cap, cap[1:]))
    assert all(r.result_ts >= r.capture_ts for r in results)
    r = results[-1]
    assert r.image.shape == (480, 640, 3)
    assert r.intrinsics.width == 640 and "assumed" in r.intrinsics.source
    assert r.track_ids.tolist() == [3, 8] and r.boxes.shape == (2, 4)
    out = r.outputs[MODEL]
    assert out.joints_2d.shape == (2, 18, 2) and out.joints_cam_mm.shape == (2, 18, 3)
    assert r.smoothed[MODEL].joints_cam_mm.shape == (2, 18, 3)
    assert r.untrained == (MODEL,) and "untrained" in r.labels[MODEL]
    assert r.detector_label == "fixed test boxes"
    for stage in ("capture", "wait", "detect", "crop", MODEL, "post", "smooth", "end_to_end"):
        assert stage in r.latencies_ms
    st = engine.stats()
    assert st.frames_processed == 6 and st.fps > 0 and st.finished and not st.running
    assert {"end_to_end", MODEL, "detect"} <= set(st.stages)
    assert "frames processed" in st.summary()


def test_rootnet_every_k_on_its_thread_holds_filtered_depth_per_track():
    """One road: RootNet only on its own thread, every 3rd frame; the poses take the filtered depth it last gave,
    and each result says so in the engine's words."""
    from engine.live.root_planner import Placement

    class Pose30ms(FakePredictor):  # RootNet (instant) finishes well inside one frame
        def predict_frame(self, *a, **k):
            time.sleep(0.03)
            return super().predict_frame(*a, **k)

    box: dict = {}

    def factory(models, rootnet, **kw):
        box["p"] = Pose30ms(models, rootnet, **kw)
        return box["p"]

    config = LiveConfig(source="demo", models=(MODEL,), max_frames=9, realtime=False, rootnet_every=3)
    engine = LiveEngine(config, detector=FixedDetector(BOXES, [3, 8]), model_loader=fake_loader,
                        predictor_factory=factory)
    results = []
    engine.subscribe(results.append)
    with engine:
        assert engine.wait(30)
    pred = box["p"]
    assert not any(c["run_rootnet"] for c in pred.calls)  # never inside a frame
    assert len(pred.root_calls) == 3  # frames 0, 3 and 6
    assert [r.placement[MODEL] for r in results] == [Placement.WAITING] + [Placement.ROOTNET] * 8
    assert results[0].root_source == Placement.WAITING
    assert results[1].root_cam_mm[:, 2] == pytest.approx(3000.0)  # the first run, passed through the filter
    z = results[-1].root_cam_mm[:, 2]
    assert np.all(z > 3000.0) and np.all(z < 3020.0)  # runs of 3010 and 3020 mm, filtered causally
    assert np.asarray(pred.calls[-1]["root_depth_mm"]) == pytest.approx(z)  # the poses used the held depth
    assert results[-1].outputs[MODEL].joints_cam_mm[:, 0, 2] == pytest.approx(z)


def test_slow_rootnet_runs_off_the_critical_path_and_its_depths_are_used():
    """A RootNet of 0.3 s on its own thread; no frame waits for it, and its depths reach the poses."""
    from engine.defaults import ROOT

    class PoseTakes20ms(FakePredictor):
        def predict_frame(self, *a, **k):
            time.sleep(0.02)
            return super().predict_frame(*a, **k)

    box: dict = {}

    def factory(models, rootnet, **kw):
        box["p"] = PoseTakes20ms(models, rootnet, **kw)
        box["p"].root_sleep_s = 0.3
        return box["p"]

    config = LiveConfig(source="demo", models=(MODEL,), max_frames=60, realtime=False, rootnet_every=3)
    engine = LiveEngine(config, detector=FixedDetector(BOXES, [3, 8]), model_loader=fake_loader,
                        predictor_factory=factory)
    results = []
    engine.subscribe(results.append)
    with engine:
        assert engine.wait(60)
    assert engine.error is None and len(results) == 60
    pred = box["p"]
    assert not any(c["run_rootnet"] for c in pred.calls)  # RootNet never inside a frame
    assert len(pred.root_calls) >= 2 and all(c["t1"] - c["t0"] >= 0.3 for c in pred.root_calls)
    busy = np.array([r.latencies_ms["end_to_end"] - r.latencies_ms["wait"] for r in results])
    e2e = np.array([r.latencies_ms["end_to_end"] for r in results])
    assert np.percentile(busy, 95) < 100.0 and np.percentile(e2e, 95) < 150.0  # RootNet takes 300 ms
    assert all("rootnet" not in r.latencies_ms for r in results)
    assert engine.stats().stages["rootnet"].mean >= 300.0  # its own time is still measured
    # before the first run finishes: the fixed default depth, said as "pending"; then RootNet's depth, held
    from engine.live.root_planner import Placement

    sources = [r.placement[MODEL] for r in results]
    assert sources[0] == Placement.WAITING and sources[-1] == Placement.ROOTNET
    assert set(sources) == {Placement.WAITING, Placement.ROOTNET}
    first_held = sources.index(Placement.ROOTNET)
    assert all(s == Placement.WAITING for s in sources[:first_held])
    assert all(s == Placement.ROOTNET for s in sources[first_held:])
    assert results[0].root_cam_mm[:, 2] == pytest.approx(ROOT.default_root_mm)
    z = results[first_held].root_cam_mm[:, 2]
    assert z == pytest.approx(3000.0)  # the first run's depth (the filter passes its first value through)
    assert results[first_held].capture_ts > pred.root_calls[0]["t0"] - 1.0  # results keep their capture times
    assert all(r.capture_ts < r.result_ts for r in results)
    zs = np.array([r.root_cam_mm[:, 2] for r in results[first_held:]])
    assert np.all(zs >= 3000.0 - 1e-6) and np.all(zs <= 3000.0 + 10.0 * len(pred.root_calls))
    assert np.any(zs > 3000.0 + 1e-6)  # later runs (3010 mm, ...) reach the poses through the filter


def test_zero_persons_are_handled():
    engine, holder = _engine(3, detector=FixedDetector(np.zeros((0, 4)), []))
    results = []
    engine.subscribe(results.append)
    with engine:
        engine.wait(30)
    assert engine.error is None and len(results) == 3
    assert holder["p"].calls == []  # nothing to infer
    r = results[0]
    assert r.boxes.shape == (0, 4) and r.track_ids.shape == (0,)
    assert r.outputs[MODEL].joints_cam_mm.shape == (0, 18, 3) and r.smoothed[MODEL].joints_2d.shape == (0, 18, 2)


def test_worker_errors_reach_the_error_callback():
    errors = []
    box: dict = {}
    engine, _ = _engine(10, predictor_box=box)
    engine.on_error(errors.append)
    engine.prepare()
    box["p"].fail_on_call = 2
    with engine:
        assert engine.wait(30)
    assert len(errors) == 1 and "stand-in predictor failure" in str(errors[0])
    assert engine.error is errors[0] and engine.stats().frames_processed == 2
    assert "RuntimeError" in engine.stats().error


def test_broken_subscriber_is_reported_but_inference_continues():
    errors, results = [], []
    engine, _ = _engine(4)
    engine.on_error(errors.append)
    engine.subscribe(lambda r: 1 / 0)
    engine.subscribe(results.append)
    with engine:
        engine.wait(30)
    assert len(results) == 4 and len(errors) == 4 and isinstance(errors[0], ZeroDivisionError)


def test_detection_every_n_in_the_engine():
    det = FixedDetector(BOXES, [3, 8], every_n=2)
    engine, _ = _engine(5, detector=det)
    results = []
    engine.subscribe(results.append)
    with engine:
        engine.wait(30)
    assert [r.detection_origin for r in results] == ["detector", "carried", "detector", "carried", "detector"]
    assert det.calls == 3
    assert results[1].track_ids.tolist() == [3, 8]
    assert "detect" in results[0].latencies_ms and "detect" not in results[1].latencies_ms
    assert engine.stats().stages["detect"].count == 3


def test_realtime_source_drops_frames_for_a_slow_model_and_stop_joins():
    class Slow(FakePredictor):
        def predict_frame(self, *a, **k):
            time.sleep(0.25)
            return super().predict_frame(*a, **k)

    config = LiveConfig(source="demo", models=(MODEL,), realtime=None)  # demo: paced at 10 fps, newest frame
    engine = LiveEngine(config, detector=FixedDetector(BOXES, [1, 2]), model_loader=fake_loader,
                        predictor_factory=Slow)
    results = []
    got3 = threading.Event()
    engine.subscribe(lambda r: (results.append(r), len(results) >= 3 and got3.set()))
    engine.start()
    assert got3.wait(20)
    t0 = time.monotonic()
    assert engine.stop(timeout=5.0)
    assert time.monotonic() - t0 < 3.0 and not engine.running
    ids = [r.frame_id for r in results]
    assert ids == sorted(ids) and ids[-1] - ids[0] > len(ids) - 1  # gaps: the newest frame was taken
    assert engine.stats().frames_dropped > 0 and results[-1].dropped_frames > 0


def test_recording_from_the_engine(tmp_path):
    path = tmp_path / "rec.h5"
    engine, _ = _engine(5, record=str(path))
    results = []
    engine.subscribe(results.append)
    with engine:
        engine.wait(30)
    rec = load_recording(path)
    assert len(rec) == 5 and bool(rec.attrs["complete"])
    assert rec.frame_id.tolist() == [r.frame_id for r in results]
    assert rec.num_persons.tolist() == [2] * 5 and rec.track_ids[0, :3].tolist() == [3, 8, -1]
    m = rec.models[MODEL]
    assert m.trained is False and "untrained" in m.label
    assert np.allclose(m.raw["joints_cam_mm"][4, :2], results[4].outputs[MODEL].joints_cam_mm, atol=1e-2)
    assert np.allclose(m.smoothed["joints_2d"][4, :2], results[4].smoothed[MODEL].joints_2d, atol=1e-3)
    assert np.isnan(m.raw["joints_cam_mm"][4, 2:]).all()  # empty person slots
    assert np.all(np.isfinite(rec.latency_ms["end_to_end"]))
    assert rec.attrs["source"].startswith("demo:") and rec.attrs["trained"] == {MODEL: False}
    assert rec.attrs["intrinsics"]["width"] == 640


def test_real_predictor_with_untrained_models_on_the_demo():
    import torch

    torch.set_num_threads(1)
    config = LiveConfig(source="demo", models=("mhp-lpski-w0.5", "convnextpose-xs"), allow_untrained=True,
                        detector="none", rootnet=None, realtime=False, device="cpu")
    engine, results = run_engine(config, frames=2, timeout=120)
    assert engine.error is None and [r.frame_id for r in results] == [0, 1]
    r = results[-1]
    assert set(r.untrained) == {"mhp-lpski-w0.5", "convnextpose-xs"}
    assert r.detector_label == "no person detector: whole-frame box" and r.track_ids.tolist() == [0]
    assert r.placement == {"mhp-lpski-w0.5": "fixed depth", "convnextpose-xs": "fixed depth"}
    assert any("no RootNet" in n for n in r.notes)
    for name in ("mhp-lpski-w0.5", "convnextpose-xs"):
        out = r.outputs[name]
        assert out.joints_cam_mm.shape == (1, 18, 3) and np.all(np.isfinite(out.joints_cam_mm))
        assert r.latencies_ms[name] > 0


def test_real_predictor_with_random_yolo_finds_nobody(tmp_path):
    from ultralytics import YOLO

    weights = tmp_path / "yolo-random.pt"
    YOLO("yolov8n.yaml").save(str(weights))
    config = LiveConfig(source="demo", models=("mhp-lpski-w0.5",), allow_untrained=True, detector=str(weights),
                        imgsz=320, rootnet=None, realtime=False, device="cpu")
    engine, results = run_engine(config, frames=2, timeout=120)
    assert engine.error is None and len(results) == 2
    assert results[0].num_persons == 0 and "YOLO" in results[0].detector_label
    assert engine.stats().stages["detect"].count == 2


def test_missing_weights_refuse_without_allow_untrained():
    from models.loader import WeightsMissingError

    engine = LiveEngine(LiveConfig(source="demo", models=("convnextpose-xs",), detector="none", rootnet=None))
    with pytest.raises(WeightsMissingError, match="convnextpose-xs"):
        engine.start()


class _FailingRecorder:
    """Fails on its 3rd frame as a full disk would."""

    def __init__(self) -> None:
        self.written, self.closed = 0, False

    def write(self, result) -> None:
        if self.written == 2:
            raise OSError(27, "File too large", "rec.h5")
        self.written += 1

    def maybe_flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def test_recording_failure_stops_recording_but_not_inference():
    engine, _ = _engine(6)
    rec = _FailingRecorder()
    engine.recorder = rec
    errors, results = [], []
    engine.on_error(errors.append)
    engine.subscribe(results.append)
    with engine:
        assert engine.wait(30)
    assert len(results) == 6  # every frame still inferred and published
    assert rec.written == 2 and rec.closed and engine.recorder is None
    assert len(errors) == 1 and "File too large" in str(errors[0])
    assert any("recording stopped" in n for n in engine.notes)


def test_engine_compares_its_models_and_snapshots_from_another_thread():
    engine, _ = _engine(12)
    snaps = []
    with engine:
        deadline = time.monotonic() + 30
        while not engine.wait(0.01) and time.monotonic() < deadline:
            snaps.append(engine.compare_snapshot())  # while the inference thread feeds it
    assert engine.error is None
    snap = engine.compare_snapshot()
    assert snap.models == [MODEL] and snap.frames == 12
    s = snap.stats[MODEL]
    assert s.valid_frames == 24 and s.visibility == 1.0  # two tracks x 12 frames
    assert {t.track_id for t in snap.per_track[MODEL]} == {3, 8}
    assert s.latency_mean_ms == pytest.approx(1.5) and s.trained is False
    assert "compare" in engine.stats().stages and engine.stats().stages["compare"].count == 12
    assert [d.name for d in engine.compare_models] == [MODEL]
    engine.reset_compare()
    assert engine.compare_snapshot().frames == 0


def test_comparison_can_be_switched_off_and_never_stops_inference():
    config = LiveConfig(source="demo", models=(MODEL,), max_frames=4, realtime=False)
    off = LiveEngine(config, detector=FixedDetector(BOXES, [3, 8]), model_loader=fake_loader,
                     predictor_factory=lambda m, r, **kw: FakePredictor(m, r, **kw), compare=False)
    assert off.compare_snapshot() is None
    with off:
        off.wait(30)
    assert off.compare_snapshot() is None and "compare" not in off.stats().stages

    engine, _ = _engine(5)
    engine.prepare()
    engine._compare.update_from_result = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom"))
    results = []
    engine.subscribe(results.append)
    with engine:
        engine.wait(30)
    assert len(results) == 5 and engine.error is None  # inference went on
    assert "boom" in engine.compare_error and engine.compare_snapshot() is None


def test_a_failed_recording_is_reported_at_once_while_frames_go_on():
    """The full-disk message is an event at the failing frame (the CLI prints "[recorder] error: ..." then), not a
    note read at the end: later frames are still published after it."""
    engine, _ = _engine(6)
    engine.recorder = _FailingRecorder()
    seen: list[tuple[str, object]] = []
    engine.on_event(lambda ev: seen.append(("event", ev)))
    engine.subscribe(lambda r: seen.append(("frame", r)))
    with engine:
        assert engine.wait(30)
    events = [i for i, (kind, ev) in enumerate(seen) if kind == "event" and ev.source == "recorder"]
    assert len(events) == 1
    ev = seen[events[0]][1]
    assert ev.kind == "error" and "recording stopped" in ev.message and "File too large" in ev.message
    frames_after = [i for i, (kind, _) in enumerate(seen) if kind == "frame" and i > events[0]]
    assert len(frames_after) >= 3  # said at the third frame, while frames 3-5 still came
