"""The Live tab's Compare panel (gui/compare_panel.py) fed a real snapshot from a CompareAccumulator with synthetic
streams whose answers are known, read back from the table cells and the matrix; its controller polling a stand-in
engine; and the widget module importing neither torch nor the engine."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from engine.compare import CompareAccumulator, ModelFrame
from engine.live.engine import ModelInfo
from models.joints import H36M18, MUCO21
from tests.engine.compare.test_compare_metrics import noisy_track, project

pytest.importorskip("pytestqt")

ELBOW = H36M18.index("L_Elbow")
SHIFT = 60.0  # mm, on L_Elbow only, model "b" against model "a"


def _snapshot(frames: int = 40):
    infos = [ModelInfo("a", "a", True, "h36m18", H36M18.names, H36M18.root),
             ModelInfo("b", "b", True, "h36m18", H36M18.names, H36M18.root),
             ModelInfo("mu", "mu (untrained weights)", False, "muco21", MUCO21.names, MUCO21.root)]
    acc = CompareAccumulator(infos)
    a = noisy_track(frames, 2.0)
    b = a.copy()
    b[:, ELBOW, 0] += SHIFT
    rng = np.random.default_rng(1)
    for i in range(frames):
        mu = rng.normal(0, 1.0, (1, 21, 3)) + [0, 0, 3000]  # a collapsed skeleton: random weights
        fr = {n: ModelFrame([1], s, project(s), s, 10.0 + k)
              for k, (n, s) in enumerate((("a", a[i][None]), ("b", b[i][None]), ("mu", mu)))}
        acc.update(i / 30.0, fr)
    return acc, acc.snapshot()


def test_panel_shows_the_snapshot(qtbot):
    from gui.compare_panel import ComparePanel

    acc, snap = _snapshot()
    panel = ComparePanel()
    qtbot.addWidget(panel)
    panel.resize(900, 500)
    panel.show()
    panel.set_models([{"name": d.name, "joint_set": d.adapter.joint_set,
                       "joint_index": {H36M18.names[j]: i for j, i in d.adapter.source_indices().items()}}
                      for d in acc.descs])
    panel.show_snapshot(snap)
    assert panel.table.rowCount() == 3
    assert "last 40 frames" in panel.header.text()
    sa = snap.stats["a"]
    assert panel.cell_text(0, "model") == "a"
    assert panel.cell_text(0, "visibility") == "100"
    assert float(panel.cell_text(0, "jitter_mm_s2").replace(",", "")) == pytest.approx(sa.jitter_mm_s2, abs=0.5)
    assert float(panel.cell_text(0, "bone_cv_mean")) == pytest.approx(100 * sa.bone_cv_mean, abs=0.05)
    assert float(panel.cell_text(0, "latency_mean_ms")) == pytest.approx(10.0)
    assert panel.cell_text(0, "status") == "ok"
    assert "muco21 mapped" in panel.cell_text(2, "model")
    assert panel.cell_text(2, "status") == "DEGENERATE · untrained"
    assert "collapsed" in panel.table.item(2, 9).toolTip()
    assert "Not ranked: mu" in panel.verdict.text()

    m = panel.matrix_values()
    exp = snap.matrix["root_aligned_mm"]
    assert m[0][0] == m[1][1] == 0.0
    assert m[0][1] == m[1][0] == pytest.approx(exp[0][1], abs=0.05)
    assert m[0][1] == pytest.approx(SHIFT / 17, abs=0.05)  # one joint of the 17 off by SHIFT
    assert m[0][2] == pytest.approx(exp[0][2], abs=0.05) and m[2][0] == m[0][2]
    panel.metric_combo.setCurrentIndex(2)  # 2D px
    px = panel.matrix_values()
    assert px[0][1] == pytest.approx(snap.matrix["px_2d"][0][1], abs=0.05) and px[0][1] > 0
    panel.metric_combo.setCurrentIndex(1)  # rigid-aligned
    assert panel.matrix_values()[0][1] == pytest.approx(snap.matrix["rigid_aligned_mm"][0][1], abs=0.05)

    got = []
    panel.highlightChanged.connect(got.append)
    panel.top_k.setValue(1)
    panel.highlight_box.setChecked(True)
    assert got[-1] == {"a": [ELBOW], "b": [ELBOW]}  # the degenerate model is neither ranked nor ranks
    panel.highlight_box.setChecked(False)
    assert got[-1] == {}
    panel.show_snapshot(snap.to_dict())  # the plain dict (compare.json's "overall") renders the same
    assert panel.cell_text(2, "status") == "DEGENERATE · untrained"


def test_controller_polls_the_engine(qtbot):
    from PySide6.QtCore import QObject, Signal

    from gui.compare_panel import ComparePanel
    from gui.controllers.compare import CompareController

    acc, _ = _snapshot(10)

    class Live(QObject):
        started = Signal(list)
        stopped = Signal(str)

    calls = []
    engine = SimpleNamespace(compare_models=acc.descs, compare_error=None,
                             compare_snapshot=lambda: calls.append(1) or acc.snapshot())
    live = Live()
    live.engine = engine
    panel = ComparePanel()
    qtbot.addWidget(panel)
    ctl = CompareController(live, panel, interval_ms=20)
    live.started.emit([])
    assert ctl.timer.isActive()
    qtbot.waitUntil(lambda: ctl.snapshots >= 2, timeout=5000)
    assert panel.table.rowCount() == 3 and panel.cell_text(1, "model") == "b"
    assert panel._joint_index["mu"]["L_Elbow"] == MUCO21.index("L_Elbow")
    live.stopped.emit("stopped")
    assert not ctl.timer.isActive()
    live.engine = SimpleNamespace(compare_models=[], compare_error="model comparison off: x",
                                  compare_snapshot=lambda: None)
    assert ctl.poll() is None and "comparison off" in panel.header.text()


def test_panel_modules_do_not_import_torch():
    from tests.conftest import ROOT

    code = ("import sys; import gui.compare_panel, gui.controllers.compare; "
            "print(sorted(m for m in ('torch', 'engine.live.engine', 'engine.compare', 'ultralytics') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
