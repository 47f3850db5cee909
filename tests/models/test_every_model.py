"""Every registered model is built, run and decoded on a real crop: a new model is tested by being registered.

Why: a spec whose builder, runtime or decoding does not fit the others otherwise fails first in the app. The crop is
a frame of the bundled demo clip around its one walker. Torch nets run on random weights (no official file can be
bundled), BlazePose on its bundled file; a model that is only its file (ONNX) is skipped when none is installed.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from assets import asset_path
from engine.inference.camera import CameraIntrinsics
from engine.inference.predictor import Predictor
from models.joints import get_joint_set
from models.loader import LoadedModel, WeightsMissingError, load_model
from models.spec import all_specs

pytestmark = pytest.mark.usefixtures("one_thread")

FRAME_INDEX = 30
PERSON_XYWH = (235.0, 35.0, 165.0, 395.0)  # the walker in frame 30 of assets/demo_person.mp4 (head to shoes)
ROOT_DEPTH_MM = 5000.0


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    cap = cv2.VideoCapture(str(asset_path("demo_person.mp4")))
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, FRAME_INDEX)
        ok, image = cap.read()
    finally:
        cap.release()
    assert ok, "assets/demo_person.mp4: frame 30 could not be read"
    return image


@pytest.fixture(scope="module")
def empty_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("weights")  # no user file is ever picked up: only bundled files or random init


def _load(name: str, weights_dir: Path) -> LoadedModel:
    spec = next(s for s in all_specs() if s.name == name)
    try:
        return load_model(name, weights_dir=weights_dir, allow_untrained=spec.can_run_untrained)
    except WeightsMissingError:
        pytest.skip(f"{name}: no bundled file, and a {spec.backend} model cannot run on random weights "
                    f"(install one with `weights download {name}` to test it)")


@pytest.mark.parametrize("name", [s.name for s in all_specs()])
def test_every_registered_model_runs_and_decodes(name: str, frame: np.ndarray, empty_weights: Path) -> None:
    lm = _load(name, empty_weights)
    img_h, img_w = frame.shape[:2]
    cam = CameraIntrinsics.from_fov(img_w, img_h)
    boxes = np.array([PERSON_XYWH])
    if lm.spec.is_root_model:
        depth = Predictor([], rootnet=lm, device="cpu", flip_test=False).predict_roots(frame, boxes, cam)
        assert depth.shape == (1,) and np.isfinite(depth).all() and depth[0] > 0, depth
        return
    pred = Predictor([lm], device="cpu").predict_frame(frame, boxes, cam, root_depth_mm=ROOT_DEPTH_MM)
    assert list(pred.kept) == [0] and not pred.skipped
    out = pred.outputs[name]
    n_joints = len(out.joints_2d[0])
    assert out.joint_set == lm.spec.joint_set and out.trained == lm.trained
    assert out.joints_2d.shape == (1, n_joints, 2) and out.joints_cam_mm.shape == (1, n_joints, 3)
    assert np.isfinite(out.joints_2d).all() and np.isfinite(out.joints_cam_mm).all()
    assert (out.joints_cam_mm[0, :, 2] > 0).all(), "every joint in front of the camera"
    x, y, w, h = pred.boxes[0]  # the processed crop box: every decoded joint lies in the crop it came from
    pad = 0.05 * max(w, h)
    assert (out.joints_2d[0, :, 0] >= x - pad).all() and (out.joints_2d[0, :, 0] <= x + w + pad).all()
    assert (out.joints_2d[0, :, 1] >= y - pad).all() and (out.joints_2d[0, :, 1] <= y + h + pad).all()
    if lm.trained:  # a trained model finds the walker: joints in her box, head above ankles
        px, py, pw, ph = PERSON_XYWH
        assert (np.abs(out.joints_2d[0, :, 0] - (px + pw / 2)) < pw).all()
        names = get_joint_set(lm.spec.joint_set).names
        head, ankle = names.index("Head"), names.index("R_Ankle")
        assert out.joints_2d[0, head, 1] < py + 0.3 * ph < out.joints_2d[0, ankle, 1]


PAPERS_MODELS = {
    "rootnet-r50", "posenet-r50", "posenet-r50-muco", "convnextpose-xs", "convnextpose-s", "convnextpose-m",
    "convnextpose-l", "mhp-lpski", "mhp-lpski-w0.5", "mhp-lpres", "mhp-lpwo", "integral-r50", "integral-r101",
    "integral-r152-384x288",
}


def test_registry_has_every_papers_model():
    from models import model_names

    assert PAPERS_MODELS <= set(model_names())
