"""``recording_attrs``: what a recording of a live run says about the run (source, detector, models and their
checkpoint hashes, RootNet, schedules, intrinsics, filters, device and profile, notes), read from the prepared
``LiveEngine``; ``LiveEngine.recording_attrs()`` calls it."""

from __future__ import annotations

from typing import Any

__all__ = ["recording_attrs"]


def recording_attrs(engine: Any) -> dict[str, Any]:
    """Root attributes for a ``LiveRecorder`` of ``engine``'s run (after ``prepare()``)."""
    cfg = engine.config
    src = engine.source
    info = src.info if src is not None else None
    intr = engine._intrinsics(info.width, info.height) if info and info.width > 0 else None
    det = engine.detector
    models, rootnet, predictor = engine.models, engine.rootnet_info, engine.predictor
    return {
        "source": cfg.source if src is None or info is None else f"{info.kind}:{info.name}",
        "detector": det.label if det else "",
        "labels": {m.name: m.label for m in models},
        "checkpoint_sha256": {m.name: m.sha256 or "" for m in models},
        "trained": {m.name: m.trained for m in models},
        "rootnet": rootnet.label if rootnet else "none",
        "rootnet_sha256": (rootnet.sha256 or "") if rootnet else "",
        "rootnet_every": cfg.rootnet_every, "det_every": cfg.det_every, "imgsz": cfg.imgsz,
        "intrinsics": (dict(fx=intr.fx, fy=intr.fy, cx=intr.cx, cy=intr.cy, width=intr.width,
                            height=intr.height, source=intr.source) if intr else {}),
        "smoothing": vars(cfg.smoothing) if cfg.smoothing else {},
        "root_filter": vars(cfg.root_filter) if cfg.root_filter else {},
        "device": str(getattr(predictor, "device", cfg.device)), "precision": cfg.precision,
        "profile": str(getattr(predictor, "profile_label", cfg.profile or cfg.precision)),
        "flip_test": cfg.flip_test,
        "notes": list(engine.notes),
    }
