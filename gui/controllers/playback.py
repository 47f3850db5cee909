"""The Playback tab's controller: a recording opened, a position in it, a play timer at the recording's rate, and
exports in a worker. No widgets here; ``gui.playback_tab`` shows what it emits.

Each position is turned into a ``gui.live_frame.LiveFrame`` (the record the Live tab's views already draw): the
source frame under the overlay of every model's 2D skeletons (``engine.live.export.overlay_video.draw_overlay``, the
same drawing as the MP4 export; a blank frame when the source video is not found), and each model's 3D joints for
the linked 3D views.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from gui.live_frame import LiveFrame, ModelFrame
from gui.workers import Worker, readable_error

if TYPE_CHECKING:
    from engine.live.export.overlay_video import SourceFrames
    from engine.live.recording.reader import Recording

EXPORT_SUFFIX = {"mp4": ".mp4", "jsonl": ".jsonl", "c3d": ".c3d", "trc": ".trc", "csv": ".csv", "bvh": ".bvh"}
PER_MODEL_FORMATS = frozenset({"bvh"})  # one skeleton animation per model: a file each when several were recorded


class PlaybackController(QObject):
    opened = Signal(dict)  # {path, frames, fps, models: [(name, joint_set, label, trained)], source, source_found}
    frameChanged = Signal(object)  # LiveFrame
    playingChanged = Signal(bool)
    exported = Signal(str, str)  # format, path
    exportFailed = Signal(str, str)  # format, message
    message = Signal(str, str)  # level, text

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rec: Recording | None = None
        self.index = 0
        self.kind = "smoothed"
        self.source: str | None = None
        self._frames: SourceFrames | None = None
        self._blank: np.ndarray | None = None
        self.fps = 30.0
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self._worker: Worker | None = None

    # -- opening ---------------------------------------------------------------------------------------------------
    def open(self, path: str | Path, source: str | None = None) -> bool:
        from engine.live.export.mocap import frame_rate
        from engine.live.export.overlay_video import SourceFrames, recorded_source
        from engine.live.recording.writer import RecordingError, load_recording

        self.pause()
        try:
            loaded = load_recording(path)
        except RecordingError as e:
            self.message.emit("error", str(e))
            return False
        rec = self._known_joint_sets(loaded)
        if rec is None:
            return False
        self.close_source()
        self.rec, self.index, self._blank = rec, 0, None
        self.source = source or recorded_source(rec)
        if self.source:
            try:
                self._frames = SourceFrames(self.source)
            except OSError as e:
                self.message.emit("warning", f"{e}; showing the skeletons on a blank frame")
                self._frames = None
        self.fps = frame_rate(rec) if len(rec) > 1 else 30.0
        info = {"path": str(rec.path), "frames": len(rec), "fps": self.fps, "source": self.source or "",
                "source_found": self._frames is not None,
                "models": [(m.name, m.joint_set, m.label, m.trained) for m in rec.models.values()]}
        self.opened.emit(info)
        if not self._frames:
            self.message.emit("info", f"{rec.path.name}: source video not found; the skeletons are drawn on a blank "
                                      "frame (open the video with 'Source…' to see it)")
        if len(rec):
            self.seek(0)
        return True

    def _known_joint_sets(self, rec: Recording) -> Recording | None:
        """The recording less the models whose joint set this version cannot draw (said once, naming the file);
        None (with an error) when no model is left."""
        from models.joints import JOINT_SETS

        unknown = {n: m.joint_set for n, m in rec.models.items() if m.joint_set not in JOINT_SETS}
        if not unknown:
            return rec
        what = ", ".join(f"{n} ('{js}')" for n, js in unknown.items())
        if len(unknown) == len(rec.models):
            self.message.emit("error", f"{rec.path}: cannot be shown: its models use joint sets this version does "
                                       f"not know: {what}; known: {', '.join(JOINT_SETS)}")
            return None
        self.message.emit("warning", f"{rec.path}: not shown or exported, an unknown joint set: {what}")
        rec.models = {n: m for n, m in rec.models.items() if n not in unknown}
        return rec

    def set_source(self, source: str) -> None:
        from engine.live.export.overlay_video import SourceFrames

        try:
            frames = SourceFrames(source)
        except OSError as e:
            self.message.emit("error", str(e))
            return
        self.close_source()
        self._frames, self.source = frames, source
        self.seek(self.index)

    def close_source(self) -> None:
        if self._frames is not None:
            self._frames.close()
        self._frames = None

    @property
    def frames(self) -> int:
        return len(self.rec) if self.rec is not None else 0

    # -- position --------------------------------------------------------------------------------------------------
    def seek(self, index: int) -> None:
        if not self.frames:
            return
        self.index = int(np.clip(index, 0, self.frames - 1))
        self.frameChanged.emit(self.frame(self.index))

    def step(self, delta: int) -> None:
        self.pause()
        self.seek(self.index + delta)

    def play(self) -> None:
        if not self.frames:
            return
        if self.index >= self.frames - 1:
            self.seek(0)
        self.timer.start(max(1, int(round(1000.0 / self.fps))))
        self.playingChanged.emit(True)

    def pause(self) -> None:
        if self.timer.isActive():
            self.timer.stop()
            self.playingChanged.emit(False)

    def toggle(self) -> None:
        self.pause() if self.timer.isActive() else self.play()

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    def _tick(self) -> None:
        if self.index >= self.frames - 1:
            self.pause()
            return
        self.seek(self.index + 1)

    def set_kind(self, kind: str) -> None:
        self.kind = kind
        self.seek(self.index)

    # -- frames ----------------------------------------------------------------------------------------------------
    def frame(self, i: int) -> LiveFrame:
        from engine.live.export.overlay_video import OverlayModel, _blank_size, draw_overlay, source_index

        rec = self.rec
        assert rec is not None, "frame() needs an open recording (seek checks frames first)"
        img = self._frames.get(source_index(rec, i, self._frames.fps)) if self._frames is not None else None
        if img is None:
            if self._blank is None:
                w, h = _blank_size(rec)
                self._blank = np.full((h, w, 3), 24, np.uint8)
            img = self._blank
        n = int(rec.num_persons[i])
        models, overlay = {}, []
        for m in rec.models.values():
            data = getattr(m, self.kind)
            models[m.name] = ModelFrame(m.name, m.label, m.joint_set, m.trained, data["joints_2d"][i, :n],
                                        data["joints_rel_mm"][i, :n], data["joints_cam_mm"][i, :n],
                                        _num(rec.latency_ms.get(m.name), i))
            overlay.append(OverlayModel(m.name, m.label, m.joint_set, data["joints_2d"][i, :n]))
        ids = rec.track_ids[i, :n].tolist()
        shown = draw_overlay(img, rec.boxes[i, :n], ids, overlay, caption=f"frame {int(rec.frame_id[i])}")
        t = rec.times()
        return LiveFrame(seq=i, frame_bgr=shown, boxes_xyxy=np.zeros((0, 4), np.float32), track_ids=ids,
                         models=models, fps=self.fps, frame_id=int(rec.frame_id[i]),
                         end_to_end_ms=_num(rec.latency_ms.get("end_to_end"), i),
                         message=f"t = {t[i]:.2f} s · frame {i + 1}/{len(rec)} · {n} person(s)")

    # -- export ----------------------------------------------------------------------------------------------------
    def export(self, fmt: str, out: str, **options: Any) -> Worker | None:
        """Export the open recording in a worker (atomic writes: the file appears whole or not at all)."""
        if self.rec is None:
            return None
        if fmt == "mp4" and self.source and "source" not in options:
            options["source"] = self.source
        if fmt in PER_MODEL_FORMATS and "model" not in options and len(self.rec.models) > 1:
            w = Worker(_export_each_model, str(self.rec.path), list(self.rec.models), fmt, out, options,
                       name=f"export {fmt}")
        else:
            w = Worker(_export, str(self.rec.path), fmt, out, options, name=f"export {fmt}")
        w.returned.connect(lambda path: self.exported.emit(fmt, str(path)))
        w.errored.connect(lambda msg: self.exportFailed.emit(fmt, msg))
        self._worker = w
        w.start()
        return w

    def shutdown(self) -> None:
        self.pause()
        self.close_source()
        if self._worker is not None:
            self._worker.wait(10_000)


def _num(a: np.ndarray | None, i: int) -> float | None:
    if a is None or i >= len(a):
        return None
    v = float(a[i])
    return v if np.isfinite(v) else None


def _export(path: str, fmt: str, out: str, options: dict[str, Any]) -> str:
    from engine.live.export.mocap import ExportError, export_recording

    try:
        return str(export_recording(path, fmt, out, overwrite=True, **options))
    except ExportError as e:
        raise RuntimeError(readable_error(e)) from None


def _export_each_model(path: str, models: list[str], fmt: str, out: str, options: dict[str, Any]) -> str:
    """One file per model beside ``out``: ``NAME-MODEL.EXT``; the paths written, comma-separated."""
    base = Path(out)
    paths = [_export(path, fmt, str(base.with_name(f"{base.stem}-{m}{base.suffix}")), {**options, "model": m})
             for m in models]
    return ", ".join(paths)
