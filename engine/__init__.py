"""Geometry, sources, detector, the live pipeline, recording and the Human3.6M benchmark (no Qt)."""

from models import thread_policy  # noqa: F401  (before any engine module imports torch)
