"""Test set-up: offline ultralytics, torch imported before any GL context, shared GL contexts for Qt."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")
os.environ.setdefault("YOLO_VERBOSE", "false")
os.environ.setdefault("YOLO_CONFIG_DIR", str(Path(os.environ.get("TMPDIR", "/tmp")) / "posearena-yolo-cfg"))
os.environ.setdefault("POSEARENA_HOME", str(Path(os.environ.get("TMPDIR", "/tmp")) / "posearena-test-home"))

import torch  # noqa: E402,F401  (before any GL context: triton import-order trap)

try:
    from PySide6.QtCore import QCoreApplication, Qt

    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
except ImportError:  # pragma: no cover
    pass

SHARED = ROOT.parent / "shared"
CONFORMANCE = SHARED / "conformance"
