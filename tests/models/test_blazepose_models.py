"""BlazePose GHUM via LiteRT: the landmarker on a real person crop, the pose detector, the H36M18 mapping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.blazepose.landmarks import (
    BLAZEPOSE33_FLIP_PAIRS,
    BLAZEPOSE33_NAMES,
    BLAZEPOSE33_SKELETON,
    H36M18_FROM_BLAZEPOSE,
    blazepose_to_h36m18,
    blazepose_weights_to_h36m18,
    world_to_h36m18_mm,
)
from models.joints import H36M18

litert = pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert not installed")
cv2 = pytest.importorskip("cv2")


def _bus() -> Path:
    import ultralytics

    p = Path(ultralytics.__file__).parent / "assets" / "bus.jpg"
    if not p.is_file():
        pytest.skip("ultralytics' bus.jpg not available")
    return p


@pytest.fixture(scope="module")
def bus_bgr() -> np.ndarray:
    return cv2.imread(str(_bus()))


@pytest.fixture(scope="module")
def landmarker():
    from models.blazepose.runtime import BlazePoseLandmarker

    return BlazePoseLandmarker(num_threads=1)


@pytest.fixture(scope="module")
def detector():
    from engine.live.detector_blazepose import BlazePoseDetector

    return BlazePoseDetector(num_threads=1)


# ------------------------------------------------------------------------------------------------ mapping


def test_topology_and_mapping_shapes():
    assert len(BLAZEPOSE33_NAMES) == 33 and len(set(BLAZEPOSE33_NAMES)) == 33
    for a, b in BLAZEPOSE33_FLIP_PAIRS:
        assert BLAZEPOSE33_NAMES[a].replace("left", "right") == BLAZEPOSE33_NAMES[b]
    assert all(0 <= a < 33 and 0 <= b < 33 for a, b in BLAZEPOSE33_SKELETON)
    assert tuple(H36M18_FROM_BLAZEPOSE) == H36M18.names
    pts = np.random.default_rng(0).normal(size=(4, 2, 33, 3))
    out = blazepose_to_h36m18(pts)
    assert out.shape == (4, 2, 18, 3)
    assert blazepose_to_h36m18(pts[0, 0, :, :2]).shape == (18, 2)
    assert blazepose_weights_to_h36m18(np.ones((5, 33))).shape == (5, 18)
    # order: limbs are the named landmarks, the pelvis the hip midpoint
    p = pts[0, 0]
    j = blazepose_to_h36m18(p)
    assert np.allclose(j[H36M18.index("R_Knee")], p[BLAZEPOSE33_NAMES.index("right_knee")])
    assert np.allclose(j[H36M18.index("L_Wrist")], p[BLAZEPOSE33_NAMES.index("left_wrist")])
    assert np.allclose(j[0], (p[23] + p[24]) / 2)
    assert np.allclose(j[H36M18.index("Thorax")], (p[11] + p[12]) / 2)
    rel = world_to_h36m18_mm(pts[0])
    assert np.allclose(rel[:, 0], 0)
    with pytest.raises(ValueError):
        blazepose_to_h36m18(np.zeros((17, 3)))


def test_flip_pairs_agree_with_h36m18():
    """Mirroring the 33 landmarks (swap the pairs) mirrors the 18 mapped joints by H36M18's pairs."""
    p = np.random.default_rng(1).normal(size=(33, 3))
    swapped = p.copy()
    for a, b in BLAZEPOSE33_FLIP_PAIRS:
        swapped[[a, b]] = p[[b, a]]
    j, js = blazepose_to_h36m18(p), blazepose_to_h36m18(swapped)
    expect = j.copy()
    for a, b in H36M18.flip_pairs:
        expect[[a, b]] = j[[b, a]]
    assert np.allclose(js, expect)


# ------------------------------------------------------------------------------------------------ models


def test_landmarker_on_real_person_crop(bus_bgr, landmarker):
    from engine.inference.geometry import crop_patch, process_bbox

    h, w = bus_bgr.shape[:2]
    # the left full-body man in bus.jpg (a YOLO-style tight box, xywh)
    bbox = process_bbox([48, 395, 200, 515], w, h)
    patch, trans = crop_patch(bus_bgr, bbox, (256, 256))
    res = landmarker(patch[None])
    assert res.landmarks_px.shape == (1, 33, 2) and res.world_m.shape == (1, 33, 3)
    assert res.pose_score[0] > 0.5
    j = world_to_h36m18_mm(res.world_m)[0]

    def bone(a: str, b: str) -> float:
        return float(np.linalg.norm(j[H36M18.index(a)] - j[H36M18.index(b)]))

    for side in "RL":
        assert 300 < bone(f"{side}_Hip", f"{side}_Knee") < 550
        # BlazePose's world skeleton is small in the arms: MediaPipe itself gives 213 / 224 mm for this man
        assert 170 < bone(f"{side}_Shoulder", f"{side}_Elbow") < 400
    assert 400 < bone("Pelvis", "Neck") < 560 and 180 < bone("Neck", "Head") < 280
    # world axes: y down (ankles below the pelvis, head above), hip-centred
    assert j[H36M18.index("R_Ankle"), 1] > 500 and j[H36M18.index("Head"), 1] < -400
    # 2D: inside the crop, the head above the hips, the person's left on the image right (facing the camera)
    xy = res.landmarks_px[0]
    assert np.all((xy > -10) & (xy < 266))
    assert xy[0, 1] < xy[23, 1] and xy[11, 0] > xy[12, 0]
    assert np.all(res.visibility[0][[11, 12, 23, 24, 25, 26]] > 0.5)


def test_landmarker_input_kinds(bus_bgr, landmarker):
    """uint8 and float 0..255 crops of any square size give the same result, in the caller's crop pixels."""
    from engine.inference.geometry import crop_patch, process_bbox

    h, w = bus_bgr.shape[:2]
    bbox = process_bbox([48, 395, 200, 515], w, h)
    patch, _ = crop_patch(bus_bgr, bbox, (256, 256))
    a = landmarker(patch.astype(np.uint8))
    b = landmarker(patch[None])
    assert np.allclose(a.world_m, b.world_m, atol=1e-4)
    big, _ = crop_patch(bus_bgr, bbox, (512, 512))
    c = landmarker(big[None])
    assert np.median(np.abs(c.landmarks_px / 2 - b.landmarks_px)) < 3.0  # the feet move most (~10-30 px)


def test_detector_finds_people_on_bus(bus_bgr, detector):
    from engine.live.detector import Detections, detector_kinds

    assert "blazepose" in detector_kinds()
    dets = detector(bus_bgr)
    assert isinstance(dets, Detections) and dets.origin == "detector"
    assert len(dets) >= 1 and dets.scores.min() >= 0.5
    assert np.all(dets.track_ids >= 1)
    # the left man: hip midpoint near (136, 642); the box holds his whole body (head ~410, feet ~900)
    x, y, bw, bh = dets.boxes_xywh[0]
    assert x <= 60 and y <= 400 and y + bh >= 880 and x + bw >= 240
    # with tiles the second full-body man is found too
    from engine.live.detector_blazepose import BlazePoseDetector

    tiled = BlazePoseDetector(num_threads=1, tiles=(0.5,)).detect_rgb(bus_bgr[:, :, ::-1])
    centres = np.array([d.centre for d in tiled])
    assert len(tiled) >= 2
    assert np.any(np.linalg.norm(centres - [136, 640], axis=1) < 60)
    assert np.any(np.linalg.norm(centres - [290, 600], axis=1) < 80)


def test_detector_nobody_on_blank_frame(detector):
    dets = detector(np.full((480, 640, 3), 127, np.uint8))
    assert len(dets) == 0


def test_anchors_match_model():
    from engine.live.detector_blazepose import NUM_ANCHORS, pose_detection_anchors

    a = pose_detection_anchors()
    assert a.shape == (NUM_ANCHORS, 2)
    assert np.allclose(a[0], [0.5 / 28, 0.5 / 28]) and np.allclose(a[-1], [6.5 / 7, 6.5 / 7])


def test_net_adapter_round_trips_through_soft_argmax(bus_bgr, landmarker):
    """BlazePoseNet's heatmaps soft-argmax back to the mapped 2D joints (cells) and depths (bins)."""
    import torch

    from engine.inference.geometry import crop_patch, normalise, process_bbox
    from models.blazepose.net import BlazePoseNet
    from models.soft_argmax import soft_argmax_3d

    h, w = bus_bgr.shape[:2]
    patch, _ = crop_patch(bus_bgr, process_bbox([48, 395, 200, 515], w, h), (256, 256))
    net = BlazePoseNet(landmarker)
    hm = net(normalise(patch[None], "raw_0_255"))
    assert hm.shape == (1, 18 * 64, 64, 64)
    cells = soft_argmax_3d(hm, 18, 64)[0].numpy()
    expect_xy = blazepose_to_h36m18(net.last.landmarks_px[0]) / 4
    assert np.abs(cells[:, :2] - expect_xy).max() < 1e-2
    z = world_to_h36m18_mm(net.last.world_m[0])[:, 2]
    assert np.abs((cells[:, 2] / 64 - 0.5) * 2000 - z).max() < 1.0
    assert isinstance(hm, torch.Tensor)


def test_predictor_takes_blazepose_cells_without_building_heatmaps(bus_bgr, landmarker, monkeypatch):
    """``forward_cells`` is what soft-argmax reads off ``forward``'s heatmaps, and the predictor uses it: the 19 MB
    per-person volume is never built (a ``forward`` that raises is never called)."""
    import torch

    from engine.inference.geometry import crop_patch, normalise, process_bbox
    from engine.inference.predictor import Predictor
    from models.blazepose.net import BlazePoseNet
    from models.loader import load_model
    from models.soft_argmax import soft_argmax_3d

    h, w = bus_bgr.shape[:2]
    patches = [crop_patch(bus_bgr, process_bbox(b, w, h), (256, 256))[0]
               for b in ([48, 395, 200, 515], [670, 380, 140, 495])]
    x = normalise(np.stack(patches), "raw_0_255")
    net = BlazePoseNet(landmarker)
    cells = net.forward_cells(x)
    assert torch.is_tensor(cells)
    direct = cells.numpy()
    via_heatmaps = soft_argmax_3d(net(x), 18, 64).numpy()
    assert direct.shape == (2, 18, 3)
    assert np.abs(direct - via_heatmaps).max() < 1e-4

    model = load_model("blazepose-full")
    pred = Predictor([model], None, device="cpu")
    before = pred.predict_frame(bus_bgr, np.array([[48, 395, 200, 515], [670, 380, 140, 495]], float), None)

    def no_heatmaps(*_a, **_k):
        raise AssertionError("the heatmap volume was built")

    monkeypatch.setattr(pred.models["blazepose-full"].net, "forward", no_heatmaps)
    after = pred.predict_frame(bus_bgr, np.array([[48, 395, 200, 515], [670, 380, 140, 495]], float), None)
    a = before.outputs["blazepose-full"].joints_cam_mm
    b = after.outputs["blazepose-full"].joints_cam_mm
    assert a.shape == (2, 18, 3) and np.allclose(a, b)


# ------------------------------------------------------------------------------------------------ three sizes


@pytest.mark.parametrize("name", ["blazepose-lite", "blazepose-full", "blazepose-heavy"])
def test_each_bundled_size_is_registered_trained_and_finds_the_man(name, bus_bgr):
    """lite, full and heavy share one layout: each loads its own bundled file (hash checked) and gives a human
    skeleton for the man in bus.jpg; the sizes are different networks, so their joints differ."""
    from engine.inference.geometry import crop_patch, process_bbox
    from models import get_spec
    from models.checkpoint import sha256_file

    spec = get_spec(name)
    assert spec.reference and spec.metric_3d and not spec.can_run_untrained
    path = spec.runtime.bundled_file(spec)
    assert path is not None and path.is_file() and path.name == f"pose_landmark_{name.split('-')[1]}.tflite"
    assert sha256_file(path) == spec.runtime.bundled_sha256(spec)
    net = spec.runtime.load(spec, path, Path("."))
    h, w = bus_bgr.shape[:2]
    patch, _ = crop_patch(bus_bgr, process_bbox([48, 395, 200, 515], w, h), (256, 256))
    res = net.landmarker(patch[None])
    assert res.pose_score[0] > 0.5
    j = world_to_h36m18_mm(res.world_m)[0]
    thigh = np.linalg.norm(j[H36M18.index("R_Hip")] - j[H36M18.index("R_Knee")])
    assert 300 < thigh < 550, f"{name}: thigh {thigh:.0f} mm"
    assert j[H36M18.index("R_Ankle"), 1] > 500 and j[H36M18.index("Head"), 1] < -400


def test_a_damaged_bundled_file_is_refused_by_name(tmp_path, monkeypatch):
    from models import get_spec
    from models.checkpoint import CheckpointError

    spec = get_spec("blazepose-lite")
    bad = tmp_path / "pose_landmark_lite.tflite"
    data = bytearray(spec.runtime.bundled_file(spec).read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    monkeypatch.setattr(spec.runtime, "bundled_file", classmethod(lambda cls, s: bad))
    with pytest.raises(CheckpointError, match="pose_landmark_lite.tflite.*damaged"):
        spec.runtime.load(spec, bad, tmp_path)


def test_bundled_files_are_listed_with_their_sha256_from_an_empty_weights_folder(tmp_path):
    """The catalogue (CLI and GUI) reads installed_entry: a bundled file is recorded as bundled, with its hash."""
    from models.checkpoint import sha256_file
    from models.weights.store import BUNDLED_SOURCE, installed_entry

    for name in ("blazepose-lite", "blazepose-full", "blazepose-heavy"):
        entry = installed_entry(name, tmp_path)
        assert entry is not None and entry.source == BUNDLED_SOURCE
        assert entry.sha256 == sha256_file(entry.file)
    assert installed_entry("posenet-r50", tmp_path) is None  # nothing installed, nothing recorded
