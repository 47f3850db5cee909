"""Cosmetics at the small window sizes (1024x640, 1280x800): the Models table fits without sideways scrolling, the
chart's category labels never overlap, the 2D caption fits its view, and messages carry no undrawable characters."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRectF

from tests.conftest import show_main_window

ACTIONS = ["Directions", "Discussion", "Eating", "Greeting", "Phoning", "Posing", "Purchases", "Sitting",
           "SittingDown", "Smoking", "Photo", "Waiting", "Walking", "WalkDog", "WalkTogether"]
SIZES = [(1024, 640), (1280, 800)]


def _resize(qtbot, w, width: int, height: int) -> None:
    w.resize(width, height)
    qtbot.waitUntil(lambda: (w.width(), w.height()) == (width, height), timeout=3_000)
    qtbot.wait(150)


def _label_rects(axis) -> list[QRectF]:
    """The bottom axis's tick labels as it would draw them now (axis coordinates)."""
    from PySide6.QtGui import QImage, QPainter

    img = QImage(16, 16, QImage.Format.Format_ARGB32)
    p = QPainter(img)
    try:
        specs = axis.generateDrawSpecs(p)
    finally:
        p.end()
    return list(axis.label_rects) if hasattr(axis, "label_rects") else [r for r, _, _ in specs[2]]


def _assert_apart(rects: list[QRectF], bounds: QRectF) -> None:
    assert rects
    for i, a in enumerate(rects):
        assert bounds.adjusted(-16, -1, 16, 1).contains(a), (a, bounds)  # not clipped off the axis
        for b in rects[i + 1:]:
            assert not a.intersects(b), (a, b)


@pytest.fixture
def models_window(qtbot, tmp_path, monkeypatch):
    w = show_main_window(qtbot, tmp_path, monkeypatch, lambda w: w.models_tab.table.rowCount() > 0, tab="models_tab")
    yield w
    w.close()


@pytest.mark.parametrize("size", SIZES)
def test_the_models_table_fits_without_sideways_scrolling(models_window, qtbot, size):
    from gui.models_tab import COL

    tab = models_window.models_tab
    _resize(qtbot, models_window, *size)
    t = tab.table
    qtbot.waitUntil(lambda: t.horizontalScrollBar().maximum() == 0, timeout=3_000)
    hh = t.horizontalHeader()
    assert sum(hh.sectionSize(c) for c in range(t.columnCount())) <= t.viewport().width()
    for c in (COL["Model"], COL["Joints"], COL["Params (M)"]):  # short columns are never cut
        assert hh.sectionSize(c) >= t.sizeHintForColumn(c) - 1, c
    for r in range(t.rowCount()):  # a cut cell keeps its whole text in the tooltip
        for c in (COL["Family / variant"], COL["Speed (batch 1)"], COL["Weights"], COL["Notes"]):
            item = t.item(r, c)
            assert item.text() in item.toolTip(), (r, c, item.text(), item.toolTip())


@pytest.mark.parametrize("size", SIZES)
def test_the_per_action_labels_never_overlap(benchmark_window, qtbot, size):
    tab = benchmark_window.benchmark_tab
    chart = tab.action_chart
    tab.charts.setCurrentWidget(chart)
    series = {f"model-{k} (untrained weights)": [300.0 + 10 * k + i for i in range(len(ACTIONS))] for k in range(3)}
    series["published model-0"] = [50.0 + i for i in range(len(ACTIONS))]
    chart.set_data(ACTIONS, series, "Per action — MPJPE, Protocol 2 test set S9+S11 (synthetic data, not Human3.6M)")
    _resize(qtbot, benchmark_window, *size)
    qtbot.waitUntil(lambda: chart.isVisible() and chart.width() > 100, timeout=3_000)
    axis = chart.getAxis("bottom")
    _label_rects(axis)  # the first layout may change the axis height; measure once it has settled
    qtbot.wait(100)
    rects = _label_rects(axis)
    assert len(rects) == len(ACTIONS)  # every action named at these sizes
    _assert_apart(rects, axis.boundingRect())


JOINTS = ["Pelvis", "R_Hip", "R_Knee", "R_Ankle", "L_Hip", "L_Knee", "L_Ankle", "Torso", "Neck", "Nose", "Head",
          "L_Shoulder", "L_Elbow", "L_Wrist", "R_Shoulder", "R_Elbow", "R_Wrist", "Thorax"]


@pytest.mark.parametrize("size", SIZES)
def test_the_per_joint_chart_fits_its_tab(benchmark_window, qtbot, size):
    """Filled while its tab is hidden (as after a run), then shown: title and joint labels stay inside the widget."""
    tab = benchmark_window.benchmark_tab
    tab.charts.setCurrentWidget(tab.action_chart)
    label = "MPJPE, Protocol 2 test set S9+S11 (synthetic data, not Human3.6M)"
    results = [dict(model=m, label=f"{m} (untrained weights)", trained=False, num_samples=64, mpjpe_mm=399.0,
                    headline_metric="mpjpe", labels={"mpjpe": label},
                    per_action_mpjpe_mm={a: 380.0 + i for i, a in enumerate(ACTIONS)},
                    per_joint_mpjpe_mm={j: 300.0 + i for i, j in enumerate(JOINTS)})
               for m in ("posenet-r50", "convnextpose-xs", "mhp-lpski-w0.5")]
    tab.results.show_results(results, {"posenet-r50": [50.0 + i for i in range(len(ACTIONS))]}, ACTIONS)
    _resize(qtbot, benchmark_window, *size)
    chart = tab.joint_chart
    tab.charts.setCurrentWidget(chart)
    qtbot.waitUntil(lambda: chart.isVisible() and chart.width() > 100, timeout=3_000)
    axis = chart.getAxis("bottom")
    _label_rects(axis)
    qtbot.wait(100)
    inside = QRectF(chart.viewport().rect()).adjusted(-1, -1, 1, 1)
    assert inside.contains(chart.plotItem.sceneBoundingRect()), (chart.plotItem.sceneBoundingRect(), inside)
    title = chart.plotItem.titleLabel.item
    m = title.document().documentMargin()  # blank space around the text, may overhang the widget's top
    text = title.mapRectToScene(title.boundingRect().adjusted(m, m, -m, -m))
    assert inside.contains(text), (title.toPlainText(), text, inside)
    rects = [axis.mapRectToScene(r) for r in _label_rects(axis)]
    assert len(rects) == len(JOINTS)
    _assert_apart(rects, inside)


@pytest.mark.parametrize("size", SIZES)
def test_the_results_table_fits_without_sideways_scrolling(benchmark_window, qtbot, size):
    tab = benchmark_window.benchmark_tab
    results = [dict(model=m, label=f"{m} (untrained weights)", trained=False, num_samples=64, mpjpe_mm=399.0,
                    pa_mpjpe_mm=120.25, pa_mpjpe_similarity_mm=110.5, headline_metric="mpjpe",
                    published={"metric": "mpjpe", "value": 53.3, "difference_mm": 345.7, "source": "paper"})
               for m in ("posenet-r50", "convnextpose-xs", "integral-r152-384x288")]
    tab.results.show_results(results, {}, ACTIONS)
    _resize(qtbot, benchmark_window, *size)
    table = tab.results.table
    qtbot.waitUntil(lambda: table.isVisible() and table.viewport().width() > 100, timeout=3_000)
    qtbot.wait(100)
    assert table.horizontalScrollBar().maximum() == 0, [table.columnWidth(c) for c in range(table.columnCount())]
    diff = table.item(0, table.columnCount() - 1)
    assert table.visualItemRect(diff).right() <= table.viewport().width(), "the Diff. column is in view"
    assert table.item(2, 0).toolTip().startswith("integral-r152-384x288"), "a cut model name is in its tooltip"


@pytest.mark.parametrize("width", [260, 420, 1400])
def test_category_labels_stay_apart_at_any_chart_width(qtbot, width):
    from gui.charts import BarChart

    chart = BarChart("Per action")
    qtbot.addWidget(chart)
    chart.resize(width, 300)
    chart.set_data(ACTIONS, {"a": list(range(1, len(ACTIONS) + 1))})
    chart.show()
    qtbot.waitExposed(chart)
    axis = chart.getAxis("bottom")
    _label_rects(axis)
    qtbot.wait(50)
    rects = _label_rects(axis)
    _assert_apart(rects, axis.boundingRect())
    if width >= 420:
        assert len(rects) == len(ACTIONS)


def test_the_2d_caption_wraps_to_its_view(qapp):
    from PySide6.QtGui import QFont, QFontMetrics

    from gui.video_view import caption_lines

    font = QFont()
    font.setBold(True)
    font.setPointSize(9)
    fm = QFontMetrics(font)
    text = "2D joints: integral-r152-384x288 (untrained weights, random output)"
    for width in (120, 240, 285, 600):
        lines = caption_lines(text, fm, width)
        assert 1 <= len(lines) <= 3
        assert all(fm.horizontalAdvance(x) <= width for x in lines), (width, lines)
    assert caption_lines(text, fm, 2000) == [text]
    assert " ".join(caption_lines(text, fm, 240)) == text  # wrapped, nothing dropped


def test_messages_drop_what_the_fonts_cannot_draw(qtbot):
    from gui.messages import MessageArea

    area = MessageArea()
    qtbot.addWidget(area)
    raw = ("\x1b[31myolo11n.pt\x1b[0m \u26a0\ufe0f failed \U0001f4a1 retry\u200b; "
           "conf \u2265 0.25, 640\u00d7480 \u2192 ok")
    area.post("warning", raw)
    shown = area.item(0).text()
    assert "yolo11n.pt" in shown and "conf >= 0.25, 640x480 -> ok" in shown, shown
    assert all(ord(ch) <= 0xFFFF and (ch.isprintable() or ch == " ") for ch in shown), ascii(shown)
    assert "\ufe0f" not in shown and "\u200b" not in shown
    assert area.messages("warning") == [raw]  # the full text is kept as it came
