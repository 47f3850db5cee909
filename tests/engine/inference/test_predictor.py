"""engine.inference.predictor end to end with fake networks whose soft-argmax lands on a known 3D skeleton, plus
engine.inference.device.

The scene: an asymmetric 18-joint skeleton per person in camera mm, projected with known intrinsics. A fake pose net
reads which person it sees (a marker painted at the box centre) and whether its input is mirrored (a horizontal
gradient painted over the frame), and outputs Gaussian logits centred on that person's cells: the expectation of a
sigma = 1 cell Gaussian on the integer grid equals its centre to ~1e-7 cells, so decoding must recover the skeleton.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from torch import nn

from engine.inference import geometry as geo
from engine.inference.camera import CameraIntrinsics
from engine.inference.device import autocast, pick_device
from engine.inference.predictor import FramePrediction, Predictor
from models.joints import H36M18
from models.loader import LoadedModel
from models.spec import ModelSpec, get_spec

torch.set_num_threads(1)

IMG_W, IMG_H = 640, 480
CAM = CameraIntrinsics(500.0, 500.0, 320.0, 240.0, IMG_W, IMG_H, source="test")

# mm, relative to the pelvis, camera axes (y down). Raised right arm, bent left knee: mirror-asymmetric.
TEMPLATE = np.array([
    [0, 0, 0], [-120, 10, 20], [-140, 420, 80], [-150, 820, 30], [120, 0, -10], [200, 380, -150],
    [180, 760, 100], [10, -230, 10], [20, -480, 30], [30, -560, -80], [25, -650, 0], [170, -450, 40],
    [260, -220, 90], [300, 0, 160], [-160, -440, 20], [-330, -600, -60], [-400, -800, -200], [5, -445, 30],
], dtype=np.float64)

# (input box x, y, w, h) and root depth per person; C reaches past the left edge of the frame.
PERSONS = {
    0: ((40.0, 60.0, 161.0, 161.0), 8000.0),
    1: ((400.0, 200.0, 161.0, 161.0), 9000.0),
    2: ((-40.0, 250.0, 161.0, 161.0), 8500.0),
}


def box_centre(box) -> tuple[float, float]:
    x, y, w, h = box  # sanitised box is [max(0,x), y, w-1, h-1] (process_bbox quirk), centre of that
    x1, y1 = max(0.0, x), max(0.0, y)
    return x1 + (w - 1) / 2, y1 + (h - 1) / 2


def skeleton_cam(pid: int) -> np.ndarray:
    box, z = PERSONS[pid]
    u, v = box_centre(box)
    u, v = u + 4.0, v - 6.0  # the pelvis is not exactly at the box centre
    pelvis = np.array([(u - CAM.cx) / CAM.fx * z, (v - CAM.cy) / CAM.fy * z, z])
    return TEMPLATE + pelvis


def target_cells(pid: int, spec: ModelSpec) -> np.ndarray:
    """Where an ideal net puts person pid's joints: projection, then the crop box's linear map to the heatmap."""
    box, z_root = PERSONS[pid]
    in_h, in_w = spec.input_hw
    pb = geo.process_bbox(box, IMG_W, IMG_H, aspect=in_w / in_h)
    p = skeleton_cam(pid)
    u = p[:, 0] / p[:, 2] * CAM.fx + CAM.cx
    v = p[:, 1] / p[:, 2] * CAM.fy + CAM.cy
    out_h, out_w = spec.output_hw
    cx = (u - pb[0]) / pb[2] * out_w
    cy = (v - pb[1]) / pb[3] * out_h
    cz = ((p[:, 2] - z_root) / spec.depth_range_mm + 0.5) * spec.depth_bins
    return np.stack([cx, cy, cz], axis=1)


def mirrored(cells: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """What an ideal net outputs for the width-mirrored crop: left/right joints exchanged, x mirrored in the
    model's own convention (3DMPPE: heatmap cells; Integral: patch pixels)."""
    out = cells.copy()
    w = spec.output_hw[1]
    if spec.decoding == "integral":
        in_w = spec.input_hw[1]
        out[:, 0] = (in_w - 1 - cells[:, 0] * in_w / w) * w / in_w
    else:
        out[:, 0] = w - 1 - cells[:, 0]
    for a, b in H36M18.flip_pairs:
        out[[a, b]] = out[[b, a]]
    return out


def make_frame() -> np.ndarray:
    frame = np.zeros((IMG_H, IMG_W, 3), dtype=np.uint8)
    frame[:, :, 0] = (20 + np.arange(IMG_W) * 200 / (IMG_W - 1)).astype(np.uint8)[None, :]  # B: left -> right
    for pid, (box, _) in PERSONS.items():
        u, v = (int(round(t)) for t in box_centre(box))
        frame[v - 8:v + 8, u - 8:u + 8, 1] = 40 * (pid + 1)  # G marker = person id
    return frame


class FakePoseNet(nn.Module):
    """Outputs Gaussian logits at the cells of the person it sees; mirrored input -> mirrored, swapped pose."""

    def __init__(self, spec: ModelSpec, equivariant: bool = True, sigma: float = 1.0) -> None:
        super().__init__()
        self.spec, self.equivariant, self.sigma = spec, equivariant, sigma
        stats = geo.NORMALISATIONS[spec.normalisation] or ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
        self.mean, self.std = stats
        self.targets = {pid: target_cells(pid, spec) for pid in PERSONS}
        self.calls: list[tuple[int, bool]] = []
        self.batch_sizes: list[int] = []
        self.register_buffer("anchor", torch.zeros(1))  # gives .to(device) something to move

    def read(self, x: torch.Tensor) -> tuple[int, bool]:
        h, w = x.shape[-2:]
        g = float(x[1, h // 2, w // 2]) * self.std[1] + self.mean[1]
        b = x[2].float() * self.std[2] + self.mean[2]
        q = w // 4
        return int(round(g / 40.0)) - 1, bool(b[:, :q].mean() > b[:, -q:].mean())

    def volume(self, cells: np.ndarray) -> torch.Tensor:
        (oh, ow), d = self.spec.output_hw, self.spec.depth_bins
        t = torch.as_tensor(cells, dtype=torch.float32)
        k = 1.0 / (2 * self.sigma ** 2)
        ax = -k * (torch.arange(ow)[None, :] - t[:, 0:1]) ** 2  # [J, W]
        ay = -k * (torch.arange(oh)[None, :] - t[:, 1:2]) ** 2
        az = -k * (torch.arange(d)[None, :] - t[:, 2:3]) ** 2
        vol = az[:, :, None, None] + ay[:, None, :, None] + ax[:, None, None, :]  # [J, D, H, W]
        return vol.reshape(-1, oh, ow)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.batch_sizes.append(int(x.shape[0]))
        outs = []
        for i in range(x.shape[0]):
            pid, flipped = self.read(x[i])
            self.calls.append((pid, flipped))
            cells = self.targets[pid]
            if flipped and self.equivariant:
                cells = mirrored(cells, self.spec)
            outs.append(self.volume(cells))
        return torch.stack(outs).to(x.device) + 0 * self.anchor


class FakeRootNet(nn.Module):
    """Root at map cell (32, 32) (the crop centre) and depth = 0.8 * k_value, like RootNet's gamma * k."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("anchor", torch.zeros(1))
        self.k_seen: list[np.ndarray] = []

    def forward(self, x: torch.Tensor, k_value: torch.Tensor) -> torch.Tensor:
        self.k_seen.append(k_value.detach().cpu().numpy().ravel().copy())
        n = x.shape[0]
        xy = torch.full((n, 2), 32.0, device=x.device)
        return torch.cat([xy, 0.8 * k_value.reshape(n, 1).float()], dim=1)


def loaded(spec: ModelSpec, net: nn.Module) -> LoadedModel:
    return LoadedModel(spec=spec, net=net, trained=True, checkpoint=None, sha256=None)


POSENET = get_spec("posenet-r50")
INTEGRAL = get_spec("integral-r152-384x288")


def boxes_for(pids) -> np.ndarray:
    return np.array([PERSONS[p][0] for p in pids])


def depths_for(pids) -> np.ndarray:
    return np.array([PERSONS[p][1] for p in pids])


def assert_recovers(pred: FramePrediction, name: str, pids, atol_mm: float = 1.0) -> None:
    out = pred.outputs[name]
    for row, pid in enumerate(pids):
        truth = skeleton_cam(pid)
        np.testing.assert_allclose(out.joints_cam_mm[row], truth, rtol=0, atol=atol_mm)
        np.testing.assert_allclose(out.joints_rel_mm[row], truth - truth[0], rtol=0, atol=atol_mm)
        proj = np.stack([truth[:, 0] / truth[:, 2] * CAM.fx + CAM.cx, truth[:, 1] / truth[:, 2] * CAM.fy + CAM.cy], 1)
        np.testing.assert_allclose(out.joints_2d[row], proj, rtol=0, atol=0.05)


@pytest.mark.parametrize("spec", [POSENET, INTEGRAL], ids=["3dmppe", "integral-384x288"])
def test_end_to_end_given_root(spec):
    net = FakePoseNet(spec)
    pred = Predictor([loaded(spec, net)], device="cpu").predict_frame(
        make_frame(), boxes_for([0, 1]), CAM, root_depth_mm=depths_for([0, 1]))
    assert pred.root_source == "given"
    assert pred.kept.tolist() == [0, 1] and pred.skipped == []
    assert [pid for pid, _ in net.calls] == [0, 1] and not any(f for _, f in net.calls)
    assert net.batch_sizes == [2]  # one batched forward over all persons
    assert_recovers(pred, spec.name, [0, 1])
    # root: box centre at the given depth
    centre = pred.boxes[:, :2] + pred.boxes[:, 2:] / 2
    np.testing.assert_allclose(centre, [box_centre(PERSONS[p][0]) for p in (0, 1)])
    np.testing.assert_allclose(pred.root_cam_mm[:, 2], depths_for([0, 1]))
    np.testing.assert_allclose(pred.root_cam_mm[:, 0], (centre[:, 0] - CAM.cx) / CAM.fx * depths_for([0, 1]))
    out = pred.outputs[spec.name]
    assert out.name == spec.name and out.joint_set == "h36m18" and out.trained
    assert out.coords_cells.shape == (2, 18, 3) and out.latency_ms >= 0
    assert {"crop", "rootnet", spec.name, "post"} <= set(pred.timings_ms)


@pytest.mark.parametrize("spec", [POSENET, INTEGRAL], ids=["3dmppe", "integral-384x288"])
def test_flip_test_swaps_left_and_right(spec):
    net = FakePoseNet(spec)
    pred = Predictor([loaded(spec, net)], device="cpu", flip_test=True).predict_frame(
        make_frame(), boxes_for([0, 1]), CAM, root_depth_mm=depths_for([0, 1]))
    assert sorted(net.calls) == [(0, False), (0, True), (1, False), (1, True)]  # it did see mirrored crops
    assert net.batch_sizes == [4]  # original and mirrored crops in one forward
    assert_recovers(pred, spec.name, [0, 1])
    # the pose is asymmetric enough that a missing swap or a wrong mirror convention would show up
    truth = skeleton_cam(0)
    wrong = truth.copy()
    for a, b in H36M18.flip_pairs:
        wrong[[a, b]] = wrong[[b, a]]
    assert np.abs(wrong - truth).max() > 300


def test_flip_test_uses_the_mirrored_prediction():
    # a net that ignores the mirror (returns the un-mirrored pose for a mirrored crop) must be punished
    net = FakePoseNet(POSENET, equivariant=False)
    pred = Predictor([loaded(POSENET, net)], device="cpu", flip_test=True).predict_frame(
        make_frame(), boxes_for([0]), CAM, root_depth_mm=8000.0)
    err = np.abs(pred.outputs[POSENET.name].joints_cam_mm[0] - skeleton_cam(0)).max()
    assert err > 50


def test_batched_equals_one_by_one_and_partly_outside():
    net = FakePoseNet(POSENET)
    p = Predictor([loaded(POSENET, net)], device="cpu", flip_test=True)
    frame = make_frame()
    together = p.predict_frame(frame, boxes_for([0, 1, 2]), CAM, root_depth_mm=depths_for([0, 1, 2]))
    assert together.boxes[2, 0] < 0  # person 2's crop reaches outside the frame (zero border)
    assert_recovers(together, POSENET.name, [0, 1, 2])
    for row, pid in enumerate([0, 1, 2]):
        alone = p.predict_frame(frame, boxes_for([pid]), CAM, root_depth_mm=PERSONS[pid][1])
        for key in ("coords_cells", "joints_2d", "joints_cam_mm", "joints_rel_mm"):
            np.testing.assert_allclose(getattr(alone.outputs[POSENET.name], key)[0],
                                       getattr(together.outputs[POSENET.name], key)[row], rtol=0, atol=1e-6)
        np.testing.assert_allclose(alone.boxes[0], together.boxes[row])


def test_partly_outside_crop_has_zero_border():
    pb = geo.process_bbox(PERSONS[2][0], IMG_W, IMG_H)
    patch, _ = geo.crop_patch(make_frame(), pb, (256, 256))
    assert pb[0] < 0 and patch[:, :20].max() == 0.0 and patch[:, 40:].max() > 0


def test_zero_persons():
    p = Predictor([loaded(POSENET, FakePoseNet(POSENET)), loaded(INTEGRAL, FakePoseNet(INTEGRAL))],
                  rootnet=loaded(get_spec("rootnet-r50"), FakeRootNet()), device="cpu", flip_test=True)
    for boxes in ([], np.zeros((0, 4)), None):
        pred = p.predict_frame(make_frame(), boxes, CAM)
        assert pred.boxes.shape == (0, 4) and pred.kept.shape == (0,) and pred.root_cam_mm.shape == (0, 3)
        assert pred.skipped == []
        for name in (POSENET.name, INTEGRAL.name):
            o = pred.outputs[name]
            assert o.coords_cells.shape == (0, 18, 3) and o.joints_2d.shape == (0, 18, 2)
            assert o.joints_cam_mm.shape == (0, 18, 3) and o.joints_rel_mm.shape == (0, 18, 3)


def test_degenerate_boxes_are_skipped_with_a_reason():
    net = FakePoseNet(POSENET)
    boxes = np.array([[np.nan, 0, 10, 10], [10, 10, 0, 50], PERSONS[1][0], [700, 10, 20, 20], [5, 5, -3, 4]])
    pred = Predictor([loaded(POSENET, net)], device="cpu").predict_frame(make_frame(), boxes, CAM,
                                                                       root_depth_mm=9000.0)
    assert pred.kept.tolist() == [2]
    reasons = dict(pred.skipped)
    assert sorted(reasons) == [0, 1, 3, 4]
    assert "non-finite" in reasons[0] and "size" in reasons[1] and "outside" in reasons[3] and "size" in reasons[4]
    assert_recovers(pred, POSENET.name, [1])
    with pytest.raises(ValueError, match="root_depth_mm"):
        Predictor([loaded(POSENET, net)], device="cpu").predict_frame(make_frame(), boxes, CAM, root_depth_mm=[1, 2])


def test_rootnet_and_crops_once_per_group(monkeypatch):
    calls = []
    real = geo.crop_patch

    def counting(img, bbox, hw):
        calls.append(tuple(hw))
        return real(img, bbox, hw)

    monkeypatch.setattr(geo, "crop_patch", counting)
    other = ModelSpec(name="posenet-twin", family="posenet", variant="", joint_set="h36m18", input_hw=(256, 256),
                      normalisation="imagenet_0_255", output_hw=(64, 64), depth_bins=64, decoding="3dmppe")
    root = FakeRootNet()
    p = Predictor([loaded(POSENET, FakePoseNet(POSENET)), loaded(other, FakePoseNet(other)),
                   loaded(INTEGRAL, FakePoseNet(INTEGRAL))], rootnet=loaded(get_spec("rootnet-r50"), root),
                  device="cpu")
    assert len(p.groups) == 2
    pred = p.predict_frame(make_frame(), boxes_for([0, 1]), CAM, root_depth_mm=[1.0, 2.0])  # ignored: RootNet runs
    # two persons: one 256x256 crop each shared by both 3DMPPE models and RootNet, one 384x288 crop each
    assert sorted(calls) == [(256, 256)] * 2 + [(384, 288)] * 2
    assert pred.root_source == "rootnet"
    # k from the processed box and the intrinsics; root at the box centre (cell 32 of 64), Z = 0.8 k
    k = np.sqrt(2000.0 * 2000.0 * CAM.fx * CAM.fy / (pred.boxes[:, 2] * pred.boxes[:, 3]))
    np.testing.assert_allclose(root.k_seen[0], k, rtol=1e-6)
    z = 0.8 * k.astype(np.float32)
    centre = pred.boxes[:, :2] + pred.boxes[:, 2:] / 2
    np.testing.assert_allclose(pred.root_cam_mm[:, 2], z, rtol=1e-6)
    np.testing.assert_allclose(pred.root_cam_mm[:, 1], (centre[:, 1] - CAM.cy) / CAM.fy * z, rtol=1e-6)
    # joints: the pose's own x, y; depth relative to RootNet's Z
    for name in (POSENET.name, "posenet-twin", INTEGRAL.name):
        o = pred.outputs[name]
        for row, pid in enumerate([0, 1]):
            truth = skeleton_cam(pid)
            np.testing.assert_allclose(o.joints_cam_mm[row, :, 2], truth[:, 2] - PERSONS[pid][1] + z[row], atol=1.0)
            np.testing.assert_allclose(o.joints_rel_mm[row, 0], 0.0, atol=1e-9)
    assert pred.timings_ms["rootnet"] >= 0
    # run_rootnet=False: the given depths (per input box), else the default
    given = p.predict_frame(make_frame(), boxes_for([0, 1]), CAM, root_depth_mm=depths_for([0, 1]), run_rootnet=False)
    assert given.root_source == "given" and given.timings_ms["rootnet"] == 0.0
    assert_recovers(given, POSENET.name, [0, 1])
    default = p.predict_frame(make_frame(), boxes_for([0]), CAM, run_rootnet=False)
    assert default.root_source == "default" and default.root_cam_mm[0, 2] == 4000.0


def test_constructor_checks():
    root = loaded(get_spec("rootnet-r50"), FakeRootNet())
    with pytest.raises(ValueError, match="not a pose model"):
        Predictor([root], device="cpu")
    with pytest.raises(ValueError, match="given twice"):
        Predictor([loaded(POSENET, FakePoseNet(POSENET)), loaded(POSENET, FakePoseNet(POSENET))], device="cpu")
    with pytest.raises(ValueError, match="precision"):
        Predictor([], device="cpu", precision="int8")
    p = Predictor([loaded(POSENET, FakePoseNet(POSENET))], device="cpu")
    with pytest.raises(RuntimeError, match="no RootNet"):
        p.infer_root(torch.zeros(1, 3, 256, 256), np.ones(1))
    with pytest.raises(KeyError, match="not loaded"):
        p.infer_cells("nope", torch.zeros(1, 3, 256, 256))


def test_wrong_head_shape_is_reported():
    class Bad(nn.Module):
        def forward(self, x):
            return torch.zeros(x.shape[0], 18 * 32, 64, 64)

    p = Predictor([loaded(POSENET, Bad())], device="cpu")
    with pytest.raises(RuntimeError, match="posenet-r50: network returned"):
        p.infer_cells(POSENET.name, torch.zeros(1, 3, 256, 256))


def test_default_intrinsics_when_none():
    net = FakePoseNet(POSENET)
    pred = Predictor([loaded(POSENET, net)], device="cpu").predict_frame(make_frame(), boxes_for([0]), None,
                                                                       root_depth_mm=8000.0)
    cam = CameraIntrinsics.from_fov(IMG_W, IMG_H)
    out = pred.outputs[POSENET.name]
    np.testing.assert_allclose(out.joints_cam_mm[0], geo.pixel2cam(
        np.concatenate([out.joints_2d[0], out.joints_cam_mm[0, :, 2:]], axis=1), cam.f, cam.c))


# ---------------------------------------------------------------------------------------------------------------
# Device and precision


def test_pick_device():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            pick_device("cuda")


def test_autocast_context():
    lin = nn.Linear(4, 4)
    with torch.inference_mode(), autocast(torch.device("cpu"), "bf16"):
        assert lin(torch.ones(1, 4)).dtype == torch.bfloat16
    with torch.inference_mode(), autocast(torch.device("cpu"), "fp32"):
        assert lin(torch.ones(1, 4)).dtype == torch.float32


def _small_real_model() -> LoadedModel:
    try:
        from models.loader import load_model

        return load_model("mhp-lpski-w0.5", allow_untrained=True)
    except Exception:  # architecture not available: a tiny conv net with the same output contract
        spec = ModelSpec(name="tiny", family="tiny", variant="", joint_set="h36m18", input_hw=(256, 256),
                         normalisation="imagenet_0_255", output_hw=(32, 32), depth_bins=32, decoding="3dmppe")
        torch.manual_seed(0)
        net = nn.Sequential(nn.Conv2d(3, 16, 3, 4, 1), nn.BatchNorm2d(16), nn.ReLU(), nn.Conv2d(16, 32, 3, 2, 1),
                            nn.BatchNorm2d(32), nn.ReLU(), nn.Conv2d(32, 18 * 32, 1)).eval()
        return LoadedModel(spec, net, False, None, None)


def test_fp32_vs_bf16_on_a_small_random_model():
    lm = _small_real_model()
    frame = make_frame()
    boxes = boxes_for([0, 1])
    results = {}
    for precision, cl in (("fp32", False), ("bf16", True)):
        p = Predictor([lm], device="cpu", precision=precision, channels_last=cl, flip_test=True)
        t = time.perf_counter()
        pred = p.predict_frame(frame, boxes, CAM, root_depth_mm=depths_for([0, 1]))
        results[precision] = (pred.outputs[lm.spec.name].joints_cam_mm, (time.perf_counter() - t) * 1e3)
    diff = np.abs(results["fp32"][0] - results["bf16"][0]).max()
    print(f"\n{lm.label}: fp32 vs bf16+channels_last max joint difference {diff:.2f} mm "
          f"({results['fp32'][1]:.0f} / {results['bf16'][1]:.0f} ms for 2 persons with flip)")
    assert np.all(np.isfinite(results["bf16"][0]))
    assert diff < 100.0  # bf16 has ~3 significant digits; random weights give broad heatmaps
