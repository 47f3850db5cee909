"""The checkable model list shared by the Live and Benchmark tabs: one model per row, its name in UserRole.

Why shared: both tabs must agree on which models can run (a model without weights that can run untrained is
tinted; one that cannot, such as an imported ONNX graph, is disabled) and on how the checked names are read back.
"""

from __future__ import annotations

from collections.abc import Collection

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from gui.controllers.models import ModelRow

UNTRAINED_COLOUR = QColor("#e8a33d")


def runnable(row: ModelRow) -> bool:
    """Trained weights, or a model that can run with random ("untrained") weights (the controller decides which)."""
    return row.runnable


def model_item(row: ModelRow, text: str, checked: bool) -> QListWidgetItem:
    """A checkable entry for ``row``: disabled (and never checked) when it cannot run, tinted when untrained."""
    usable = runnable(row)
    item = QListWidgetItem(text)
    item.setData(Qt.ItemDataRole.UserRole, row.name)
    flags = item.flags() | Qt.ItemFlag.ItemIsUserCheckable
    if not usable:
        flags &= ~Qt.ItemFlag.ItemIsEnabled
    item.setFlags(flags)
    item.setCheckState(Qt.CheckState.Checked if checked and usable else Qt.CheckState.Unchecked)
    if not row.has_weights:
        item.setForeground(UNTRAINED_COLOUR)
    return item


def checked_names(model_list: QListWidget) -> list[str]:
    """The checked models' names, in list order."""
    items = (model_list.item(i) for i in range(model_list.count()))
    return [it.data(Qt.ItemDataRole.UserRole) for it in items
            if it.data(Qt.ItemDataRole.UserRole) and it.checkState() == Qt.CheckState.Checked]


def check_only(model_list: QListWidget, names: Collection[str]) -> set[str]:
    """Check exactly the entries named in ``names``; returns every name in the list."""
    known = set()
    for i in range(model_list.count()):
        it = model_list.item(i)
        name = it.data(Qt.ItemDataRole.UserRole)
        if not name:
            continue  # a group header
        known.add(name)
        it.setCheckState(Qt.CheckState.Checked if name in names else Qt.CheckState.Unchecked)
    return known
