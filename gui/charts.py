"""Grouped bar charts (pyqtgraph BarGraphItem) for per-action and per-joint errors; no matplotlib on the GUI thread."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

SERIES_COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"]
PUBLISHED_COLOUR = "#9c9c9c"


class BarChart(pg.PlotWidget):
    """Categories on x, one bar per series; ``set_data`` replaces the bars (a handful of items, not per frame)."""

    def __init__(self, title: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent=parent, background="#15171c")
        self.setTitle(title)
        self.setLabel("left", "error", units="mm")
        self.showGrid(y=True, alpha=0.25)
        self.setMouseEnabled(x=True, y=False)
        self.legend = self.addLegend(offset=(-10, 10), brush=pg.mkBrush(21, 23, 28, 215))
        self._items: list[pg.GraphicsObject] = []
        self.categories: list[str] = []
        self.series: dict[str, list[float]] = {}

    def set_data(self, categories: Sequence[str], series: Mapping[str, Sequence[float | None]],
                 title: str | None = None) -> None:
        for it in self._items:
            self.removeItem(it)
        self._items.clear()
        self.legend.clear()
        if title is not None:
            self.setTitle(title)
        self.categories = list(categories)
        self.series = {k: [np.nan if v is None else float(v) for v in vals] for k, vals in series.items()}
        n = max(1, len(self.series))
        width = 0.8 / n
        x = np.arange(len(self.categories), dtype=float)
        for k, (name, vals) in enumerate(self.series.items()):
            colour = PUBLISHED_COLOUR if name.startswith("published") else SERIES_COLOURS[k % len(SERIES_COLOURS)]
            h = np.nan_to_num(np.asarray(vals, float), nan=0.0)
            bars = pg.BarGraphItem(x=x + (k - (n - 1) / 2) * width, height=h, width=width * 0.95, brush=colour,
                                   pen=pg.mkPen(None))
            self.addItem(bars)
            self.legend.addItem(bars, name)
            self._items.append(bars)
        axis = self.getAxis("bottom")
        axis.setTicks([[(i, abbreviate(c)) for i, c in enumerate(self.categories)]])
        self.setXRange(-0.6, max(0.6, len(self.categories) - 0.4), padding=0)
        top = max([np.nanmax(v) for v in self.series.values() if np.isfinite(v).any()] or [1.0])
        self.setYRange(0, top * (1.15 + 0.07 * len(self.series)), padding=0)  # headroom for the legend
        self.setToolTip(", ".join(f"{abbreviate(c)} = {c}" for c in self.categories if abbreviate(c) != c))


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
