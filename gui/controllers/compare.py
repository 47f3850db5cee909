"""The Compare panel's controller: about twice a second it asks the running ``LiveEngine`` for
``compare_snapshot()`` and hands the plain dict to ``gui.compare_panel.ComparePanel``.

Why a timer on the GUI thread and not a subscriber: the engine feeds its comparison window itself after every
result (tens of µs on the inference thread); a snapshot (a few ms of numpy over a copy of the window) runs here,
twice a second, so inference never waits for it. Nothing heavy is imported: the engine object comes from the
``LiveController``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal, SignalInstance

from gui.workers import readable_error

__all__ = ["COMPARE_INTERVAL_MS", "CompareController", "LiveStatus", "SnapshotView", "joint_index_map"]

COMPARE_INTERVAL_MS = 500


class LiveStatus(Protocol):
    """What the controller follows of the live view (``LiveController``): when it starts and stops; its ``engine``
    is read when it has one."""

    @property
    def started(self) -> SignalInstance: ...

    @property
    def stopped(self) -> SignalInstance: ...


class SnapshotView(Protocol):
    """Where snapshots are shown (``gui.compare_panel.ComparePanel``, a widget this controller must not import)."""

    def show_snapshot(self, snapshot: Mapping[str, Any]) -> None: ...

    def set_models(self, infos: Sequence[Mapping[str, Any]]) -> None: ...

    def clear(self, text: str = ...) -> None: ...


def joint_index_map(engine: object) -> list[dict[str, Any]]:
    """[{name, joint_set, joint_index: {H36M18 joint name: the model's own joint index}}] for the engine's compared
    models (what ``ComparePanel.set_models`` takes)."""
    from models.joints import H36M18

    out = []
    for d in getattr(engine, "compare_models", []) or []:
        idx = d.adapter.source_indices()
        out.append({"name": d.name, "joint_set": d.adapter.joint_set,
                    "joint_index": {H36M18.names[j]: i for j, i in idx.items()}})
    return out


class CompareController(QObject):
    """Polls ``live.engine.compare_snapshot()`` while the live view runs and shows it in ``panel``."""

    snapshotReady = Signal(object)  # Snapshot.to_dict(), a plain dict
    message = Signal(str, str)  # level, text

    def __init__(self, live: LiveStatus, panel: SnapshotView | None = None, parent: QObject | None = None,
                 interval_ms: int = COMPARE_INTERVAL_MS) -> None:
        super().__init__(parent)
        self.live = live
        self.panel = panel
        self.snapshots = 0
        self.last: dict | None = None
        self._failed = False
        self.timer = QTimer(self)
        self.timer.setInterval(int(interval_ms))
        self.timer.timeout.connect(self.poll)
        live.started.connect(self._on_started)
        live.stopped.connect(self._on_stopped)
        if panel is not None:
            self.snapshotReady.connect(panel.show_snapshot)

    def _on_started(self, _infos: object = None) -> None:
        engine = getattr(self.live, "engine", None)
        self._failed = False
        self.last = None
        if self.panel is not None:
            self.panel.set_models(joint_index_map(engine) if engine is not None else [])
        self.timer.start()

    def _on_stopped(self, _why: str = "") -> None:
        self.timer.stop()  # the last snapshot stays on screen

    def poll(self) -> dict | None:
        """One snapshot now (the timer calls this); None when there is no engine or no comparison."""
        engine = getattr(self.live, "engine", None)
        if engine is None or self._failed:
            return None
        try:
            snap = engine.compare_snapshot()
        except Exception as exc:  # noqa: BLE001 - the panel must never break the live view
            self._failed = True
            self.message.emit("warning", f"Model comparison stopped: {readable_error(exc)}")
            return None
        if snap is None:
            why = getattr(engine, "compare_error", None)
            if why and self.panel is not None:
                self.panel.clear(f"Compare: {why}")
            return None
        d = snap.to_dict()
        self.last = d
        self.snapshots += 1
        self.snapshotReady.emit(d)
        return d
