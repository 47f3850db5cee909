"""The CLI's defaults come from ``engine.defaults``, and building the parser imports no heavy library."""

from __future__ import annotations

import subprocess
import sys

from engine.defaults import BENCHMARK, CAMERA, DETECTOR, INFERENCE, LIVE, ROOT
from tests.conftest import ROOT as REPO


def _parse(argv):
    from cli.app import build_parser

    return build_parser().parse_args(argv)


def test_live_defaults_come_from_engine_defaults():
    a = _parse(["live"])
    assert (a.source, a.models) == (LIVE.source, None)  # None: engine.live.default_models decides
    assert (a.detector, a.imgsz, a.conf, a.det_every, a.tracker) == (
        DETECTOR.kind, DETECTOR.imgsz, DETECTOR.conf, DETECTOR.every, DETECTOR.tracker)
    assert (a.rootnet, a.rootnet_every) == (ROOT.rootnet, ROOT.every)
    assert (a.device, a.precision, a.flip_test) == (INFERENCE.device, INFERENCE.precision, INFERENCE.flip_test)
    assert a.hfov == CAMERA.hfov_deg
    assert _parse(["live", "--flip-test"]).flip_test is True
    for tracker in DETECTOR.trackers:
        assert _parse(["live", "--tracker", tracker]).tracker == tracker


def test_bench_defaults_come_from_engine_defaults():
    a = _parse(["bench", "h36m", "--data", "D", "--models", "posenet-r50", "--out", "O"])
    assert (a.protocol, a.root, a.flip, a.batch_size, a.workers, a.check_images) == (
        BENCHMARK.protocol, BENCHMARK.root, BENCHMARK.flip, BENCHMARK.batch_size, BENCHMARK.num_workers,
        BENCHMARK.check_images)
    assert (a.device, a.precision) == (INFERENCE.device, INFERENCE.precision)


def test_building_the_parser_imports_nothing_heavy():
    probe = ("import sys; from cli.app import build_parser; build_parser(); "
             "print(sorted(m for m in ('torch', 'cv2', 'numpy', 'ultralytics', 'PySide6', 'h5py', 'matplotlib') "
             "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_app_does_not_force_ultralytics_offline():
    probe = ("import os; os.environ.pop('YOLO_OFFLINE', None); from cli.app import main; "
             "import contextlib, io\n"
             "with contextlib.redirect_stdout(io.StringIO()):\n"
             "    try: main(['--version'])\n"
             "    except SystemExit: pass\n"
             "print(os.environ.get('YOLO_OFFLINE'), os.environ.get('YOLO_VERBOSE'))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["None", "false"]
