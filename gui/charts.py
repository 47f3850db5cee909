"""Grouped bar charts (pyqtgraph BarGraphItem) for per-action and per-joint errors; no matplotlib on the GUI thread.

The legend sits in its own row under the plot, never over the bars, and the axis is plain millimetres (no SI prefix
such as "kmm" for large errors). ``bar_heights`` reads the drawn heights back from the plot items (tests, export).
Category labels that would touch go on two staggered rows, then upright, so none overlaps at any width.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QApplication, QWidget

SERIES_COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"]
PUBLISHED_COLOUR = "#9c9c9c"
LABEL_GAP = 4.0  # px between neighbouring category labels
TITLE_PT = 9  # small enough for a half-width chart at 1024 px


class CategoryAxis(pg.AxisItem):
    """A bottom axis for category names: one row while the labels fit side by side, two staggered rows when they
    would touch, upright text (every k-th label when even that is too tight) on a narrow chart. ``label_rects``
    holds the drawn labels' rectangles in axis coordinates (tests)."""

    def __init__(self) -> None:
        super().__init__("bottom", hideOverlappingLabels=False)
        self.layout_mode = "flat"
        self.label_rects: list[QRectF] = []
        self._in_specs = False

    def _updateMaxTextSize(self, x: int) -> None:  # noqa: N802 - pyqtgraph API
        if not self._in_specs:  # the base class's own call is replaced by the arranged extent below
            super()._updateMaxTextSize(x)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        """While the labels are laid out, room past the ends: an end label is moved inward, not dropped."""
        r = super().boundingRect()
        return r.adjusted(-200, 0, 200, 0) if self._in_specs else r

    def generateDrawSpecs(self, p):  # noqa: N802 - pyqtgraph API
        self._in_specs = True
        try:
            specs = super().generateDrawSpecs(p)
        finally:
            self._in_specs = False
        if specs is None:
            return None
        axis_spec, tick_specs, text_specs = specs
        text_specs, extent = self._arrange(text_specs)
        self._updateMaxTextSize(int(math.ceil(extent)))
        return axis_spec, tick_specs, text_specs

    def _arrange(self, specs: list) -> tuple[list, float]:
        """Pick the layout for these labels; returns the specs to draw and the text extent below the axis."""
        if not specs:
            self.layout_mode, self.label_rects = "flat", []
            return specs, 0.0
        lo, hi = super().boundingRect().left(), super().boundingRect().right()
        ws = [r.width() for r, _, _ in specs]
        xs = [min(max(r.center().x(), lo + w / 2), hi - w / 2) for (r, _, _), w in zip(specs, ws, strict=True)]
        h = max(r.height() for r, _, _ in specs)
        flat = [(QRectF(x - w / 2, r.top(), w, r.height()), f, t) for x, w, (r, f, t) in zip(xs, ws, specs,
                                                                                            strict=True)]

        def fits(step: int) -> bool:
            return all(xs[i + step] - xs[i] >= (ws[i] + ws[i + step]) / 2 + LABEL_GAP
                       for i in range(len(xs) - step))

        if fits(1):
            self.layout_mode, out, extent = "flat", flat, h
        elif fits(2):
            self.layout_mode, extent = "staggered", 2 * h + 1
            out = [(r.translated(0, h + 1) if i % 2 else r, f, t) for i, (r, f, t) in enumerate(flat)]
        else:
            self.layout_mode, extent = "upright", max(ws)
            centres = [min(max(r.center().x(), lo + h / 2), hi - h / 2) for r, _, _ in specs]
            spacing = min((b - a for a, b in zip(centres, centres[1:], strict=False)), default=h + LABEL_GAP)
            keep = max(1, math.ceil((h + LABEL_GAP) / max(spacing, 1e-6)))
            out = [(QRectF(x - h / 2, r.top(), h, r.width()), f, t)
                   for i, (x, (r, f, t)) in enumerate(zip(centres, specs, strict=True)) if i % keep == 0]
        self.label_rects = [r for r, _, _ in out]
        return out, extent

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs):  # noqa: N802, N803 - pyqtgraph API
        if self.layout_mode != "upright":
            super().drawPicture(p, axisSpec, tickSpecs, textSpecs)
            return
        super().drawPicture(p, axisSpec, tickSpecs, [])
        for rect, _flags, text in textSpecs:  # read bottom to top, ending at the axis
            p.save()
            p.translate(rect.center().x(), rect.top())
            p.rotate(-90)
            p.drawText(QRectF(-rect.height(), -rect.width() / 2, rect.height(), rect.width()),
                       int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), text)
            p.restore()


class BarChart(pg.PlotWidget):
    """Categories on x, one bar per series; ``set_data`` replaces the bars (a handful of items, not per frame)."""

    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent=parent, background="#15171c", axisItems={"bottom": CategoryAxis()})
        left = self.getAxis("left")
        left.enableAutoSIPrefix(False)  # "error (mm)" always, never "kmm" for untrained (metre-sized) errors
        self.setLabel("left", "error (mm)")
        self.showGrid(y=True, alpha=0.25)
        self.setMouseEnabled(x=True, y=False)
        self.setMinimumHeight(150)
        # the legend has its own row under the bottom axis: it can never cover the tops of the bars
        self.legend = pg.LegendItem(colCount=4, brush=pg.mkBrush(21, 23, 28, 215))
        self.plotItem.layout.addItem(self.legend, 4, 1)
        self._items: list[pg.BarGraphItem] = []
        self.categories: list[str] = []
        self.series: dict[str, list[float]] = {}
        self._title = title
        self._shown_title: str | None = None
        self._fit_title()

    def set_data(self, categories: Sequence[str], series: Mapping[str, Sequence[float | None]],
                 title: str | None = None) -> None:
        for it in self._items:
            self.removeItem(it)
        self._items.clear()
        self.legend.clear()
        if title is not None:
            self._title = title
            self._fit_title()
        self.categories = list(categories)
        self.series = {k: [np.nan if v is None else float(v) for v in vals] for k, vals in series.items()}
        n = max(1, len(self.series))
        width = 0.8 / n
        x = np.arange(len(self.categories), dtype=float)
        for k, (name, vals) in enumerate(self.series.items()):
            colour = PUBLISHED_COLOUR if name.startswith("published") else SERIES_COLOURS[k % len(SERIES_COLOURS)]
            h = np.nan_to_num(np.asarray(vals, float), nan=0.0)
            bars = pg.BarGraphItem(x=x + (k - (n - 1) / 2) * width, height=h, width=width * 0.95, brush=colour,
                                   pen=pg.mkPen(None), name=name)
            self.addItem(bars)
            self.legend.addItem(bars, name)
            self._items.append(bars)
        self._fit_legend()
        self._refit_plot()
        axis = self.getAxis("bottom")
        axis.setTicks([[(i, abbreviate(c)) for i, c in enumerate(self.categories)]])
        self.setXRange(-0.6, max(0.6, len(self.categories) - 0.4), padding=0)
        top = max([np.nanmax(v) for v in self.series.values() if np.isfinite(v).any()] or [1.0])
        self.setYRange(0, top * 1.08, padding=0)
        self.setToolTip(", ".join(f"{abbreviate(c)} = {c}" for c in self.categories if abbreviate(c) != c))

    def _fit_legend(self) -> None:
        """As many legend columns as the width holds: a wide legend row would widen the plot past the widget."""
        n = max(1, len(self.series))
        longest = max((len(k) for k in self.series), default=10)
        per_col = 40 + 7 * longest
        self.legend.setColumnCount(max(1, min(n, max(1, self.width() - 60) // per_col)))

    def title_lines(self, width: float) -> list[str]:
        """The title as drawn in ``width`` px: a qualifier in brackets (synthetic or partial data) on its own line
        when the whole does not fit or is long, then each line elided rather than run off the edge."""
        font = QFont(self.font())
        font.setPointSizeF(TITLE_PT)
        fm = QFontMetricsF(font)
        head, sep, rest = self._title.partition(" (")
        if sep and (len(self._title) > 60 or fm.horizontalAdvance(self._title) > width):
            lines = [head, f"({rest}"]
        else:
            lines = [self._title]
        return [fm.elidedText(x, Qt.TextElideMode.ElideRight, max(width, 1.0)) for x in lines]

    def _fit_title(self) -> None:
        """The title fitted to the plot column (the text item has a 4 px margin each side): a title wider than the
        column widens the whole plot past the widget."""
        if not self._title:
            return
        room = self.width() - self.getAxis("left").minimumWidth() - 16
        shown = "<br>".join(escape(x) for x in self.title_lines(room))
        if shown != self._shown_title:
            self._shown_title = shown
            self.setTitle(shown, size=f"{TITLE_PT}pt")
            self.plotItem.titleLabel.setToolTip(self._title)

    def _refit_plot(self) -> None:
        """The plot back to the widget's size: Qt clamps it to the minimum the items had when it was last sized (a
        chart filled while its tab was hidden kept the wider legend or title of that moment), and never shrinks it
        once they narrow."""
        if self.autoPixelRange:
            self.plotItem.setGeometry(QRectF(0, 0, self.width(), self.height()))

    def resizeEvent(self, ev) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(ev)
        if hasattr(self, "legend") and not self.closed:  # not before __init__ is done nor after close()
            self._fit_legend()
            self._fit_title()
            self._refit_plot()

    def showEvent(self, ev) -> None:  # noqa: N802 - Qt API
        super().showEvent(ev)
        if not self.closed:
            self._refit_plot()

    def bar_heights(self) -> dict[str, list[float]]:
        """Per series, the heights of the bars as drawn (read back from the plot items), in category order."""
        out = {}
        for it in self._items:
            xs, hs = np.asarray(it.opts["x"], float), np.asarray(it.opts["height"], float)
            out[it.name()] = [float(h) for _, h in sorted(zip(xs, hs, strict=True))]
        return out

    def render_png(self, path: str | Path, width: int = 1400, height: int = 640) -> Path:
        """The same chart (bars, published bars, legend, order) drawn off screen at a fixed size, written atomically:
        the PNG export is what the window shows."""
        from models.fileio import atomic_path

        copy = BarChart(self._title)
        copy.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        copy.resize(width, height)
        copy.set_data(self.categories, self.series)
        copy.show()
        QApplication.processEvents()
        dest = Path(path)
        try:
            with atomic_path(dest) as tmp:
                if not copy.grab().save(str(tmp), "PNG"):
                    raise OSError(f"{dest}: Qt could not write the PNG")
        finally:
            copy.close()
            copy.deleteLater()
        return dest


ACTION_ABBREVIATIONS = {
    "Directions": "Dir", "Discussion": "Disc", "Eating": "Eat", "Greeting": "Greet", "Phoning": "Phone",
    "Posing": "Pose", "Purchases": "Purch", "Sitting": "Sit", "SittingDown": "SitD", "Smoking": "Smoke",
    "Photo": "Photo", "Waiting": "Wait", "Walking": "Walk", "WalkDog": "WalkD", "WalkTogether": "WalkT",
}
_PARTS = {"Shoulder": "Sho", "Elbow": "Elb", "Wrist": "Wri", "Ankle": "Ank", "Knee": "Kne", "Pelvis": "Pelv",
          "Thorax": "Thor", "Torso": "Tors"}


def abbreviate(name: str) -> str:
    """Short tick labels (the papers' action abbreviations; joints like R_Shoulder -> RSho)."""
    if name in ACTION_ABBREVIATIONS:
        return ACTION_ABBREVIATIONS[name]
    side, _, part = name.partition("_") if name[:2] in ("L_", "R_") else ("", "", name)
    return side + _PARTS.get(part, part)
