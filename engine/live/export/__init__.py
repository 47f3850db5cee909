"""Exports of a live recording, one module per output kind: C3D, TRC/CSV (``mocap``), JSON lines, overlay video."""
