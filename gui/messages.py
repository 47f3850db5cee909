"""The window's message area: every notice and error as one readable line (never a traceback dialog)."""

from __future__ import annotations

import re
import time
import unicodedata

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QListWidget, QListWidgetItem

LEVEL_COLOUR = {"info": "#c8c8c8", "warning": "#ffcc66", "error": "#ff7b72"}
MAX_ITEMS = 500
# characters that show as an empty box ("tofu") where the fonts lack them, with plain stand-ins; libraries' messages
# (ultralytics, onnxruntime, mediapipe) bring emoji and terminal colour codes as well
PLAIN = {"\u2265": ">=", "\u2264": "<=", "\u00d7": "x", "\u2192": "->", "\u2190": "<-", "\u21d2": "=>",
         "\u2194": "<->", "\u2011": "-", "\u2010": "-", "\u2212": "-", "\u00a0": " ", "\u202f": " ",
         "\u2009": " ", "\u2248": "~"}
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def displayable(text: str) -> str:
    """``text`` with what a label cannot draw removed: terminal colour codes, control and zero-width characters,
    emoji (outside the Basic Multilingual Plane) and their variation selectors; a few symbols become ASCII."""
    out = []
    for ch in _ANSI.sub("", text):
        if ch in PLAIN:
            out.append(PLAIN[ch])
        elif ch in "\n\t" or not (ord(ch) > 0xFFFF or unicodedata.category(ch)[0] == "C"
                                    or 0xFE00 <= ord(ch) <= 0xFE0F):
            out.append(ch)
    return "".join(out)


class MessageArea(QListWidget):
    """Newest message at the bottom; long texts wrap; the full text is in the tooltip."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setAlternatingRowColors(False)
        self.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.setStyleSheet("QListWidget { background: #15171c; border: none; font-family: monospace; }")
        self.setTextElideMode(Qt.TextElideMode.ElideNone)

    def post(self, level: str, text: str) -> None:
        level = level if level in LEVEL_COLOUR else "info"
        stamp = time.strftime("%H:%M:%S")
        first = text.strip().splitlines()[0] if text.strip() else ""
        more = " …" if len(text.strip().splitlines()) > 1 else ""
        item = QListWidgetItem(displayable(f"{stamp}  {level.upper():7s} {first}{more}"))
        item.setToolTip(displayable(text))
        item.setData(Qt.ItemDataRole.UserRole, (level, text))
        item.setForeground(QColor(LEVEL_COLOUR[level]))
        self.addItem(item)
        while self.count() > MAX_ITEMS:
            self.takeItem(0)
        self.scrollToBottom()

    def messages(self, level: str | None = None) -> list[str]:
        """Full texts (tests and copy)."""
        out = []
        for i in range(self.count()):
            lv, text = self.item(i).data(Qt.ItemDataRole.UserRole)
            if level is None or lv == level:
                out.append(text)
        return out
