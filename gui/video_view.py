"""The video frame with person boxes, track ids and one chosen model's 2D joints drawn over it.

A plain QWidget painted with QPainter: the frame is wrapped in a QImage without copying (BGR888) and scaled to
fit with its aspect ratio kept; overlays are drawn in image coordinates through the same transform.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPen, QTransform
from PySide6.QtWidgets import QSizePolicy, QWidget

from gui.skeleton_view import SIDE_RGBA
from models.joints import get_joint_set

BOX_COLOURS = [QColor(c) for c in ("#ffd54f", "#4dd0e1", "#aed581", "#f48fb1", "#ce93d8", "#ffab91")]


def _qcolor(rgba: tuple[float, float, float, float]) -> QColor:
    return QColor.fromRgbF(*rgba)


class VideoView(QWidget):
    """Shows the newest frame; ``overlay_model`` picks whose 2D joints are drawn (None = boxes only)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(240, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.overlay_model: str | None = None
        self._frame = None
        self._image: QImage | None = None
        self._buf: np.ndarray | None = None
        self.placeholder = "No video: pick a source and press Start (Ctrl+R)."
        self.frames_shown = 0

    def set_overlay_model(self, name: str | None) -> None:
        self.overlay_model = name or None
        self.update()

    def show_frame(self, frame) -> None:
        """Take a LiveFrame (gui.live_frame) and repaint."""
        self._frame = frame
        img = getattr(frame, "frame_bgr", None)
        if img is not None:
            self._buf = np.ascontiguousarray(img, dtype=np.uint8)
            h, w = self._buf.shape[:2]
            self._image = QImage(self._buf.data, w, h, self._buf.strides[0], QImage.Format.Format_BGR888)
        self.frames_shown += 1
        self.update()

    def clear(self, message: str | None = None) -> None:
        self._frame, self._image, self._buf = None, None, None
        if message:
            self.placeholder = message
        self.update()

    def image_transform(self) -> QTransform:
        """Image pixels -> widget pixels (aspect kept, centred)."""
        if self._image is None:
            return QTransform()
        iw, ih = self._image.width(), self._image.height()
        s = min(self.width() / iw, self.height() / ih)
        ox, oy = (self.width() - iw * s) / 2.0, (self.height() - ih * s) / 2.0
        return QTransform(s, 0, 0, s, ox, oy)

    def paintEvent(self, ev) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(16, 17, 20))
        if self._image is None:
            p.setPen(QColor(170, 170, 170))
            p.drawText(self.rect().adjusted(12, 12, -12, -12), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       self.placeholder)
            p.end()
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        t = self.image_transform()
        p.setTransform(t)
        p.drawImage(0, 0, self._image)
        p.resetTransform()
        self._draw_overlays(p, t)
        p.end()

    def _draw_overlays(self, p: QPainter, t: QTransform) -> None:
        f = self._frame
        boxes = np.asarray(getattr(f, "boxes_xyxy", np.zeros((0, 4))), dtype=np.float64).reshape(-1, 4)
        ids = list(getattr(f, "track_ids", []) or [])
        font = QFont()
        font.setBold(True)
        font.setPointSize(9)
        p.setFont(font)
        for i, (x1, y1, x2, y2) in enumerate(boxes):
            tid = ids[i] if i < len(ids) else None
            col = BOX_COLOURS[(tid if tid is not None else i) % len(BOX_COLOURS)]
            r = t.mapRect(QRectF(x1, y1, x2 - x1, y2 - y1))
            p.setPen(QPen(col, 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(r)
            tag = f"#{tid}" if tid is not None else f"{i}"
            p.fillRect(QRectF(r.left(), r.top() - 16, 10 + 8 * len(tag), 16), col)
            p.setPen(QColor(0, 0, 0))
            p.drawText(QPointF(r.left() + 4, r.top() - 4), tag)
        out = f.models.get(self.overlay_model) if (f is not None and self.overlay_model) else None
        if out is None or out.joints_2d is None:
            return
        js = get_joint_set(out.joint_set)
        pts = np.asarray(out.joints_2d, dtype=np.float64)
        for person in pts:
            if not np.isfinite(person).all():
                continue
            mapped = [t.map(QPointF(float(x), float(y))) for x, y in person]
            for a, b in js.skeleton:
                side = js.side(a) if js.side(a) != "C" else js.side(b)
                p.setPen(QPen(_qcolor(SIDE_RGBA[side]), 2.5))
                p.drawLine(mapped[a], mapped[b])
            p.setPen(Qt.PenStyle.NoPen)
            for j, q in enumerate(mapped):
                p.setBrush(_qcolor(SIDE_RGBA[js.side(j)]))
                p.drawEllipse(q, 3.0, 3.0)
        lines = caption_lines(f"2D joints: {out.label}", p.fontMetrics(), self.width() - 16)
        line_h = p.fontMetrics().height()
        top = self.height() - 6 - line_h * len(lines)
        p.fillRect(QRectF(4, top - 2, max(p.fontMetrics().horizontalAdvance(x) for x in lines) + 8,
                          line_h * len(lines) + 4), QColor(16, 17, 20, 170))
        p.setPen(QColor(230, 230, 230))
        for i, text in enumerate(lines):
            p.drawText(QPointF(8, top + line_h * i + p.fontMetrics().ascent()), text)


def caption_lines(text: str, fm: QFontMetrics, width: int, max_lines: int = 3) -> list[str]:
    """``text`` wrapped at spaces into lines no wider than ``width`` (a narrow view shows the whole caption over
    more lines); a word that alone is too wide, or a last line with more to come, ends in an ellipsis."""
    width = max(8, width)
    lines: list[str] = []
    for word in text.split():
        if lines and fm.horizontalAdvance(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > max_lines:
        lines = lines[:max_lines - 1] + [" ".join(lines[max_lines - 1:])]
    return [fm.elidedText(x, Qt.TextElideMode.ElideRight, width) for x in lines]
