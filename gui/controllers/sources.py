"""The Live tab's source helper: finding cameras (in a worker: probing devices can take seconds)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from gui.workers import Worker


class SourceController(QObject):
    camerasFound = Signal(list)  # list[(index, label)]

    def scan(self) -> None:
        def job() -> list[tuple[int, str]]:
            from engine.live.sources import list_cameras

            return [(c.index, f"{c.name} ({c.width}x{c.height})") for c in list_cameras()]

        w = Worker(job, name="cameras")
        w.returned.connect(self.camerasFound.emit)
        w.errored.connect(lambda m: self.camerasFound.emit([]))
        w.start()
