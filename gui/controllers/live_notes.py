"""Which of the live engine's start-up notes the Live tab shows, and how loud: a fixed depth without RootNet and a
model placing itself from its own metric 3D are how the app works (information), not warnings."""

from __future__ import annotations


def without_root_fallback_notes(engine: object, notes: list[str]) -> list[str]:
    """The engine's notes less its own root-plan note when RootNet is switched off or has no weights: a fixed
    depth is a normal state (BlazePose places itself), said once as information by the GUI, not as a warning. The
    engine reports its plan as a field (``LiveEngine.root_plan``), so no text is matched."""
    plan = getattr(engine, "root_plan", None)
    if plan is None or plan.reason not in ("disabled", "no weights"):
        return list(notes)
    return [n for n in notes if n != plan.note]


def self_placed_prefix(engine: object) -> str:
    """"name, name:" for the models that place themselves from their own metric 3D while the depth is fixed (the
    engine's note on them starts so), else ""."""
    plan = getattr(engine, "root_plan", None)
    if plan is None or not getattr(plan, "fixed", False):
        return ""
    from models.spec import get_spec

    names = []
    for m in getattr(engine, "models", []):
        try:
            if get_spec(m.name).metric_3d:
                names.append(m.name)
        except (KeyError, ValueError):
            continue
    return f"{', '.join(names)}:" if names else ""


def bundled_detector_prefix(engine: object) -> str:
    """The label a note starts with when the engine runs a bundled, trained detector because no YOLO file could be
    had: offline that is the normal state (said as information), unlike the whole-frame box (a warning)."""
    det = getattr(engine, "detector", None)
    if det is None or getattr(det, "kind", "") in ("", "whole-frame", "?") or not getattr(det, "note", ""):
        return ""
    return f"{det.label} ("
