"""Stand-ins shared by the live-engine tests: a predictor that draws a deterministic pose inside each box (so
carried boxes, smoothing and recording can be checked exactly), fake loaded models, fake sources and detectors."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np

from engine.inference.geometry import pixel2cam
from engine.inference.predictor import FramePrediction, ModelOutput
from engine.live.detector import Detections, PersonDetector
from engine.live.sources import FrameSource, SourceInfo
from models.joints import get_joint_set
from models.spec import get_spec


def fake_loaded(name: str, allow_untrained: bool = True, trained: bool = False):
    spec = get_spec(name)
    label = name + ("" if trained else " (untrained weights)")
    return SimpleNamespace(spec=spec, net=None, trained=trained, checkpoint=None, sha256="ab" * 32 if trained else None,
                           label=label)


def fake_loader(name: str, allow_untrained: bool = False):
    return fake_loaded(name)


class FakePredictor:
    """Pose = a fixed pattern spread over the box; depth = RootNet-like 3000 + 10*frame or the given depth.
    ``predict_roots`` is the RootNet-only step of the off-thread RootNet (``engine.live.root_worker``): 3000 + 10*run
    mm per box, after sleeping ``root_sleep_s`` (a slow RootNet)."""

    def __init__(self, models, rootnet=None, **kwargs):
        self.models = {m.spec.name: m for m in models}
        self.rootnet = rootnet
        self.kwargs = kwargs
        self.calls: list[dict] = []
        self.fail_on_call: int | None = None
        self.root_calls: list[dict] = []
        self.root_sleep_s = 0.0

    def predict_roots(self, frame_bgr, boxes_xywh, intrinsics):
        n_run = len(self.root_calls)
        boxes = np.asarray(boxes_xywh, np.float64).reshape(-1, 4)
        self.root_calls.append(dict(n=len(boxes), t0=time.monotonic()))
        if self.root_sleep_s:
            time.sleep(self.root_sleep_s)
        self.root_calls[-1]["t1"] = time.monotonic()
        return np.full(len(boxes), 3000.0 + 10.0 * n_run)

    def predict_frame(self, frame_bgr, boxes_xywh, intrinsics, root_depth_mm=None, run_rootnet=True):
        n_call = len(self.calls)
        self.calls.append(dict(n=len(boxes_xywh), run_rootnet=run_rootnet, root_depth_mm=root_depth_mm))
        if self.fail_on_call is not None and n_call >= self.fail_on_call:
            raise RuntimeError("stand-in predictor failure")
        boxes = np.asarray(boxes_xywh, np.float64).reshape(-1, 4)
        p = len(boxes)
        use_root = self.rootnet is not None and run_rootnet
        if use_root:
            z = np.full(p, 3000.0 + 10.0 * n_call)
        elif root_depth_mm is not None:
            z = np.broadcast_to(np.asarray(root_depth_mm, np.float64), (p,)).copy()
        else:
            z = np.full(p, 4000.0)
        f, c = intrinsics.f, intrinsics.c
        outputs = {}
        for name, lm in self.models.items():
            js = get_joint_set(lm.spec.joint_set)
            j = js.num_joints
            u = np.linspace(0.2, 0.8, j)
            pts = np.stack([boxes[:, None, 0] + boxes[:, None, 2] * u, boxes[:, None, 1] + boxes[:, None, 3] * u], -1)
            dz = (np.linspace(-100, 100, j) - np.linspace(-100, 100, j)[js.root])[None, :] * np.ones((p, 1))
            cam = pixel2cam(np.concatenate([pts, (z[:, None] + dz)[..., None]], -1), f, c)
            cam_root = cam[:, js.root:js.root + 1]
            outputs[name] = ModelOutput(name=name, joint_set=js.name, trained=bool(lm.trained),
                                        coords_cells=np.zeros((p, j, 3)), joints_2d=pts, joints_rel_mm=cam - cam_root,
                                        joints_cam_mm=cam, latency_ms=1.5)
        centre = boxes[:, :2] + boxes[:, 2:] / 2
        root = pixel2cam(np.concatenate([centre, z[:, None]], 1), f, c)
        timings = {"crop": 0.5, "rootnet": 2.0 if use_root else 0.0, **{k: 1.5 for k in self.models}, "post": 0.1}
        return FramePrediction(boxes=boxes.copy(), kept=np.arange(p), skipped=[], root_cam_mm=root,
                               root_source="rootnet" if use_root else "given" if root_depth_mm is not None
                               else "default", outputs=outputs, timings_ms=timings)


class ListSource(FrameSource):
    """Frames from a list (None entries = unreadable frames); not registered."""

    kind = "list"

    def __init__(self, images, options=None):
        super().__init__("list", options)
        self._images = list(images)
        self._i = 0

    def _open(self):
        first = next(im for im in self._images if im is not None)
        return SourceInfo(self.kind, self.name, first.shape[1], first.shape[0], None, False, len(self._images))

    def _grab(self):
        from engine.live.sources import EndOfSource

        if self._i >= len(self._images):
            raise EndOfSource
        self._i += 1
        return self._images[self._i - 1]


class FixedDetector(PersonDetector):
    """Returns the same boxes (with ids) on every real detection; counts its calls."""

    label = "fixed test boxes"

    def __init__(self, boxes, ids, every_n=1):
        super().__init__(every_n)
        self.boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        self.ids = np.asarray(ids, np.int64)
        self.calls = 0

    def _detect(self, image_bgr):
        self.calls += 1
        return Detections(self.boxes.copy(), np.full(len(self.boxes), 0.9, np.float32), self.ids.copy(), "detector")


def test_fake_predictor_pose_lies_in_its_box():
    from engine.inference.camera import CameraIntrinsics

    pred = FakePredictor([fake_loaded("mhp-lpski-w0.5")])
    out = pred.predict_frame(np.zeros((100, 200, 3), np.uint8), [[10, 20, 50, 60]],
                             CameraIntrinsics.from_fov(200, 100), run_rootnet=False)
    j2d = out.outputs["mhp-lpski-w0.5"].joints_2d[0]
    assert j2d[:, 0].min() >= 10 and j2d[:, 0].max() <= 60 and j2d[:, 1].min() >= 20 and j2d[:, 1].max() <= 80
    rel = out.outputs["mhp-lpski-w0.5"].joints_rel_mm[0]
    assert np.allclose(rel[0], 0.0)  # h36m root (pelvis) at the origin
