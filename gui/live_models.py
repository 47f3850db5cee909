"""The Live tab's model list: trained models first, the ones without weights under a collapsed "needs weights"
group, a question the first time an untrained model is ticked, and a word when the ticks change while live runs.

Why grouped: a new user's list was a wall of orange "untrained" rows above the few models that mean something; an
untrained model's poses are random, so choosing one is a decision (speed tests only), asked about once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QMessageBox, QWidget

from gui.controllers.models import ModelRow
from gui.model_picker import model_item, runnable

GROUP_ROLE = Qt.ItemDataRole.UserRole + 1  # marks the "needs weights" header row


def _group_text(n: int, expanded: bool) -> str:
    return f"{'▾' if expanded else '▸'} Needs weights ({n})"


def fill_model_list(model_list: QListWidget, rows: Iterable[ModelRow], keep: Iterable[str],
                    expanded: bool = False) -> None:
    """Trained models, then the group header and the models without weights (hidden while collapsed, except
    those ticked: a chosen model is never out of sight)."""
    keep = set(keep)
    rows = list(rows)
    trained = [r for r in rows if r.has_weights]
    others = [r for r in rows if not r.has_weights]
    model_list.blockSignals(True)
    model_list.clear()
    for r in trained + others:
        if r is (others[0] if others else None):
            header = QListWidgetItem(_group_text(len(others), expanded))
            header.setData(GROUP_ROLE, True)
            header.setFlags(Qt.ItemFlag.ItemIsEnabled)
            header.setToolTip("Models without weights run with random weights: their poses mean nothing (speed "
                              "tests only). Import weights in the Models tab. Click to show or hide them.")
            model_list.addItem(header)
        usable = runnable(r)
        status = "✓" if r.has_weights else ("untrained" if usable else "no weights")
        item = model_item(r, f"{r.name}   {status}", r.name in keep)
        gm = f", {r.gmacs:g} GMACs" if r.gmacs else ""
        why = r.weights_text if usable else "no weights, and an ONNX model cannot run untrained"
        item.setToolTip(f"{r.name}: {r.variant} ({r.family}{gm}); {why}")
        model_list.addItem(item)
        if not r.has_weights:
            item.setHidden(not expanded and item.checkState() != Qt.CheckState.Checked)
    model_list.blockSignals(False)


def is_group(item: QListWidgetItem | None) -> bool:
    return item is not None and bool(item.data(GROUP_ROLE))


def toggle_group(model_list: QListWidget) -> bool:
    """Show or hide the untrained models (ticked ones stay shown); returns whether the group is now expanded."""
    header = next((model_list.item(i) for i in range(model_list.count()) if is_group(model_list.item(i))), None)
    if header is None:
        return False
    expanded = header.text().startswith("▸")
    rows = [model_list.item(i) for i in range(model_list.row(header) + 1, model_list.count())]
    header.setText(_group_text(len(rows), expanded))
    for it in rows:
        it.setHidden(not expanded and it.checkState() != Qt.CheckState.Checked)
    return expanded


def show_checked(model_list: QListWidget) -> None:
    """Ticked models are never hidden in the collapsed group (after ticks set in code)."""
    for i in range(model_list.count()):
        it = model_list.item(i)
        if it.isHidden() and it.checkState() == Qt.CheckState.Checked:
            it.setHidden(False)


def ask_untrained(parent: QWidget, name: str) -> bool:
    """Asked once per session, the first time an untrained model is ticked."""
    answer = QMessageBox.question(
        parent, "Untrained model",
        f"{name} has no weights. It would run with random weights: speed tests only, its poses mean nothing.\n\n"
        "Use it anyway? (Import its weights in the Models tab for real poses.)",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


class ModelTicks:
    """What a tick in the Live tab's list does: asks once about untrained models, and while live runs says that
    the change applies at the next start (the engine loads its models when it starts)."""

    def __init__(self, parent: QWidget, rows: Callable[[], dict[str, ModelRow]], running: Callable[[], bool],
                 say: Callable[[str, str], None]) -> None:
        self.parent, self.rows, self.running, self.say = parent, rows, running, say
        self.untrained_ok = False
        self.ask: Callable[[QWidget, str], bool] = ask_untrained

    def on_changed(self, item: QListWidgetItem) -> None:
        name = item.data(Qt.ItemDataRole.UserRole)
        row = self.rows().get(name) if name else None
        if row is None:
            return
        on = item.checkState() == Qt.CheckState.Checked
        if on and not row.has_weights and not self.untrained_ok:
            if not self.ask(self.parent, name):
                lst = item.listWidget()
                lst.blockSignals(True)
                item.setCheckState(Qt.CheckState.Unchecked)
                lst.blockSignals(False)
                return
            self.untrained_ok = True
        if self.running():
            self.say("info", f"{name} {'added' if on else 'removed'}: the live view shows it after a restart (the "
                             "models load when it starts). Press Ctrl+R twice to restart now.")
