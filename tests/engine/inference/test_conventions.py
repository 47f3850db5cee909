"""engine.inference.conventions, decodings and forward_cap: each model's own crop box and placement as registered
classes, checked against values worked out by hand from the official definitions (docs/protocol_modes.md), flip
conventions found by registration, and the CPU memory cap splitting a forward."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from engine.inference import geometry as geo
from engine.inference.conventions import (
    CROP_POLICIES,
    INTEGRAL_BONE_LENGTH_MM,
    BoxSource,
    conventions_for,
    total_bone_length,
)
from engine.inference.decodings import DECODINGS, Decoding, register_decoding
from engine.inference.forward_cap import capped, crops_within_budget, forward_cap
from engine.inference.predictor import CropBatch, Predictor
from models.joints import H36M18
from models.loader import LoadedModel
from models.spec import ModelSpec, get_spec

torch.set_num_threads(1)


def _src(boxes, root=None, f=(1000.0, 1100.0), c=(500.0, 400.0)) -> BoxSource:
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return BoxSource(b, np.array([1000.0, 1000.0]), np.array(f), np.array(c),
                     None if root is None else np.asarray(root, dtype=np.float64).reshape(-1, 3), "test root")


def test_integral_gt_box_is_the_2000mm_square_around_the_root() -> None:
    # root (100, -50, 5000) mm, f (1000, 1100), c (500, 400): centre (520, 389), w = 2000*1000/5000 = 400,
    # h = 2000*1100/5000 = 440; no aspect fix, no enlargement
    out, ok, label = CROP_POLICIES.lookup("integral-gt")().boxes(_src([[0, 0, 10, 10]], [100.0, -50.0, 5000.0]), 1.0)
    assert ok.all() and "test root" in label
    np.testing.assert_allclose(out[0], [320.0, 169.0, 400.0, 440.0], atol=1e-6)


def test_integral_gt_box_without_a_root_falls_back_to_the_person_box() -> None:
    src = _src([[100, 120, 80, 200]])
    out, ok, label = CROP_POLICIES.lookup("integral-gt")().boxes(src, 1.0)
    np.testing.assert_array_equal(out[0], geo.process_bbox([100, 120, 80, 200], 1000, 1000))
    assert ok.all() and "no root" in label


def test_integral_challenge_box_fixes_the_aspect_then_enlarges_1_1() -> None:
    policy = CROP_POLICIES.lookup("integral-challenge")()
    # tall box, aspect 288/384 = 0.75: centre (130, 150), w 60 -> 0.75 * 200 = 150, then x1.1 -> 165 x 220
    out, ok, _ = policy.boxes(_src([[100, 50, 60, 200], [0, 0, 300, 100]]), 288 / 384)
    np.testing.assert_allclose(out[0], [47.5, 40.0, 165.0, 220.0])
    # wide box: h 100 -> 300 / 0.75 = 400, x1.1 -> 330 x 440 about (150, 50); no clipping to the image
    np.testing.assert_allclose(out[1], [-15.0, -170.0, 330.0, 440.0])
    assert ok.all()


def test_3dmppe_policy_is_process_bbox() -> None:
    boxes = [[100, 120, 80, 200], [-20, 5, 300, 100]]
    out, ok, _ = CROP_POLICIES.lookup("3dmppe")().boxes(_src(boxes), 0.75)
    for row, b in zip(out, boxes):
        np.testing.assert_array_equal(row, geo.process_bbox(b, 1000, 1000, 0.75))
    assert ok.all()


def test_bone_length_rescale_by_hand() -> None:
    spec = get_spec("integral-r152-384x288")  # input 384x288, output 96x72, 72 bins: 4 px per cell
    step = conventions_for(spec, "official").to_camera
    cells = np.tile([36.0, 48.0, 36.0], (18, 1))  # every joint at the pelvis (patch z 0)
    for j in (1, 2, 3):  # right leg at +(7.5, 10) cells = +(30, 40) px: bone 0->1 is 50, 1->2 and 2->3 are 0
        cells[j] = [43.5, 58.0, 36.0]
    for j in (4, 5, 6):  # left leg 7.2 bins deeper: z = 7.2 / 72 * 288 = 28.8 patch px
        cells[j] = [36.0, 48.0, 43.2]
    root = np.array([[200.0, 100.0, 4000.0]])
    xy, cam = step.to_camera(cells[None], spec, np.array([[0.0, 0.0, 288.0, 384.0]]), np.array([1000.0, 1000.0]),
                             np.array([500.0, 500.0]), root)
    s = 4502.881 / (50.0 + 28.8)
    rel = cam[0] - root[0]
    np.testing.assert_allclose(rel[1], [30 * s, 40 * s, 0.0], atol=1e-9)
    np.testing.assert_allclose(rel[4], [0.0, 0.0, 28.8 * s], atol=1e-9)
    np.testing.assert_allclose(rel[[0, 7, 8, 17]], 0.0, atol=1e-9)
    assert total_bone_length(rel) == pytest.approx(INTEGRAL_BONE_LENGTH_MM)
    assert xy.shape == (1, 18, 2)


def test_backproject_is_todays_decoding_to_the_bit() -> None:
    spec = get_spec("posenet-r50")
    rng = np.random.default_rng(0)
    cells = rng.uniform(0, 64, (3, 18, 3))
    boxes = np.array([[10.0, 20.0, 200.0, 200.0]] * 3)
    root = np.array([[1.0, 2.0, 4000.0], [0.0, 0.0, 5000.0], [5.0, 5.0, 6000.0]])
    f, c = np.array([1100.0, 1000.0]), np.array([500.0, 400.0])
    got = conventions_for(spec, "official").to_camera.to_camera(cells, spec, boxes, f, c, root)
    want = geo.decode_to_camera(cells, spec, boxes, f, c, root[:, 2])
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_modes_differ_only_for_models_whose_own_test_differs() -> None:
    for name in ("posenet-r50", "convnextpose-s", "mhp-lpski", "rootnet-r50"):
        spec = get_spec(name)
        assert conventions_for(spec, "official").names == conventions_for(spec, "common").names == {
            "crop": "3dmppe", "pose_to_camera": "backproject"}
    assert conventions_for(get_spec("integral-r50"), "official").names["crop"] == "integral-gt"
    chall = conventions_for(get_spec("integral-r152-384x288"), "official").names
    assert chall == {"crop": "integral-challenge", "pose_to_camera": "bone-length-rescale"}
    assert conventions_for(get_spec("integral-r152-384x288"), "common").names["crop"] == "3dmppe"
    with pytest.raises(ValueError, match="protocol mode"):
        conventions_for(get_spec("integral-r50"), "nonsense")


def test_a_registered_decoding_is_used_by_flip_back() -> None:
    """flip_back finds the mirror by registration: a new decoding needs no edit of geometry."""

    @register_decoding("test-shift")
    class Shift(Decoding):
        def mirror_x(self, x_cells, output_w, input_w):
            return x_cells + 100.0

    try:
        coords = np.zeros((18, 3))
        back = geo.flip_back(coords, H36M18.flip_pairs, 64, "test-shift")
        np.testing.assert_array_equal(back[:, 0], 100.0)
    finally:
        DECODINGS.pop("test-shift")
    with pytest.raises(ValueError, match="unknown decoding"):
        geo.flip_back(coords, H36M18.flip_pairs, 64, "test-shift")


def test_crops_within_budget() -> None:
    assert crops_within_budget(100.0, 1000.0) == 10
    assert crops_within_budget(700.0, 1000.0) == 1  # never below one crop
    assert crops_within_budget(100.0, 0.0) == 0  # budget 0: no cap
    assert capped(0, 5) == 5 and capped(8, 5) == 5 and capped(3, 5) == 3 and capped(4, 0) == 4


class SizeLog(nn.Module):
    """A pose net that records the rows of every forward and returns flat heatmaps."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.spec, self.sizes = spec, []
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.sizes.append(int(x.shape[0]))
        j, d, (h, w) = 18, self.spec.depth_bins, self.spec.output_hw
        return torch.zeros((x.shape[0], j * d, h, w)) + self.w


def test_memory_cap_splits_a_cpu_forward() -> None:
    # 455 MiB declared x 1.5 workspace = 682.5 MiB per crop: a 2048 MiB budget takes 3 crops per forward
    spec = ModelSpec(name="heavy-fake", family="posenet", variant="", joint_set="h36m18", input_hw=(32, 32),
                     normalisation="imagenet_0_255", output_hw=(8, 8), depth_bins=8, decoding="3dmppe",
                     activation_mb=455.0)
    lm = LoadedModel(spec=spec, net=SizeLog(spec), trained=True, checkpoint=None, sha256=None)
    assert forward_cap(lm, torch.device("cpu"), 2048) == 3
    assert forward_cap(lm, torch.device("cuda"), 2048) == 0  # a GPU keeps its out-of-memory back-off
    p = Predictor([lm], None, device="cpu", flip_test=True)
    key = p.group_of[spec.name]
    batch = CropBatch(crops={key: torch.zeros(4, 3, 32, 32)}, boxes={key: np.tile([0.0, 0.0, 32.0, 32.0], (4, 1))},
                      f=np.array([500.0, 500.0]), c=np.array([16.0, 16.0]))
    out = p.predict_batch(batch, np.tile([0.0, 0.0, 4000.0], (4, 1)))
    assert lm.net.sizes == [3, 3, 2]  # 4 crops and their 4 mirrors: 8 rows in even chunks of at most 3
    assert out.outputs[spec.name].joints_cam_mm.shape == (4, 18, 3)
    lm.net.sizes.clear()
    whole = Predictor([lm], None, device="cpu", flip_test=True, micro_batch=0)  # chosen explicitly: no cap
    whole.predict_batch(batch, np.tile([0.0, 0.0, 4000.0], (4, 1)))
    assert lm.net.sizes == [8]


def test_live_integral_box_is_built_around_the_root_where_one_is_known(monkeypatch) -> None:
    from engine.inference.camera import CameraIntrinsics

    spec = get_spec("integral-r50")
    lm = LoadedModel(spec=spec, net=SizeLog(spec), trained=True, checkpoint=None, sha256=None)
    seen: dict = {}
    real = Predictor.predict_batch

    def spy(self, batch, root_cam_mm=None, **kw):
        seen["boxes"] = batch.boxes[self.group_of[spec.name]].copy()
        return real(self, batch, root_cam_mm, **kw)

    monkeypatch.setattr(Predictor, "predict_batch", spy)
    cam = CameraIntrinsics(500.0, 500.0, 320.0, 240.0, 640, 480, source="test")
    frame = np.zeros((480, 640, 3), dtype=np.uint8)
    box = [100.0, 100.0, 101.0, 201.0]  # processed square: centre (150, 200), side 250
    official = Predictor([lm], None, device="cpu", protocol_mode="official")
    pred = official.predict_frame(frame, [box], cam, root_depth_mm=5000.0)
    # root at the square's centre, 5000 mm: the 2000 mm square is 2000 * 500 / 5000 = 200 px about (150, 200)
    np.testing.assert_allclose(seen["boxes"][0], [50.0, 100.0, 200.0, 200.0], atol=1e-6)
    assert "given root" in pred.outputs[spec.name].crop
    pred = official.predict_frame(frame, [box], cam)  # no RootNet, no depth: the detector box, labelled so
    np.testing.assert_array_equal(seen["boxes"][0], geo.process_bbox(box, 640, 480))
    assert "no root" in pred.outputs[spec.name].crop
    common = Predictor([lm], None, device="cpu", protocol_mode="common")
    common.predict_frame(frame, [box], cam, root_depth_mm=5000.0)
    np.testing.assert_array_equal(seen["boxes"][0], geo.process_bbox(box, 640, 480))


class FixedRoot(nn.Module):
    """A RootNet stand-in: the root at the centre cell of its 64x64 map, 5000 mm deep."""

    def forward(self, x: torch.Tensor, k_value: torch.Tensor) -> torch.Tensor:
        return torch.tensor([[32.0, 32.0, 5000.0]]).repeat(x.shape[0], 1)


def test_live_integral_box_around_rootnets_root_in_the_frame(monkeypatch) -> None:
    from engine.inference.camera import CameraIntrinsics

    spec, rn = get_spec("integral-r50"), get_spec("rootnet-r50")
    lm = LoadedModel(spec=spec, net=SizeLog(spec), trained=True, checkpoint=None, sha256=None)
    root = LoadedModel(spec=rn, net=FixedRoot(), trained=True, checkpoint=None, sha256=None)
    seen: dict = {}
    real = Predictor.predict_batch

    def spy(self, batch, root_cam_mm=None, **kw):
        seen["boxes"] = batch.boxes[self.group_of[spec.name]].copy()
        return real(self, batch, root_cam_mm, **kw)

    monkeypatch.setattr(Predictor, "predict_batch", spy)
    cam = CameraIntrinsics(500.0, 500.0, 320.0, 240.0, 640, 480, source="test")
    p = Predictor([lm], root, device="cpu", protocol_mode="official")
    pred = p.predict_frame(np.zeros((480, 640, 3), dtype=np.uint8), [[100.0, 100.0, 101.0, 201.0]], cam)
    # RootNet's root: the centre of the processed square (150, 200) at 5000 mm -> a 200 px square about it
    np.testing.assert_allclose(seen["boxes"][0], [50.0, 100.0, 200.0, 200.0], atol=1e-6)
    assert pred.root_source == "rootnet" and "RootNet root" in pred.outputs[spec.name].crop
    np.testing.assert_allclose(pred.root_cam_mm[0, 2], 5000.0)
