"""The mouse wheel changes a combo box, spin box or slider only while it has keyboard focus: scrolling a side panel
that passes over one scrolls the panel instead (an app-wide event filter calls ``wheel_without_focus``)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QScrollBar,
    QWidget,
)

GUARDED = (QComboBox, QAbstractSpinBox, QAbstractSlider)


def _guarded(obj: QObject) -> QWidget | None:
    w = obj if isinstance(obj, QWidget) else None
    while w is not None:  # a spin box's line edit or a combo's view also count as the control
        if isinstance(w, QScrollBar):
            return None  # scroll bars keep their wheel
        if isinstance(w, GUARDED):
            return w
        if w.isWindow():
            return None
        w = w.parentWidget()
    return None


def wheel_without_focus(obj: QObject, ev: QEvent) -> bool:
    """For an event filter: True (eat it) when ``ev`` is a wheel event on an unfocused guarded control; the event is
    handed to the enclosing scroll area so the panel still scrolls."""
    if ev.type() != QEvent.Type.Wheel:
        return False
    w = _guarded(obj)
    if w is None or w.hasFocus():
        return False
    if w.focusPolicy() == Qt.FocusPolicy.WheelFocus:
        w.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the wheel must not take focus either
    area = w.parentWidget()
    while area is not None and not isinstance(area, QAbstractScrollArea):
        area = area.parentWidget()
    if area is not None:
        QApplication.sendEvent(area.viewport(), ev)
    return True
