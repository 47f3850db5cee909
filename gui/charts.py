"""Grouped bar charts (pyqtgraph BarGraphItem) for per-action and per-joint errors; no matplotlib on the GUI thread.

The legend sits in its own row under the plot, never over the bars, and the axis is plain millimetres (no SI prefix
such as "kmm" for large errors). ``bar_heights`` reads the drawn heights back from the plot items (tests, export).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

SERIES_COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"]
PUBLISHED_COLOUR = "#9c9c9c"


class BarChart(pg.PlotWidget):
    """Categories on x, one bar per series; ``set_data`` replaces the bars (a handful of items, not per frame)."""

    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent=parent, background="#15171c")
        self.setTitle(title)
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

    def set_data(self, categories: Sequence[str], series: Mapping[str, Sequence[float | None]],
                 title: str | None = None) -> None:
        for it in self._items:
            self.removeItem(it)
        self._items.clear()
        self.legend.clear()
        if title is not None:
            self._title = title
            # small enough for a half-width chart at 1024 px; a qualifier in brackets (synthetic or partial data)
            # goes on its own line rather than off the edge
            head, sep, rest = title.partition(" (")
            shown = f"{escape(head)}<br>({escape(rest)}" if sep and len(title) > 60 else escape(title)
            self.setTitle(shown, size="9pt")
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

    def resizeEvent(self, ev) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(ev)
        if hasattr(self, "legend"):
            self._fit_legend()

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
