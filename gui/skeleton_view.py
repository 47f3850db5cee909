"""One 3D skeleton view per model: a pyqtgraph GLViewWidget with a ground grid, bones and joints.

GL items are created once (a pool of person slots that only grows) and updated with ``setData``; rebuilding items
per frame leaks GL buffers and stutters. The title overlay (label, FPS, latency, untrained badge) is painted into the
GL frame with QPainter so screenshots and framebuffer grabs show it.
Coordinates: camera millimetres (x right, y down, z forward) are drawn in metres with GL z up:
``X = x, Y = z, Z = -y``. Seen from azimuth -90 the 3D view therefore matches the video's left/right.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph.opengl as gl
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter
from PySide6.QtOpenGL import QOpenGLPaintDevice
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

from models.joints import JointSet, get_joint_set

SIDE_RGBA = {
    "L": (0.25, 0.62, 1.0, 1.0),  # left limbs blue
    "R": (1.0, 0.38, 0.30, 1.0),  # right limbs red
    "C": (0.92, 0.92, 0.92, 1.0),  # spine and head light grey
}
BACKGROUND = (22, 24, 30)
FLOOR_REL_M = -0.9  # root-relative mode: pelvis at 0, floor roughly one leg length below
FLOOR_ABS_M = -1.3  # absolute mode: camera at the origin, about chest/desk height
PERSON_SPACING_M = 1.0  # root-relative mode: persons side by side
DEFAULT_CAMERA = {
    False: {"distance": 3.6, "elevation": 12.0, "azimuth": -70.0, "center": (0.0, 0.0, -0.15)},
    True: {"distance": 7.5, "elevation": 22.0, "azimuth": -60.0, "center": (0.0, 3.5, -0.4)},
}


def camera_mm_to_gl(points_mm: np.ndarray) -> np.ndarray:
    """[..., 3] camera mm (y down, z forward) -> GL metres (z up, y forward)."""
    p = np.asarray(points_mm, dtype=np.float32) / 1000.0
    return np.stack([p[..., 0], p[..., 2], -p[..., 1]], axis=-1)


def bone_colours(joints: JointSet, shade: float = 1.0) -> np.ndarray:
    """Per-vertex RGBA for ``mode='lines'``: a bone is L or R when either end is, else centre."""
    cols = []
    for a, b in joints.skeleton:
        sa, sb = joints.side(a), joints.side(b)
        side = sa if sa != "C" else sb
        rgba = np.array(SIDE_RGBA[side], dtype=np.float32)
        rgba[:3] *= shade
        cols += [rgba, rgba]
    return np.array(cols, dtype=np.float32)


def joint_colours(joints: JointSet, shade: float = 1.0) -> np.ndarray:
    cols = np.array([SIDE_RGBA[joints.side(j)] for j in range(joints.num_joints)], dtype=np.float32)
    cols[:, :3] *= shade
    return cols


def wrap_text(fm: QFontMetrics, text: str, room: int) -> list[str]:
    """``text`` broken at spaces into lines no wider than ``room`` pixels (a word longer than that is elided): a
    narrow view shows the whole caption on more lines instead of cutting it."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and fm.horizontalAdvance(f"{lines[-1]} {word}") <= room:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(fm.elidedText(word, Qt.TextElideMode.ElideRight, room))
    return lines or [""]


class LinkedGLView(gl.GLViewWidget):
    """GLViewWidget that announces every camera change (mouse, wheel, keys or code) so views can be linked."""

    sigCameraChanged = Signal(object)  # emits self

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.overlay: list[tuple[str, str, str | None]] = []  # (text, colour, background or None), top-left

    def paintGL(self) -> None:  # noqa: N802 - Qt API
        super().paintGL()
        if self.overlay:
            self._paint_overlay()

    def _paint_overlay(self) -> None:
        """Title lines drawn into the GL frame itself, so framebuffer grabs and screenshots include them."""
        # An explicit GL paint device: QPainter(self) would be redirected away during QWidget.grab()/render().
        dpr = self.devicePixelRatioF()
        device = QOpenGLPaintDevice(int(self.width() * dpr), int(self.height() * dpr))
        device.setDevicePixelRatio(dpr)
        p = QPainter(device)
        try:
            font = QFont()
            font.setPointSize(9)
            font.setBold(True)
            p.setFont(font)
            fm = QFontMetrics(font)
            y = 6
            room = max(40, self.width() - 24)
            lines = [(part, c, b) for t, c, b in self.overlay for part in wrap_text(fm, t, room)]
            width = max(fm.horizontalAdvance(t) for t, _, _ in lines) + 12
            p.fillRect(QRectF(4, 4, width, len(lines) * (fm.height() + 2) + 6), QColor(8, 10, 14, 190))
            for text, colour, background in lines:
                if background:
                    p.fillRect(QRectF(8, y + 1, fm.horizontalAdvance(text) + 6, fm.height()), QColor(background))
                p.setPen(QColor(colour))
                p.drawText(11, y + fm.ascent(), text)
                y += fm.height() + 2
        finally:
            p.end()

    def orbit(self, azim, elev):  # noqa: D102 - pyqtgraph API
        super().orbit(azim, elev)
        self.sigCameraChanged.emit(self)

    def pan(self, dx, dy, dz, relative="global"):  # noqa: D102
        super().pan(dx, dy, dz, relative=relative)
        self.sigCameraChanged.emit(self)

    def wheelEvent(self, ev):  # noqa: D102
        super().wheelEvent(ev)
        self.sigCameraChanged.emit(self)

    def setCameraPosition(self, pos=None, distance=None, elevation=None, azimuth=None, rotation=None):  # noqa: D102
        super().setCameraPosition(pos=pos, distance=distance, elevation=elevation, azimuth=azimuth, rotation=rotation)
        self.sigCameraChanged.emit(self)

    def camera_state(self) -> dict:
        c = self.opts["center"]
        return {
            "distance": float(self.opts["distance"]),
            "elevation": float(self.opts["elevation"]),
            "azimuth": float(self.opts["azimuth"]),
            "fov": float(self.opts["fov"]),
            "center": (float(c.x()), float(c.y()), float(c.z())),
        }

    def apply_camera_state(self, state: dict, *, emit: bool = False) -> None:
        """Set the camera without emitting (used by the linker) unless ``emit``."""
        from pyqtgraph import Vector

        for key in ("distance", "elevation", "azimuth", "fov"):
            if key in state:
                self.opts[key] = float(state[key])
        if "center" in state:
            self.opts["center"] = Vector(*state["center"])
        self.update()
        if emit:
            self.sigCameraChanged.emit(self)


class _PersonItems:
    """Bones + joints of one person slot (created once, then only setData/setVisible)."""

    def __init__(self, view: gl.GLViewWidget, joints: JointSet, slot: int) -> None:
        shade = max(0.55, 1.0 - 0.15 * slot)
        self.n_bones = len(joints.skeleton)
        self.bone_index = np.array(joints.skeleton, dtype=np.int64).reshape(-1)
        self.lines = gl.GLLinePlotItem(
            pos=np.zeros((2 * self.n_bones, 3), np.float32), color=bone_colours(joints, shade),
            width=3.0, mode="lines", antialias=True, glOptions="translucent",
        )
        self.points = gl.GLScatterPlotItem(
            pos=np.zeros((joints.num_joints, 3), np.float32), color=joint_colours(joints, shade),
            size=7.0, pxMode=True, glOptions="translucent",
        )
        view.addItem(self.lines)
        view.addItem(self.points)
        self.base_colours = joint_colours(joints, shade)
        self.set_visible(False)

    def set_highlight(self, joints: list[int]) -> None:
        """Joints drawn large and yellow (the comparison's worst-agreeing ones); [] restores the normal look."""
        colours = np.array(self.base_colours, dtype=np.float32, copy=True).reshape(-1, 4)
        size = np.full(len(colours), 7.0, np.float32)
        idx = [j for j in joints if 0 <= j < len(colours)]
        colours[idx] = (1.0, 0.85, 0.1, 1.0)
        size[idx] = 16.0
        self.points.setData(color=colours, size=size)

    def set_pose(self, pts_gl: np.ndarray) -> None:
        self.lines.setData(pos=pts_gl[self.bone_index])
        self.points.setData(pos=pts_gl)
        self.set_visible(True)

    def set_visible(self, on: bool) -> None:
        self.lines.setVisible(on)
        self.points.setVisible(on)


class SkeletonView(QWidget):
    """3D skeletons of one model's persons, with a title overlay (label, FPS, latency, untrained badge)."""

    def __init__(self, name: str, joint_set: str, label: str | None = None, trained: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.joints = get_joint_set(joint_set)
        self.label = label or name
        self.trained = trained
        self.absolute = False
        self._persons: list[_PersonItems] = []
        self._items_ready = False
        self._deferred: tuple[np.ndarray | None, np.ndarray | None] | None = None
        self._stats = ""
        self._placement = ""
        self._highlight: list[int] = []
        self.frames_drawn = 0

        self.gl = LinkedGLView()
        self.gl.setBackgroundColor(BACKGROUND)
        self.gl.setMinimumSize(160, 140)
        self.gl.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.gl)

        self._render_title()
        self.apply_default_camera()

    # --- GL items: only after the widget is shown (pyqtgraph #1871) ---------------------------------------------
    def showEvent(self, ev) -> None:  # noqa: N802 - Qt API
        super().showEvent(ev)
        if not self._items_ready:
            self._create_static_items()
            if self._deferred is not None:
                self.set_poses(*self._deferred)
                self._deferred = None

    def _create_static_items(self) -> None:
        self._items_ready = True
        self.grid_rel = gl.GLGridItem(color=(200, 200, 200, 70))
        self.grid_rel.setSize(4, 4)
        self.grid_rel.setSpacing(0.5, 0.5)
        self.grid_rel.translate(0, 0, FLOOR_REL_M)
        self.grid_abs = gl.GLGridItem(color=(200, 200, 200, 70))
        self.grid_abs.setSize(8, 10)
        self.grid_abs.setSpacing(0.5, 0.5)
        self.grid_abs.translate(0, 5, FLOOR_ABS_M)
        self.camera_marker = gl.GLLinePlotItem(pos=_camera_marker(), color=(1.0, 0.85, 0.3, 0.9), width=2.0,
                                               mode="lines", glOptions="translucent")
        for item in (self.grid_rel, self.grid_abs, self.camera_marker):
            self.gl.addItem(item)
        self._sync_static_visibility()

    def _sync_static_visibility(self) -> None:
        if self._items_ready:
            self.grid_rel.setVisible(not self.absolute)
            self.grid_abs.setVisible(self.absolute)
            self.camera_marker.setVisible(self.absolute)

    # --- public API ---------------------------------------------------------------------------------------------
    def set_absolute(self, absolute: bool) -> None:
        """Absolute = persons at their camera position (RootNet depth); else root-relative, side by side."""
        if absolute != self.absolute:
            self.absolute = absolute
            self._sync_static_visibility()
            self.apply_default_camera()

    def apply_default_camera(self) -> None:
        self.gl.apply_camera_state(DEFAULT_CAMERA[self.absolute])

    def set_model_info(self, label: str, trained: bool) -> None:
        self.label, self.trained = label, trained
        self._render_title()

    def set_highlight(self, joints: list[int]) -> None:
        """Mark these joint indices (of this view's joint set) in every person; [] clears."""
        self._highlight = list(joints)
        for person in self._persons:
            person.set_highlight(self._highlight)

    def set_placement(self, text: str) -> None:
        """How the skeletons are placed in the camera (RootNet, the model's own 3D fit, a fixed depth)."""
        if text != self._placement:
            self._placement = text
            self._render_title()

    def set_stats(self, fps: float | None, latency_ms: float | None, persons: int | None = None) -> None:
        parts = []
        if latency_ms is not None:
            parts.append(f"{latency_ms:.1f} ms")
        if fps is not None:
            parts.append(f"{fps:.1f} FPS")
        if persons is not None:
            parts.append(f"{persons} pers.")
        stats = " · ".join(parts)
        if stats != self._stats:
            self._stats = stats
            self._render_title()

    def set_poses(self, joints_rel_mm: np.ndarray | None, joints_cam_mm: np.ndarray | None = None) -> None:
        """Draw [P,J,3] poses; persons with non-finite joints are hidden."""
        if not self._items_ready:
            self._deferred = (joints_rel_mm, joints_cam_mm)  # drawn when first shown (frame 1 of a playback)
            return
        src = joints_cam_mm if (self.absolute and joints_cam_mm is not None) else joints_rel_mm
        poses = np.zeros((0, self.joints.num_joints, 3), np.float32) if src is None else np.asarray(src)
        if poses.ndim != 3 or poses.shape[1:] != (self.joints.num_joints, 3):
            poses = np.zeros((0, self.joints.num_joints, 3), np.float32)
        pts = camera_mm_to_gl(poses)
        if not self.absolute and len(pts):
            pts = pts - pts[:, self.joints.root : self.joints.root + 1]
            order = _left_to_right(joints_cam_mm, len(pts))
            offsets = (np.arange(len(pts)) - (len(pts) - 1) / 2.0) * PERSON_SPACING_M
            for rank, p in enumerate(order):
                pts[p, :, 0] += offsets[rank]
        while len(self._persons) < len(pts):
            self._persons.append(_PersonItems(self.gl, self.joints, len(self._persons)))
            if self._highlight:
                self._persons[-1].set_highlight(self._highlight)
        for i, person in enumerate(self._persons):
            if i < len(pts) and np.isfinite(pts[i]).all():
                person.set_pose(pts[i])
            else:
                person.set_visible(False)
        self.frames_drawn += 1
        self.gl.update()

    def framebuffer(self) -> np.ndarray:
        """The GL view's pixels as [H,W,3] uint8 (tests, screenshots)."""
        return qimage_to_array(self.gl.grabFramebuffer())

    # --- helpers ------------------------------------------------------------------------------------------------
    def _render_title(self) -> None:
        title = self.label if self.trained else self.name  # the badge below says "untrained"
        lines: list[tuple[str, str, str | None]] = [(title, "#f0f0f0", None)]
        if self._stats:
            lines.append((self._stats, "#9fd3ff", None))
        if self._placement:
            lines.append((self._placement, "#c8c8c8", None))
        if not self.trained:
            lines.append(("UNTRAINED WEIGHTS", "#ffffff", "#b3261e"))
            lines.append(("speed test only", "#ffb4a9", None))
        self.gl.overlay = lines
        self.gl.update()

    def title_text(self) -> str:
        return " | ".join(t for t, _, _ in self.gl.overlay)


def _left_to_right(joints_cam_mm: np.ndarray | None, n: int) -> np.ndarray:
    """Person indices ordered by absolute x so side-by-side placement keeps the video's order."""
    if joints_cam_mm is None or len(joints_cam_mm) != n:
        return np.arange(n)
    x = np.nanmean(np.asarray(joints_cam_mm, dtype=np.float64)[..., 0], axis=1)
    return np.argsort(np.nan_to_num(x))


def _camera_marker() -> np.ndarray:
    """A small frustum at the origin looking along +Y (GL), drawn as line pairs."""
    d, w, h = 0.35, 0.24, 0.16
    corners = [(-w, d, h), (w, d, h), (w, d, -h), (-w, d, -h)]
    seg = []
    for c in corners:
        seg += [(0, 0, 0), c]
    for i in range(4):
        seg += [corners[i], corners[(i + 1) % 4]]
    return np.array(seg, dtype=np.float32)


def qimage_to_array(img: QImage) -> np.ndarray:
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : w * 3].reshape(h, w, 3).copy()
