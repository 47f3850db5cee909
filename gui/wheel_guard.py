"""The mouse wheel changes a combo box, spin box or slider only while it has keyboard focus: scrolling a side panel
that passes over one scrolls the panel instead (an app-wide event filter calls ``wheel_without_focus``).

Qt gives a wheel-focus widget the focus *before* any event filter sees a real (spontaneous) wheel event, so the guard
alone cannot tell a focused box from one the wheel just focused: ``no_wheel_focus`` takes the wheel-focus policy
away from every guarded control when it is polished (before it is first shown), ``no_wheel_focus_below`` from
those that exist when the filter is installed."""

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


def no_wheel_focus(obj: QObject, ev: QEvent) -> None:
    """For an event filter: a guarded control being polished keeps click and Tab focus, loses wheel focus."""
    if ev.type() == QEvent.Type.Polish and isinstance(obj, GUARDED):
        if obj.focusPolicy() == Qt.FocusPolicy.WheelFocus:
            obj.setFocusPolicy(Qt.FocusPolicy.StrongFocus)


def no_wheel_focus_below(root: QWidget) -> None:
    """The same for the controls that already exist (a size hint polishes them before the filter is installed)."""
    for w in root.findChildren(QWidget):
        if isinstance(w, GUARDED) and w.focusPolicy() == Qt.FocusPolicy.WheelFocus:
            w.setFocusPolicy(Qt.FocusPolicy.StrongFocus)


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
