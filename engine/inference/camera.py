"""Pinhole camera intrinsics: what turns image pixels + depth into camera millimetres.

An uncalibrated webcam gets ``CameraIntrinsics.from_fov`` (60° horizontal FOV, principal point at the image centre,
as the 3DMPPE demos assume); its ``source`` says so, so every view can label absolute positions as approximate.
Calibrated cameras load from OpenCV FileStorage YAML/XML (``camera_matrix`` or ``K``) or JSON.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from models.errors import PoseArenaError

__all__ = ["CameraIntrinsics", "IntrinsicsError", "load_intrinsics"]

ASPECT_TOLERANCE = 0.01  # relative: 1920x1088 (a codec's padded height) still counts as 16:9


class IntrinsicsError(PoseArenaError, ValueError):
    """A calibration file that cannot be read; the message names the file and what is wrong."""


@dataclass(frozen=True)
class CameraIntrinsics:
    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    source: str  # where the numbers came from, shown to the user ("assumed 60° horizontal FOV", a file path, ...)

    def __post_init__(self) -> None:
        vals = (self.fx, self.fy, self.cx, self.cy)
        if not all(math.isfinite(float(v)) for v in vals) or self.fx <= 0 or self.fy <= 0:
            raise ValueError(f"invalid intrinsics fx={self.fx} fy={self.fy} cx={self.cx} cy={self.cy} ({self.source})")

    @classmethod
    def from_fov(cls, width: int, height: int, hfov_deg: float = 60.0) -> CameraIntrinsics:
        """Square pixels, principal point at the image centre, focal length from the horizontal field of view."""
        if width <= 0 or height <= 0:
            raise ValueError(f"from_fov: image size must be positive, got {width}x{height}")
        if not 0.0 < hfov_deg < 180.0:
            raise ValueError(f"from_fov: horizontal FOV must be in (0, 180) degrees, got {hfov_deg}")
        f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        return cls(f, f, width / 2.0, height / 2.0, int(width), int(height),
                   source=f"assumed {hfov_deg:g}° horizontal FOV")

    @property
    def f(self) -> tuple[float, float]:
        return (float(self.fx), float(self.fy))

    @property
    def c(self) -> tuple[float, float]:
        return (float(self.cx), float(self.cy))

    @property
    def matrix(self) -> np.ndarray:
        """The 3x3 camera matrix K."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def hfov_deg(self) -> float:
        return math.degrees(2.0 * math.atan(self.width / (2.0 * self.fx)))

    def scaled_to(self, width: int, height: int) -> CameraIntrinsics:
        """The same camera at another resolution of the same aspect ratio (``source`` says it was scaled).

        Why refuse another aspect ratio: the frames are then a crop or a stretch of what was calibrated, and scaling
        x and y apart would give unequal focal lengths (fx 1000, fy 750) for square pixels: every depth and 3D pose
        would be silently wrong. IntrinsicsError names both sizes."""
        if (width, height) == (self.width, self.height):
            return self
        if width <= 0 or height <= 0 or abs((width / height) / (self.width / self.height) - 1.0) > ASPECT_TOLERANCE:
            raise IntrinsicsError(
                f"{self.source}: the calibration is for {self.width}x{self.height} frames but the frames are "
                f"{width}x{height}, another aspect ratio ({self.width / self.height:.3f} vs "
                f"{width / max(height, 1):.3f}); it cannot be scaled without distorting the focal lengths: calibrate "
                f"the camera at {width}x{height}, or run without the calibration (assumed field of view)")
        sx, sy = width / self.width, height / self.height
        return replace(self, fx=self.fx * sx, fy=self.fy * sy, cx=self.cx * sx, cy=self.cy * sy,
                       width=int(width), height=int(height),
                       source=f"{self.source}, calibrated at {self.width}x{self.height} and scaled to "
                              f"{width}x{height} (same aspect ratio)")


def _from_matrix(k: np.ndarray, path: Path) -> tuple[float, float, float, float]:
    k = np.asarray(k, dtype=np.float64)
    if k.shape != (3, 3):
        raise IntrinsicsError(f"{path}: camera matrix must be 3x3, got shape {k.shape}")
    return float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2])


def _size(w: float | None, h: float | None, cx: float, cy: float) -> tuple[int, int, str]:
    if w and h:
        return int(w), int(h), ""
    return int(round(2 * cx)), int(round(2 * cy)), ", image size guessed from the principal point"


def _node_matrix(node) -> np.ndarray | None:
    """A FileStorage node as a matrix: ``!!opencv-matrix``, or a plain (possibly nested) number list."""
    if node.isSeq():
        vals = []
        for i in range(node.size()):
            item = node.at(i)
            if item.isSeq():
                vals.extend(item.at(j).real() for j in range(item.size()))
            else:
                vals.append(item.real())
        return np.array(vals, dtype=np.float64).reshape(3, 3) if len(vals) == 9 else np.array(vals)
    return node.mat()


def _read_yaml(path: Path) -> tuple[float, float, float, float, float | None, float | None]:
    import cv2

    def fail(e: Exception) -> IntrinsicsError:
        msg = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        return IntrinsicsError(f"{path}: not a readable OpenCV FileStorage YAML/XML file ({msg})")

    try:
        fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
    except Exception as e:  # cv2.error, or SystemError for some parser failures
        raise fail(e) from None
    try:
        if not fs.isOpened():
            raise IntrinsicsError(f"{path}: OpenCV FileStorage could not open it")
        k = None
        for key in ("camera_matrix", "K", "cameraMatrix"):
            node = fs.getNode(key)
            if not node.empty():
                k = _node_matrix(node)
                break
        if k is None:
            raise IntrinsicsError(f"{path}: no 'camera_matrix' or 'K' entry")
        sizes: list[float | None] = []
        for names in (("image_width", "width"), ("image_height", "height")):
            nodes = [fs.getNode(n) for n in names]
            sizes.append(next((n.real() for n in nodes if not n.empty()), None))
    except IntrinsicsError:
        raise
    except Exception as e:
        raise fail(e) from None
    finally:
        fs.release()
    return (*_from_matrix(k, path), sizes[0], sizes[1])


def _read_json(path: Path) -> tuple[float, float, float, float, float | None, float | None]:
    try:
        d = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise IntrinsicsError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(d, dict):
        raise IntrinsicsError(f"{path}: expected a JSON object with fx, fy, cx, cy (or f, c, or camera_matrix)")
    try:
        if all(k in d for k in ("fx", "fy", "cx", "cy")):
            fx, fy, cx, cy = (float(d[k]) for k in ("fx", "fy", "cx", "cy"))
        elif "f" in d and "c" in d:
            (fx, fy), (cx, cy) = (float(v) for v in d["f"]), (float(v) for v in d["c"])
        elif "camera_matrix" in d or "K" in d:
            fx, fy, cx, cy = _from_matrix(d.get("camera_matrix", d.get("K")), path)
        else:
            raise IntrinsicsError(f"{path}: needs fx, fy, cx, cy, or f: [fx, fy] and c: [cx, cy], or camera_matrix")
        w = d.get("width", d.get("image_width"))
        h = d.get("height", d.get("image_height"))
        return fx, fy, cx, cy, (float(w) if w else None), (float(h) if h else None)
    except IntrinsicsError:
        raise
    except (TypeError, ValueError) as e:
        raise IntrinsicsError(f"{path}: malformed intrinsics values ({e})") from None


def load_intrinsics(path: str | Path, width: int | None = None, height: int | None = None) -> CameraIntrinsics:
    """Read a calibration: ``.json`` as JSON, anything else (``.yaml``/``.yml``/``.xml``) via cv2.FileStorage.

    The image size comes from the file (``image_width``/``image_height`` or ``width``/``height``), else from the
    arguments, else it is guessed as twice the principal point (and ``source`` says so).
    """
    p = Path(path)
    if not p.is_file():
        raise IntrinsicsError(f"{p}: intrinsics file not found")
    fx, fy, cx, cy, w, h = _read_json(p) if p.suffix.lower() == ".json" else _read_yaml(p)
    w, h, note = _size(w or width, h or height, cx, cy)
    try:
        return CameraIntrinsics(fx, fy, cx, cy, w, h, source=f"{p}{note}")
    except ValueError as e:
        raise IntrinsicsError(f"{p}: {e}") from None
