"""engine.geometry against every case of shared/conformance/geometry.json, plus the conventions it does not pin."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from engine.inference import geometry as geo
from models.joints import H36M18
from models.spec import ModelSpec
from tests.conftest import CONFORMANCE

G = json.loads((CONFORMANCE / "geometry.json").read_text())


def synthetic_image() -> np.ndarray:
    d = G["synthetic_image"]
    h, w = d["height"], d["width"]
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) % 256], axis=2)
    return img.astype(np.uint8)


@pytest.mark.parametrize("case", G["process_bbox"], ids=lambda c: str(c["bbox_xywh"]))
def test_process_bbox_cases(case):
    out = geo.process_bbox(case["bbox_xywh"], case["img_width"], case["img_height"])
    if case["result"] is None:
        assert out is None
    else:
        np.testing.assert_allclose(out, case["result"], rtol=0, atol=1e-9)


def test_process_bbox_aspect_and_degenerate():
    out = geo.process_bbox([100, 100, 101, 101], 640, 480, aspect=288 / 384)
    assert out is not None
    assert out[2] / out[3] == pytest.approx(288 / 384)
    # a square 100 px box is too wide for 3:4, so its height grows (never shrinks): 100 / 0.75, then x1.25
    assert out[2] == pytest.approx(125.0) and out[3] == pytest.approx(100 / 0.75 * 1.25)
    np.testing.assert_allclose([out[0] + out[2] / 2, out[1] + out[3] / 2], [150, 150])
    bad_boxes = ([np.nan, 0, 10, 10], [0, 0, -5, 10], [0, 0, 10, 0], [700, 10, 20, 20], [0, 0, np.inf, 10],
                 [10, 10, -5, -5])
    for bad in bad_boxes:
        assert geo.process_bbox(bad, 640, 480) is None, bad


@pytest.mark.parametrize("idx", range(len(G["generate_patch_image"])))
def test_generate_patch_image(idx):
    case = G["generate_patch_image"][idx]
    bbox = case["bbox_processed"]
    hw = tuple(G["input_shape"])
    np.testing.assert_allclose(geo.crop_affine(bbox, hw), case["trans_2x3"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(geo.crop_affine(bbox, hw, inverse=True), case["inv_trans_2x3"], rtol=0, atol=1e-12)
    patch, trans = geo.crop_patch(synthetic_image(), bbox, hw)
    assert patch.dtype == np.float32 and list(patch.shape) == case["patch_shape"]
    np.testing.assert_allclose(trans, case["trans_2x3"], rtol=0, atol=1e-12)
    for p in case["patch_pixels_rgb_at_row_col"]:
        assert patch[p["row"], p["col"]].tolist() == p["rgb"]
    np.testing.assert_allclose(patch.reshape(-1, 3).mean(axis=0, dtype=np.float64), case["patch_mean_per_channel"],
                               rtol=1e-6)
    x = geo.normalise(patch, "imagenet_0_255")
    assert x.shape == (1, 3, 256, 256) and x.dtype == torch.float32
    for p in case["normalized_tensor_at_row_col"]:
        got = x[0, :, p["row"], p["col"]].tolist()
        np.testing.assert_allclose(got, p["chw_values"], rtol=1e-6, atol=1e-5)


def test_flipped_trans():
    # training-time flip: image mirrored and the box centre moved to img_w - cx - 1 (same size)
    bx, by, bw, bh = G["generate_patch_image"][0]["bbox_processed"]
    cx = G["synthetic_image"]["width"] - (bx + bw / 2) - 1
    got = geo.crop_affine([cx - bw / 2, by, bw, bh], tuple(G["input_shape"]))
    np.testing.assert_allclose(got, G["generate_patch_image_flipped_trans_2x3"], rtol=0, atol=1e-9)


def test_flip_dims3_example():
    d = G["flip_dims3_example"]
    assert torch.flip(torch.tensor(d["input"]), dims=[3]).tolist() == d["output"]


def test_normalisation_kinds():
    patch = np.full((2, 4, 4, 3), 128.0, dtype=np.float32)
    patch[..., 0] = 255.0
    std = geo.normalise(patch, "imagenet")
    np.testing.assert_allclose(std[0, :, 0, 0].numpy(), [(255 - 123.675) / 58.395, (128 - 116.28) / 57.12,
                                                          (128 - 103.53) / 57.375], rtol=1e-6)
    raw = geo.normalise(list(patch), "raw_0_255")
    assert raw.shape == (2, 3, 4, 4) and raw[1, 0, 3, 3].item() == 255.0
    with pytest.raises(ValueError, match="unknown normalisation"):
        geo.normalise(patch, "imagenet_0_1")


@pytest.mark.parametrize("idx", range(len(G["heatmap_to_camera"])))
def test_heatmap_to_camera(idx):
    case = G["heatmap_to_camera"][idx]
    coords = np.array(case["coord_heatmap_units"])
    bbox = case["bbox_processed"]
    out_hw = tuple(G["output_shape"])
    np.testing.assert_allclose(geo.cells_to_image(coords, bbox, out_hw), case["img_xy_via_bbox_linear"],
                               rtol=0, atol=1e-9)
    np.testing.assert_allclose(geo.cells_to_image_affine(coords, bbox, tuple(G["input_shape"]), out_hw),
                               case["img_xy_via_inverse_affine"], rtol=0, atol=1e-6)
    z = geo.depth_to_mm(coords[:, 2], G["depth_dim"], G["bbox_3d_shape"][0], case["root_depth_mm"])
    np.testing.assert_allclose(z, case["abs_depth_mm"], rtol=0, atol=1e-9)
    spec = ModelSpec(name="t", family="posenet", variant="", joint_set="h36m18", input_hw=(256, 256),
                     normalisation="imagenet_0_255", output_hw=out_hw, depth_bins=G["depth_dim"], decoding="3dmppe")
    xy, cam = geo.decode_to_camera(coords, spec, bbox, case["focal"], case["princpt"], case["root_depth_mm"])
    np.testing.assert_allclose(xy, case["img_xy_via_bbox_linear"], rtol=0, atol=1e-9)
    # the fixture's cam_mm went through the demo's inverse-affine route: exact that way, ~1e-5 px (1e-3 mm) apart
    demo_xy = np.array(case["img_xy_via_inverse_affine"])
    demo = geo.pixel2cam(np.concatenate([demo_xy, z[:, None]], axis=1), case["focal"], case["princpt"])
    np.testing.assert_allclose(demo, case["cam_mm"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(cam, case["cam_mm"], rtol=0, atol=1e-3)


def test_camera_functions():
    d = G["camera_functions"]
    cam = geo.pixel2cam(np.array(d["pixel_in"]), d["f"], d["c"])
    np.testing.assert_allclose(cam, d["pixel2cam"], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(geo.cam2pixel(cam, d["f"], d["c"]), d["cam2pixel_of_that"], rtol=1e-12, atol=1e-9)
    w2c = geo.world2cam(np.array(d["world_in"]), np.array(d["R"]), np.array(d["t"]))
    np.testing.assert_allclose(w2c, d["world2cam"], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(geo.cam2pixel(w2c, d["f"], d["c"]), d["cam2pixel_of_world2cam"], rtol=1e-12)


def test_camera_functions_per_item_intrinsics():
    p = np.random.default_rng(0).uniform(100, 500, size=(3, 5, 3))
    f = np.array([[1000.0, 1001.0], [900.0, 905.0], [1200.0, 1100.0]])
    c = np.array([[320.0, 240.0], [310.0, 250.0], [330.0, 230.0]])
    batched = geo.pixel2cam(p, f, c)
    for i in range(3):
        np.testing.assert_allclose(batched[i], geo.pixel2cam(p[i], f[i], c[i]))
    np.testing.assert_allclose(geo.cam2pixel(batched, f, c), p, rtol=1e-9)


@pytest.mark.parametrize("case", G["rootnet_k_value"]["cases"], ids=lambda c: str(c["k_value"]))
def test_rootnet_k_value(case):
    k = geo.rootnet_k_value(case["bbox_processed"], case["focal"], case["bbox_real_mm"])
    assert k.dtype == np.float32 and float(k) == case["k_value"]


def test_rootnet_k_value_vectorised():
    cases = G["rootnet_k_value"]["cases"]
    k = geo.rootnet_k_value(np.array([c["bbox_processed"] for c in cases]), (1500.0, 1500.0))
    assert k.tolist() == [c["k_value"] for c in cases]


def test_rootnet_output_to_camera():
    d = G["rootnet_output_to_camera"]
    x, y, depth = d["coord_hm_and_depth"]
    xy = geo.cells_to_image(np.array([[x, y]]), d["bbox_processed"], (64, 64))[0]
    np.testing.assert_allclose([*xy, depth], d["img_xy_and_depth"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(geo.pixel2cam(np.array([*xy, depth]), d["f"], d["c"]), d["cam_mm"], rtol=0, atol=1e-9)


def test_rigid_align():
    d = G["rigid_align"]
    A, B = np.array(d["A"]), np.array(d["B"])
    R, t = geo.rigid_transform(A, B)
    np.testing.assert_allclose(R, d["R"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(t, d["t"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(geo.rigid_align(A, B), d["aligned_A"], rtol=0, atol=1e-9)
    # batched == one by one, and no scale is estimated: a shrunken copy is not blown back up
    batch = geo.rigid_align(np.stack([A, A * 0.5]), np.stack([B, B]))
    np.testing.assert_allclose(batch[0], d["aligned_A"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(batch[1], geo.rigid_align(A * 0.5, B), rtol=0, atol=1e-9)
    spread = lambda P: np.linalg.norm(P - P.mean(0), axis=1).sum()  # noqa: E731
    assert spread(batch[1]) == pytest.approx(spread(A * 0.5))


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def test_similarity_align_recovers_scale_rotation_translation():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(17, 3)) * 300
    R = _random_rotation(rng)
    B = 1.7 * A @ R.T + np.array([10.0, -20.0, 30.0])
    s, R_est, _ = geo.similarity_transform(A, B)
    assert float(s) == pytest.approx(1.7)
    np.testing.assert_allclose(R_est, R, atol=1e-9)
    np.testing.assert_allclose(geo.similarity_align(A, B), B, atol=1e-8)
    assert geo.mpjpe(geo.rigid_align(A, B), B) > 100  # without scale the error stays large
    # reflection case: a mirrored target is never matched by a reflection
    M = B * np.array([-1.0, 1.0, 1.0])
    for fn in (geo.rigid_transform, lambda a, b: geo.similarity_transform(a, b)[1]):
        assert np.linalg.det(fn(A, M)[0] if fn is geo.rigid_transform else fn(A, M)) > 0
    batch = geo.similarity_align(np.stack([A, A]), np.stack([B, M]))
    np.testing.assert_allclose(batch[1], geo.similarity_align(A, M), atol=1e-9)


def test_flip_back_conventions():
    rng = np.random.default_rng(2)
    coords = rng.uniform(0, 60, size=(2, 18, 3))
    back = geo.flip_back(coords, H36M18.flip_pairs, 64, "3dmppe")
    assert back[0, 4, 0] == pytest.approx(63 - coords[0, 1, 0])  # L_Hip <- mirrored R_Hip
    assert back[0, 4, 2] == coords[0, 1, 2] and back[0, 0, 0] == pytest.approx(63 - coords[0, 0, 0])
    np.testing.assert_allclose(geo.flip_back(back, H36M18.flip_pairs, 64, "3dmppe"), coords)
    # Integral mirrors in patch pixels: x_px <- 288 - 1 - x_px on a 72-wide map of a 288-wide patch
    ib = geo.flip_back(coords, H36M18.flip_pairs, 72, "integral", input_w=288)
    assert ib[1, 14, 0] * 4 == pytest.approx(287 - coords[1, 11, 0] * 4)
    assert ib[1, 14, 0] - (71 - coords[1, 11, 0]) == pytest.approx(0.75)  # 3 px = 0.75 cells from 3DMPPE's rule
    with pytest.raises(ValueError):
        geo.flip_back(coords, H36M18.flip_pairs, 72, "integral")


def test_decode_integral_spec_uses_depth_range():
    spec = ModelSpec(name="t", family="integral", variant="", joint_set="h36m18", input_hw=(384, 288),
                     normalisation="imagenet", output_hw=(96, 72), depth_bins=72, decoding="integral",
                     depth_range_mm=1485.0)
    coords = np.array([[[36.0, 48.0, 36.0], [0.0, 0.0, 0.0], [72.0, 96.0, 54.0]]])
    bbox = np.array([[10.0, 20.0, 288.0 / 2, 384.0 / 2]])
    xy, cam = geo.decode_to_camera(coords, spec, bbox, (500.0, 500.0), (0.0, 0.0), np.array([3000.0]))
    np.testing.assert_allclose(xy[0], [[82.0, 116.0], [10.0, 20.0], [154.0, 212.0]])
    # z_mm = (z / D - 0.5) * depth_range: Integral's z_norm * rect_3d_width
    np.testing.assert_allclose(cam[0, :, 2], [3000.0, 3000.0 - 742.5, 3000.0 + 371.25])


# ---------------------------------------------------------------------------------------------------------------
# Reference scorer: the official Human36M.evaluate, rebuilt on engine.geometry, against its saved output

ACTIONS = ("Directions", "Discussion", "Eating", "Greeting", "Phoning", "Posing", "Purchases", "Sitting",
           "SittingDown", "Smoking", "Photo", "Waiting", "Walking", "WalkDog", "WalkTogether")


def _evaluate(h: dict, protocol: int) -> tuple[list[str], np.ndarray]:
    out_hw = tuple(h["output_shape"])
    errors, actions, saved = [], [], []
    for s in h["samples"]:
        pred = np.array(s["pred_heatmap_units"])
        gt = np.array(s["joint_cam_gt"])
        xy = geo.cells_to_image(pred, s["bbox"], out_hw)  # the box is already processed: used as-is
        z = geo.depth_to_mm(pred[:, 2], h["depth_dim"], h["bbox_3d_shape"][0], s["root_cam_gt"][2])
        cam = geo.pixel2cam(np.concatenate([xy, z[:, None]], axis=1), s["f"], s["c"])
        cam = cam - cam[H36M18.root]
        gt = gt - gt[H36M18.root]
        if protocol == 1:
            cam = geo.rigid_align(cam, gt)  # on all 18 joints, before Thorax is dropped
        cam, gt = cam[list(H36M18.eval_joints)], gt[list(H36M18.eval_joints)]
        saved.append(cam)
        errors.append(geo.joint_errors(cam, gt))
        p = s["img_path"]
        actions.append(int(p[p.find("act") + 4:p.find("act") + 6]) - 2)
    err = np.array(errors)
    name = "PA MPJPE" if protocol == 1 else "MPJPE"
    lines = [f"Protocol {protocol} error ({name}) >> tot: {err.mean():.2f}"]
    per = ""
    for i, a in enumerate(ACTIONS):
        sel = [e for e, ai in zip(errors, actions, strict=True) if ai == i]
        per += f"{a}: {np.mean(sel) if sel else math.nan:.2f} "
    lines.append(per)
    return lines, np.array(saved)


@pytest.mark.parametrize("protocol", [1, 2])
def test_h36m_evaluate_reference(protocol):
    h = G["h36m_evaluate"]
    ref = h["results"][f"protocol_{protocol}"]
    lines, saved = _evaluate(h, protocol)
    assert lines == ref["printed_summary"]
    np.testing.assert_allclose(saved, ref["saved_joint_cam_root_relative_17"], rtol=0, atol=1e-6)
    # the vectorised route (how a benchmark scores thousands of samples) gives the same numbers
    S = h["samples"]
    pred = np.array([s["pred_heatmap_units"] for s in S])
    xy = geo.cells_to_image(pred, np.array([s["bbox"] for s in S]), tuple(h["output_shape"]))
    z = geo.depth_to_mm(pred[..., 2], h["depth_dim"], 2000.0, np.array([s["root_cam_gt"][2] for s in S]))
    cam = geo.pixel2cam(np.concatenate([xy, z[..., None]], -1), np.array([s["f"] for s in S]),
                        np.array([s["c"] for s in S]))
    gt = np.array([s["joint_cam_gt"] for s in S])
    cam, gt = cam - cam[:, :1], gt - gt[:, :1]
    if protocol == 1:
        cam = geo.rigid_align(cam, gt)
    np.testing.assert_allclose(cam[:, :17], saved, rtol=0, atol=1e-9)
    assert f"{geo.mpjpe(cam[:, :17], gt[:, :17]):.2f}" == ref["printed_summary"][0].rsplit(" ", 1)[1]
