"""MediaPipe BlazePose GHUM landmark model (``pose_landmark_full.tflite``) run through LiteRT, on our own crops.

Why: it is the one pretrained monocular 3D pose model obtainable offline here (docs/blazepose.md). MediaPipe's own
runtime is not needed: the ``.tflite`` file ships in ``assets/blazepose/`` and ``ai-edge-litert`` runs it.

The model (checked at load against the file):

- input ``[1, 256, 256, 3]`` float32 RGB in 0..1 (MediaPipe feeds the crop with ``output_tensor_float_range`` 0..1);
- ``Identity``   ``[1, 195]``: 39 x (x, y, z, visibility logit, presence logit); x, y in input pixels (0..256),
  z in the same pixel scale, relative to the hips (smaller = nearer the camera);
- ``Identity_1`` ``[1, 1]``: pose-present score (already a probability: MediaPipe thresholds it at 0.5 directly);
- ``Identity_2`` ``[1, 256, 256, 1]``: segmentation logits (unused);
- ``Identity_3`` ``[1, 64, 64, 39]``: per-landmark heatmap logits (used to refine x, y as MediaPipe does);
- ``Identity_4`` ``[1, 117]``: 39 x (x, y, z) "world" landmarks in metres.

The first 33 landmarks are the BlazePose topology (``models.blazepose.landmarks``); the last 6 are auxiliary ROI
points and are dropped. World landmarks: origin at the hip midpoint, metres, axes of the crop: x right, y down,
z away from the camera (for an unrotated crop these are the camera's axes up to the perspective of the crop).

Threads: a LiteRT interpreter must not be invoked from two threads at once. ``BlazePoseLandmarker`` keeps one
interpreter per calling thread (``threading.local``), created on first use, so one instance may be shared by
worker threads; each thread's interpreter uses ``num_threads`` CPU threads, or fewer while other programs keep the
cores busy (``models.free_cores``: a second interpreter with fewer threads, built when first needed).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from assets import asset_path
from models.errors import PoseArenaError
from models.free_cores import threads_for

__all__ = [
    "ASSETS_DIR",
    "BlazePoseError",
    "BlazePoseLandmarker",
    "LANDMARK_MODEL",
    "LandmarkResult",
    "NUM_LANDMARKS",
    "litert_available",
    "make_interpreter",
    "refine_from_heatmap",
]

ASSETS_DIR = asset_path("blazepose")
LANDMARK_MODEL = ASSETS_DIR / "pose_landmark_full.tflite"
NUM_LANDMARKS = 33  # kept
_RAW_LANDMARKS = 39  # in the model (33 + 6 auxiliary)
_INPUT = 256


class BlazePoseError(PoseArenaError, RuntimeError):
    """The BlazePose files or runtime are unusable; the message names the file and the cause."""


def litert_available() -> bool:
    try:
        from ai_edge_litert.interpreter import Interpreter  # noqa: F401
    except Exception:
        return False
    return True


def make_interpreter(path: str | Path, num_threads: int = 2) -> Any:
    """A LiteRT interpreter for ``path`` with tensors allocated; BlazePoseError if the file or runtime is missing."""
    path = Path(path)
    if not path.is_file():
        raise BlazePoseError(f"BlazePose model file {path} not found (it ships in assets/blazepose/)")
    try:
        from ai_edge_litert.interpreter import Interpreter
    except Exception as e:
        raise BlazePoseError(f"ai-edge-litert is not installed ({e}); pip install -r requirements-blazepose.txt") \
            from e
    try:
        it = Interpreter(model_path=str(path), num_threads=max(1, int(num_threads)))
        it.allocate_tensors()
    except Exception as e:
        raise BlazePoseError(f"{path}: LiteRT could not load it: {e}") from e
    return it


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80.0, 80.0)))


def refine_from_heatmap(xy_norm: np.ndarray, heatmap: np.ndarray, kernel: int = 9,
                        min_conf: float = 0.5) -> np.ndarray:
    """Refine normalised landmark positions [L,2] (0..1 of the crop) with heatmap logits [H,W,L].

    For each landmark: the ``kernel`` x ``kernel`` window of heatmap cells centred on the landmark's cell, weights =
    sigmoid(logits); when the window's largest weight reaches ``min_conf`` the position becomes the weighted mean of
    the cell indices divided by the map size (MediaPipe's heatmap refinement rule). Otherwise it is left alone.
    All landmarks at once: each window is gathered from the map padded by half a kernel, cells outside the map
    weighing nothing (a per-landmark loop cost 3 ms a crop, more than a tenth of the landmark network).
    """
    hm_h, hm_w, n = heatmap.shape
    out = np.array(xy_norm, dtype=np.float64, copy=True)
    m = min(n, len(out))
    if m == 0:
        return out
    half = kernel // 2
    cx = (out[:m, 0] * hm_w).astype(np.int64)  # truncation toward zero, as int() does
    cy = (out[:m, 1] * hm_h).astype(np.int64)
    inside_map = (cx >= 0) & (cx < hm_w) & (cy >= 0) & (cy < hm_h)
    cx, cy = np.clip(cx, 0, hm_w - 1), np.clip(cy, 0, hm_h - 1)
    offs = np.arange(kernel) - half
    ys, xs = cy[:, None] + offs, cx[:, None] + offs  # [m,k] cell indices of each window
    in_y, in_x = (ys >= 0) & (ys < hm_h), (xs >= 0) & (xs < hm_w)
    lm = np.arange(m)[:, None, None]
    logits = heatmap[np.clip(ys, 0, hm_h - 1)[:, :, None], np.clip(xs, 0, hm_w - 1)[:, None, :], lm]
    w = _sigmoid(logits.astype(np.float64)) * (in_y[:, :, None] & in_x[:, None, :])  # [m,k,k]
    total = w.sum(axis=(1, 2))
    use = inside_map & (w.max(axis=(1, 2)) >= min_conf) & (total > 0)
    safe = np.where(total > 0, total, 1.0)
    mx = (w * xs[:, None, :]).sum(axis=(1, 2)) / safe / hm_w
    my = (w * ys[:, :, None]).sum(axis=(1, 2)) / safe / hm_h
    out[:m, 0] = np.where(use, mx, out[:m, 0])
    out[:m, 1] = np.where(use, my, out[:m, 1])
    return out


@dataclass
class LandmarkResult:
    """BlazePose output for N crops (33 landmarks each)."""

    landmarks_px: np.ndarray  # [N,33,2] x, y in the caller's crop pixels (0..crop width/height)
    z_px: np.ndarray  # [N,33] relative depth, same scale as x (crop pixels), hips ~0, negative = nearer
    visibility: np.ndarray  # [N,33] sigmoid(visibility logit): in view and not occluded
    presence: np.ndarray  # [N,33] sigmoid(presence logit): inside the crop
    pose_score: np.ndarray  # [N] pose-present probability (MediaPipe rejects < 0.5)
    world_m: np.ndarray  # [N,33,3] metres, hip-midpoint origin, x right, y down, z away from the camera

    def __len__(self) -> int:
        return len(self.pose_score)


class BlazePoseLandmarker:
    """Runs ``pose_landmark_full.tflite`` on square RGB crops of one person each.

    ``__call__(crops)``: ``crops`` is [N,H,W,3] (or one [H,W,3]) RGB, uint8 0..255 or float 0..255 (floats with a
    maximum <= 1 are read as 0..1 only when ``float_range="0_1"``); any square size is resized to 256x256
    (INTER_AREA down, INTER_LINEAR up). Non-square crops are stretched, so pass square ones (our ``process_bbox``
    boxes with aspect 1 are square). Coordinates come back in the caller's crop pixels.
    """

    def __init__(self, model_path: str | Path | None = None, num_threads: int = 2, refine: bool = True,
                 float_range: str = "0_255", adapt_threads: bool = True) -> None:
        if float_range not in ("0_255", "0_1"):
            raise ValueError(f"float_range must be '0_255' or '0_1', got {float_range!r}")
        self.model_path = Path(model_path) if model_path else LANDMARK_MODEL
        self.num_threads = int(num_threads)  # the most; fewer while other programs hold the cores (adapt_threads)
        self.adapt_threads = bool(adapt_threads)
        self.refine = bool(refine)
        self.float_range = float_range
        self._local = threading.local()
        it = self._interpreter()  # load now so a bad file fails at construction, and check the layout (this also
        # takes the first load sample: by the first frame the thread count already follows the other programs)
        self._check_layout(it)

    # -------------------------------------------------------------------------------------------- interpreter

    def _interpreter(self) -> Any:
        """This thread's interpreter for the thread count to use now (``models.free_cores``: fewer while other
        programs keep the cores busy); each count's interpreter is built on first use and kept."""
        n = threads_for(self.num_threads) if self.adapt_threads else self.num_threads
        local = self._local
        made = getattr(local, "by_threads", None)
        if made is None:
            made = local.by_threads = {}
        entry = made.get(n)
        if entry is None:
            it = make_interpreter(self.model_path, n)
            ins = it.get_input_details()[0]
            outs = {d["name"]: d["index"] for d in it.get_output_details()}
            entry = made[n] = (it, ins["index"], outs)
        local.it, local.inp, local.outs = entry
        local.threads = n
        return entry[0]

    def _check_layout(self, it: Any) -> None:
        ins = it.get_input_details()
        shapes = {d["name"]: tuple(int(s) for s in d["shape"]) for d in it.get_output_details()}
        want = {"Identity": (1, _RAW_LANDMARKS * 5), "Identity_1": (1, 1), "Identity_3": (1, 64, 64, _RAW_LANDMARKS),
                "Identity_4": (1, _RAW_LANDMARKS * 3)}
        if len(ins) != 1 or tuple(int(s) for s in ins[0]["shape"]) != (1, _INPUT, _INPUT, 3) \
                or ins[0]["dtype"] != np.float32 or any(shapes.get(k) != v for k, v in want.items()):
            raise BlazePoseError(f"{self.model_path}: not the BlazePose GHUM full landmark model (input "
                                 f"{[tuple(d['shape']) for d in ins]}, outputs {shapes})")

    # ------------------------------------------------------------------------------------------------ running

    def _prepare(self, crop: np.ndarray) -> np.ndarray:
        a = np.asarray(crop)
        if a.ndim != 3 or a.shape[2] != 3:
            raise ValueError(f"BlazePoseLandmarker: expected HxWx3 RGB crops, got shape {a.shape}")
        if a.shape[0] != _INPUT or a.shape[1] != _INPUT:
            interp = cv2.INTER_AREA if min(a.shape[:2]) > _INPUT else cv2.INTER_LINEAR
            a = cv2.resize(a, (_INPUT, _INPUT), interpolation=interp)
        x = np.empty((1, *a.shape), np.float32)  # one buffer: scaled and clipped in place
        if a.strides[2] != a.itemsize:  # channel planes (an NCHW tensor's HWC view): interleaved by one copy, as
            a = cv2.merge([a[:, :, 0], a[:, :, 1], a[:, :, 2]])  # numpy's strided division cost 4x as much
        if a.dtype == np.uint8 or self.float_range == "0_255":
            np.divide(a, np.float32(255.0), out=x[0], dtype=np.float32, casting="unsafe")
        else:
            x[0] = a
        return np.clip(x, 0.0, 1.0, out=x)

    def run_one(self, crop: np.ndarray) -> dict[str, np.ndarray]:
        """Raw outputs for one crop (39 landmarks, un-sigmoided logits, input-pixel units), for inspection."""
        it = self._interpreter()
        it.set_tensor(self._local.inp, self._prepare(crop))
        it.invoke()
        o = self._local.outs
        return {  # get_tensor returns copies: nothing here aliases the interpreter's buffers
            "landmarks": it.get_tensor(o["Identity"]).reshape(_RAW_LANDMARKS, 5),
            "pose_score": it.get_tensor(o["Identity_1"]).reshape(()),
            "heatmap": it.get_tensor(o["Identity_3"])[0],
            "world": it.get_tensor(o["Identity_4"]).reshape(_RAW_LANDMARKS, 3),
        }

    def __call__(self, crops: np.ndarray | list[np.ndarray]) -> LandmarkResult:
        if isinstance(crops, np.ndarray) and crops.ndim == 3:
            crops = crops[None]
        n = len(crops)
        lm = np.zeros((n, NUM_LANDMARKS, 2), np.float32)
        z = np.zeros((n, NUM_LANDMARKS), np.float32)
        vis = np.zeros((n, NUM_LANDMARKS), np.float32)
        pres = np.zeros((n, NUM_LANDMARKS), np.float32)
        score = np.zeros(n, np.float32)
        world = np.zeros((n, NUM_LANDMARKS, 3), np.float32)
        for k in range(n):
            crop = np.asarray(crops[k])
            ch, cw = crop.shape[:2]
            raw = self.run_one(crop)
            pts = raw["landmarks"][:NUM_LANDMARKS]
            xy = pts[:, :2] / _INPUT
            if self.refine:
                xy = refine_from_heatmap(xy, raw["heatmap"][..., :NUM_LANDMARKS])
            lm[k] = xy * np.array([cw, ch])
            z[k] = pts[:, 2] * (cw / _INPUT)
            vis[k] = _sigmoid(pts[:, 3])
            pres[k] = _sigmoid(pts[:, 4])
            score[k] = float(raw["pose_score"])
            world[k] = raw["world"][:NUM_LANDMARKS]
        return LandmarkResult(lm, z, vis, pres, score, world)
