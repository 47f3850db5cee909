"""Geometry, sources, detector, the live pipeline, recording and the Human3.6M benchmark (no Qt)."""
