"""How loud the Live tab's start-up notes are: a bundled detector chosen offline is information, the whole-frame box
(no detector at all) stays a warning."""

from __future__ import annotations

from types import SimpleNamespace

from gui.controllers.live_notes import bundled_detector_prefix


def test_a_bundled_detector_offline_is_information_and_the_whole_frame_box_is_not() -> None:
    nanodet = SimpleNamespace(kind="nanodet", label="NanoDet-g @416 (IoU tracking)", note="yolo11n.pt: not found")
    engine = SimpleNamespace(detector=nanodet)
    note = f"{nanodet.label} ({nanodet.note})"
    assert note.startswith(bundled_detector_prefix(engine)) and bundled_detector_prefix(engine)
    whole = SimpleNamespace(kind="?", label="no person detector: whole-frame box", note="nothing found")
    assert bundled_detector_prefix(SimpleNamespace(detector=whole)) == ""
    yolo_found = SimpleNamespace(kind="yolo", label="YOLO yolo11n.pt", note="")  # nothing to explain: no note at all
    assert bundled_detector_prefix(SimpleNamespace(detector=yolo_found)) == ""
