"""The per-model 3D views side by side, with linked cameras and a capped refresh rate.

Cameras are linked: orbiting or zooming one view copies distance/elevation/azimuth/fov/center to all others.
Painting is pulled by a QTimer (default 30 Hz) that takes the newest frame from a callable, so a fast engine
never floods the GUI thread and a slow one never blocks it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from gui.skeleton_view import LinkedGLView, SkeletonView


@dataclass(frozen=True)
class ViewInfo:
    name: str
    joint_set: str
    label: str
    trained: bool


class ViewGrid(QWidget):
    """Grid of SkeletonViews; ``painted`` fires after each refresh that drew a new frame."""

    painted = Signal(object)  # the LiveFrame that was drawn

    def __init__(self, parent: QWidget | None = None, refresh_hz: float = 30.0,
                 placeholder: str = "Choose models and press Start (Ctrl+R) to see their 3D skeletons here.") -> None:
        super().__init__(parent)
        self.views: dict[str, SkeletonView] = {}
        self.absolute = False
        self.last_frame = None
        self._order: list[str] = []
        self._cols = 0
        self._source: Callable[[], object | None] | None = None
        self._last_seq: int | None = None
        self._layout = QGridLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)
        self._placeholder = QLabel(placeholder)
        self._placeholder.setWordWrap(True)
        self._layout.addWidget(self._placeholder, 0, 0)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        self.set_refresh_hz(refresh_hz)

    # --- views --------------------------------------------------------------------------------------------------
    def set_views(self, infos: Sequence[ViewInfo]) -> None:
        """Show one view per model; views of models that stay are kept (their GL items are reused)."""
        wanted = {i.name: i for i in infos}
        for name in list(self.views):
            if name not in wanted or wanted[name].joint_set != self.views[name].joints.name:
                view = self.views.pop(name)
                self._layout.removeWidget(view)
                view.deleteLater()
        for info in infos:
            view = self.views.get(info.name)
            if view is None:
                view = SkeletonView(info.name, info.joint_set, info.label, info.trained)
                view.set_absolute(self.absolute)
                view.gl.sigCameraChanged.connect(self._on_camera_changed)
                self.views[info.name] = view
            else:
                view.set_model_info(info.label, info.trained)
        self._placeholder.setVisible(not self.views)
        self._order = [i.name for i in infos]
        self._cols = 0
        self._arrange()
        if self.views:
            first = next(iter(self.views.values()))
            self._on_camera_changed(first.gl)  # start in sync
        self._last_seq = None

    def _arrange(self) -> None:
        """Place the views in the column count that gives the largest tiles for this widget's shape."""
        cols = best_columns(len(self._order), self.width(), self.height())
        if cols == self._cols:
            return
        self._cols = cols
        for name in self._order:
            self._layout.removeWidget(self.views[name])
        for k, name in enumerate(self._order):
            self._layout.addWidget(self.views[name], k // cols, k % cols)

    def resizeEvent(self, ev) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(ev)
        if self._order:
            self._arrange()

    def set_highlight(self, joints_by_model: dict) -> None:
        """{model: [joint indices]} from the Compare panel: those joints are marked in that model's view."""
        for name, view in self.views.items():
            view.set_highlight(list(joints_by_model.get(name, [])))

    def set_absolute(self, absolute: bool) -> None:
        self.absolute = absolute
        for v in self.views.values():
            v.set_absolute(absolute)
        self._last_seq = None  # redraw the current frame in the new placement

    def reset_cameras(self) -> None:
        for v in self.views.values():
            v.apply_default_camera()

    def _on_camera_changed(self, src: LinkedGLView) -> None:
        state = src.camera_state()
        for v in self.views.values():
            if v.gl is not src:
                v.gl.apply_camera_state(state)

    # --- refresh ------------------------------------------------------------------------------------------------
    def set_refresh_hz(self, hz: float) -> None:
        self.refresh_hz = max(1.0, float(hz))
        self.timer.setInterval(int(round(1000.0 / self.refresh_hz)))

    def start(self, source: Callable[[], object | None]) -> None:
        """Begin pulling frames from ``source()`` (returns the newest LiveFrame or None)."""
        self._source = source
        self._last_seq = None
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def refresh(self) -> bool:
        """Draw the newest frame if it is new; returns whether anything was drawn."""
        frame = self._source() if self._source is not None else None
        if frame is None or frame.seq == self._last_seq:
            return False
        self._last_seq = frame.seq
        self.show_frame(frame)
        self.painted.emit(frame)
        return True

    def show_frame(self, frame) -> None:
        self.last_frame = frame
        for name, view in self.views.items():
            out = frame.models.get(name)
            if out is None:
                view.set_poses(None)
                continue
            persons = 0 if out.joints_rel_mm is None else len(out.joints_rel_mm)
            view.set_stats(out.fps if out.fps is not None else frame.fps, out.latency_ms, persons)
            view.set_placement(out.placement)
            view.set_poses(out.joints_rel_mm, out.joints_cam_mm)


def best_columns(n: int, width: int, height: int, aspect: float = 0.8) -> int:
    """Columns maximising the usable tile size, a tile being used up to ``aspect`` (w/h) wide: skeletons are
    taller than wide, so tall tiles are fine and very wide ones waste space."""
    if n <= 1 or width <= 0 or height <= 0:
        return max(1, n if width <= 0 or height <= 0 else 1)
    best, best_size = 1, -1.0
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        w, h = width / cols, height / rows
        size = min(w, h * aspect)
        if size > best_size + 1e-6:
            best, best_size = cols, size
    return best
