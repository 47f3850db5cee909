"""Overlay video: the source frames with every model's 2D skeleton (one colour per model, a legend, boxes with
track ids), written as MP4 (OpenCV's ``mp4v`` codec: the one an OpenCV build without H.264 writes; VLC, ffmpeg
and browsers' MP4 demuxers open it; transcode with ffmpeg for H.264).

Two producers share ``draw_overlay`` and ``OverlayVideoWriter``:
- during a run (``posearena live --save-video X.mp4``): ``OverlayVideoWriter.write_result`` per ``LiveResult``;
- from a recording (``posearena live export REC.h5 --format mp4``, ``engine.live.export.video``):
  ``render_recording`` reads the source video again (stored as ``source_path`` in the recording, or given) and
  maps each recorded frame to its source frame by the media clock; without the source the skeletons are drawn on
  a blank frame of the recorded image size. One output frame per recorded frame.

Writes are atomic (models.fileio.atomic_path): frames go to a hidden temp file beside the output (named with the
.mp4 suffix OpenCV needs to pick the container), which replaces the output only when the video is complete.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from models.fileio import atomic_path

if TYPE_CHECKING:
    from engine.live.recording.reader import Recording
    from engine.live.results import LiveResult, ModelInfo

__all__ = ["MODEL_COLOURS_BGR", "OverlayModel", "OverlayVideoWriter", "SourceFrames", "draw_overlay",
           "model_colour", "render_recording"]

# BGR, distinct on video and for the common colour-vision deficiencies (Okabe-Ito order)
MODEL_COLOURS_BGR = [(0, 159, 230), (233, 180, 86), (115, 158, 0), (66, 228, 240), (178, 114, 0), (0, 94, 213),
                     (167, 121, 204), (255, 255, 255)]
BOX_BGR = (79, 213, 255)


def model_colour(k: int) -> tuple[int, int, int]:
    return MODEL_COLOURS_BGR[k % len(MODEL_COLOURS_BGR)]


@dataclass
class OverlayModel:
    name: str
    label: str
    joint_set: str
    joints_2d: np.ndarray | None  # [P,J,2] pixels, in the order of the boxes


def draw_overlay(image: np.ndarray, boxes_xywh: np.ndarray, track_ids: Sequence[int], models: Sequence[OverlayModel],
                 *, caption: str = "") -> np.ndarray:
    """A copy of ``image`` (BGR uint8) with boxes, track ids, each model's skeletons and a legend."""
    import cv2

    from models.joints import get_joint_set

    img = np.ascontiguousarray(image, dtype=np.uint8).copy()
    h, w = img.shape[:2]
    th = max(1, round(min(h, w) / 320))
    font_scale = max(0.4, min(h, w) / 900)
    for i, box in enumerate(np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4)):
        if not np.isfinite(box).all():
            continue
        x, y, bw, bh = box
        p1, p2 = (int(round(x)), int(round(y))), (int(round(x + bw)), int(round(y + bh)))
        cv2.rectangle(img, p1, p2, BOX_BGR, th, cv2.LINE_AA)
        tid = int(track_ids[i]) if i < len(track_ids) else -1
        tag = f"#{tid}" if tid >= 0 else f"person {i}"
        (tw, tht), _ = cv2.getTextSize(tag, cv2.FONT_HERSHEY_SIMPLEX, font_scale, th)
        cv2.rectangle(img, (p1[0], p1[1] - tht - 6), (p1[0] + tw + 6, p1[1]), BOX_BGR, -1)
        cv2.putText(img, tag, (p1[0] + 3, p1[1] - 4), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), th,
                    cv2.LINE_AA)
    for k, m in enumerate(models):
        if m.joints_2d is None:
            continue
        col = model_colour(k)
        js = get_joint_set(m.joint_set)
        for person in np.asarray(m.joints_2d, dtype=np.float64):
            ok = np.isfinite(person).all(axis=-1)
            pts = [(int(round(px)), int(round(py))) if good else None for (px, py), good in zip(person, ok)]
            for a, b in js.skeleton:
                if pts[a] is not None and pts[b] is not None:
                    cv2.line(img, pts[a], pts[b], col, th + 1, cv2.LINE_AA)
            for q in pts:
                if q is not None:
                    cv2.circle(img, q, th + 2, col, -1, cv2.LINE_AA)
    # legend: a swatch and the label per model, on a dark band (top left)
    lines = [(m.label, model_colour(k)) for k, m in enumerate(models)] + ([(caption, (230, 230, 230))]
                                                                          if caption else [])
    if lines:
        sizes = [cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, font_scale, th)[0] for t, _ in lines]
        row = max(s[1] for s in sizes) + 8
        band_w = min(w, max(s[0] for s in sizes) + 34)
        sub = img[0:row * len(lines) + 6, 0:band_w]
        sub[:] = (sub * 0.35).astype(np.uint8)
        for r, ((text, col), _) in enumerate(zip(lines, sizes)):
            y0 = 4 + r * row
            cv2.rectangle(img, (6, y0 + 2), (20, y0 + row - 4), col, -1)
            cv2.putText(img, text, (26, y0 + row - 6), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (240, 240, 240), th,
                        cv2.LINE_AA)
    return img


def _check_video(video: Path, frames: int, final: Path) -> None:
    """OSError unless ``video`` opens and its header announces ``frames`` frames.

    Why: OpenCV's writer ignores failed writes, so on a full disk it "finishes" a file without its index (``moov``
    atom) that no player opens; the video replaces the output only once it reads back whole."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    try:
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if cap.isOpened() else 0
    finally:
        cap.release()
    if count != frames:
        size = video.stat().st_size if video.exists() else 0
        raise OSError(f"{final}: the video was not written whole ({count} of {frames} frames read back from "
                      f"{size} bytes): disk full, or the folder is not writable?")


class OverlayVideoWriter:
    """An MP4 written frame by frame and published atomically on ``close()`` (``abort()`` drops it)."""

    def __init__(self, path: str | Path, fps: float, *, overwrite: bool = False, kind: str = "smoothed") -> None:
        self.path = Path(path)
        self.fps = float(fps) if fps and fps > 0 else 30.0
        self.kind = kind
        self.frames = 0
        self.error: BaseException | None = None
        if not overwrite and self.path.exists():
            raise FileExistsError(f"{self.path}: already exists; refusing to replace it (choose another file or "
                                  f"allow overwriting)")
        self._stack = contextlib.ExitStack()
        self._tmp: Path | None = None
        self._video: Path | None = None
        self._writer: Any = None  # cv2.VideoWriter once the first frame gives the size
        self._size: tuple[int, int] | None = None

    def _open(self, w: int, h: int) -> None:
        import cv2

        self._tmp = self._stack.enter_context(atomic_path(self.path))
        self._video = self._tmp.with_name(self._tmp.name + ".mp4")
        self._writer = cv2.VideoWriter(str(self._video), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
        if not self._writer.isOpened():
            raise OSError(f"{self.path}: OpenCV cannot write an mp4v video here")
        self._size = (w, h)

    def write(self, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        if self._writer is None:
            self._open(w, h)
        elif (w, h) != self._size:  # a source changing size (a replugged camera): keep the first size
            import cv2

            image = cv2.resize(image, self._size)
        self._writer.write(np.ascontiguousarray(image, dtype=np.uint8))
        self.frames += 1

    def write_result(self, result: LiveResult, infos: Sequence[ModelInfo] | None = None) -> None:
        """Draw and write one ``LiveResult`` (for ``LiveEngine.subscribe``); a failure is kept in ``error`` and the
        video stops (the live run goes on)."""
        if self.error is not None:
            return
        try:
            src = result.smoothed if self.kind == "smoothed" and result.smoothed else result.outputs
            names = [i.name for i in infos] if infos else list(result.outputs)
            models = [OverlayModel(n, result.labels.get(n, n), getattr(result.outputs.get(n), "joint_set", "h36m18"),
                                   getattr(src.get(n), "joints_2d", None)) for n in names]
            self.write(draw_overlay(result.image, result.boxes, list(result.track_ids), models,
                                    caption=f"frame {result.frame_id}"))
        except Exception as exc:  # noqa: BLE001 - reported by the caller through .error
            self.error = exc
            self.abort()

    def close(self) -> Path | None:
        """Finish the file and move it into place; None when no frame was written."""
        if self._writer is None:
            self._stack.close()
            return None
        self._writer.release()
        self._writer = None
        try:
            assert self._video is not None and self._tmp is not None
            _check_video(self._video, self.frames, self.path)
            self._video.replace(self._tmp)
            self._stack.close()  # atomic_path: temp -> final
        except BaseException:
            self.abort()
            raise
        return self.path

    def abort(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.release()
            self._writer = None
        if self._video is not None:
            self._video.unlink(missing_ok=True)
        with contextlib.suppress(RuntimeError):
            self._stack.__exit__(RuntimeError, RuntimeError("aborted"), None)  # removes the temp file
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> OverlayVideoWriter:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


# ---------------------------------------------------------------------------------------------- from a recording

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def _natural(p: Path) -> list[int | str]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)]


class SourceFrames:
    """Random access (sequential in practice) to the frames of a recording's source: a video file or an image
    folder. ``get(index)`` -> BGR image or None."""

    def __init__(self, path: str | Path) -> None:
        import cv2

        self.path = Path(path).expanduser()
        self._cap: Any = None  # cv2.VideoCapture for a video file
        self._files: list[Path] = []
        self._next = 0
        self.fps: float | None = None
        self.count = 0
        if self.path.is_dir():
            self._files = sorted((p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS),
                                 key=_natural)
            self.count = len(self._files)
        elif self.path.is_file() and self.path.suffix.lower() in IMAGE_EXTENSIONS:
            self._files, self.count = [self.path], 1
        elif self.path.is_file():
            self._cap = cv2.VideoCapture(str(self.path))
            if not self._cap.isOpened():
                raise OSError(f"{self.path}: the source video cannot be opened")
            self.fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0) or None
            self.count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        else:
            raise FileNotFoundError(f"{self.path}: the source video does not exist")

    def get(self, index: int) -> np.ndarray | None:
        import cv2

        if self.count and index >= self.count:
            index %= self.count  # a looped source (the demo)
        if self._files:
            return cv2.imread(str(self._files[index]), cv2.IMREAD_COLOR) if 0 <= index < len(self._files) else None
        if index != self._next:
            if index < self._next or index - self._next > 64:
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, index)
                self._next = index
            while self._next < index:
                self._cap.grab()
                self._next += 1
        ok, img = self._cap.read()
        self._next += 1
        return img if ok else None

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()


def _blank_size(rec: Recording) -> tuple[int, int]:
    intr = rec.attrs.get("intrinsics")
    if isinstance(intr, str):
        with contextlib.suppress(ValueError):
            intr = json.loads(intr)
    if isinstance(intr, dict) and intr.get("width") and intr.get("height"):
        return int(intr["width"]), int(intr["height"])
    fin = rec.boxes[np.isfinite(rec.boxes).all(axis=-1)]
    if len(fin):
        return int(max(640, (fin[:, 0] + fin[:, 2]).max() + 1)), int(max(480, (fin[:, 1] + fin[:, 3]).max() + 1))
    return 640, 480


def source_index(rec: Recording, i: int, fps: float | None) -> int:
    """The source frame of recorded frame ``i``: by the media clock when known, else the frame id."""
    t = float(rec.media_ts[i])
    if fps and np.isfinite(t):
        return int(round(t * fps))
    return int(rec.frame_id[i])


def recording_frames(rec: Recording, source: str | Path | None, kind: str = "smoothed",
                     models: Sequence[str] | None = None) -> Iterator[tuple[int, np.ndarray, bool]]:
    """Yield (recorded frame index, overlay image, whether the source frame was found) for every recorded frame."""
    names = list(models) if models else list(rec.models)
    frames = SourceFrames(source) if source else None
    blank = None
    try:
        for i in range(len(rec)):
            img = frames.get(source_index(rec, i, frames.fps)) if frames is not None else None
            found = img is not None
            if img is None:
                if blank is None:
                    w, h = _blank_size(rec)
                    blank = np.full((h, w, 3), 24, np.uint8)
                img = blank
            n = int(rec.num_persons[i])
            ovl = [OverlayModel(nm, rec.models[nm].label, rec.models[nm].joint_set,
                                getattr(rec.models[nm], kind)["joints_2d"][i, :n]) for nm in names]
            caption = f"frame {int(rec.frame_id[i])}" + ("" if found else " (no source video)")
            yield i, draw_overlay(img, rec.boxes[i, :n], rec.track_ids[i, :n].tolist(), ovl, caption=caption), found
    finally:
        if frames is not None:
            frames.close()


def recorded_source(rec: Recording) -> str | None:
    """The recording's own source file (``source_path``, else a ``video:``/``images:`` spec that exists)."""
    p = rec.attrs.get("source_path")
    if p and Path(p).exists():
        return str(p)
    src = str(rec.attrs.get("source", ""))
    kind, _, name = src.partition(":")
    if kind in ("video", "images", "demo") and name and Path(name).expanduser().exists():
        return name
    return None


def render_recording(rec: Recording, out: str | Path, *, source: str | Path | None = None, kind: str = "smoothed",
                     models: Sequence[str] | None = None, fps: float | None = None, overwrite: bool = True,
                     progress: Callable[[int, int], object] | None = None) -> Path:
    """Write the overlay MP4 of a recording: one frame per recorded frame."""
    from engine.live.export.mocap import frame_rate

    src = str(source) if source else recorded_source(rec)
    rate = fps
    if rate is None and src:
        with contextlib.suppress(OSError):
            sf = SourceFrames(src)
            rate = sf.fps
            sf.close()
    rate = rate or frame_rate(rec)
    writer = OverlayVideoWriter(out, rate, overwrite=overwrite)
    with writer:
        for i, img, _ in recording_frames(rec, src, kind, models):
            writer.write(img)
            if progress is not None:
                progress(i + 1, len(rec))
        if writer.frames == 0:
            raise ValueError(f"{getattr(rec, 'path', '?')}: the recording has no frames")
    return Path(out)
