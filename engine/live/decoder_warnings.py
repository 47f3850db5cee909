"""Decoding a JPEG while listening to libjpeg: its warnings mean the picture is damaged.

Why: libjpeg only *warns* about corrupt entropy data ("Corrupt JPEG data: premature end of data segment") and OpenCV
returns the picture anyway, with the rest of it grey or smeared; a file with zeroed bytes in the middle still ends in
FF D9, so the end-marker check cannot see it. OpenCV exposes no hook for those warnings: libjpeg writes them to the
process's stderr (file descriptor 2), so the decode runs with fd 2 pointed at a temp file for its duration (under a
lock; anything else written there meanwhile is passed on to the real stderr).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from typing import Any

import numpy as np

__all__ = ["imdecode_with_warnings"]

_LOCK = threading.Lock()
_WARNING_WORDS = ("corrupt jpeg data", "premature end of jpeg", "invalid jpeg", "bogus", "jpeg datastream")


def imdecode_with_warnings(cv2: Any, data: bytes) -> tuple[np.ndarray | None, str]:
    """``(image or None, libjpeg's first warning or "")`` for the bytes of a JPEG file."""
    buf = np.frombuffer(data, np.uint8)
    with _LOCK:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):  # no usable fd 2 (an embedded interpreter): decode plainly
            return cv2.imdecode(buf, cv2.IMREAD_COLOR), ""
        with tempfile.TemporaryFile() as tmp:
            os.dup2(tmp.fileno(), 2)
            try:
                img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
            finally:
                os.dup2(saved, 2)
                os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode("utf-8", "replace")
    warnings = [ln.strip() for ln in text.splitlines() if any(w in ln.lower() for w in _WARNING_WORDS)]
    others = [ln for ln in text.splitlines() if ln.strip() and ln.strip() not in warnings]
    if others:
        sys.stderr.write("\n".join(others) + "\n")
    return img, (warnings[0] if warnings else "")
