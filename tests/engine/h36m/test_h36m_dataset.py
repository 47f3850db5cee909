"""H36M data: synthetic set (3DMPPE layout), validation messages, test-set loading, crops, shipped RootNet files."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from engine.h36m.dataset import CropDataset, limit_indices, load_test_set, make_loader, normalise_batch
from engine.h36m.layout import DatasetError, find_rootnet_file, load_rootnet_file, validate
from engine.h36m.metrics import ACTIONS
from engine.h36m.synthetic import generate
from engine.inference.geometry import cam2pixel, crop_patch, normalise, process_bbox

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = 36


@pytest.fixture(scope="module")
def syn(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("h36m") / "syn", samples=SAMPLES, seed=3, train_subjects=(1,))


@pytest.fixture
def broken(syn, tmp_path):
    """A copy of the synthetic set whose files a test may corrupt."""
    dst = tmp_path / "h36m"
    shutil.copytree(syn.root / "annotations", dst / "annotations")
    (dst / "images").symlink_to(syn.root / "images")
    return dst


def _edit(path: Path, fn) -> None:
    obj = json.loads(path.read_text())
    fn(obj)
    path.write_text(json.dumps(obj))


def test_synthetic_layout_is_valid_and_covers_the_protocols(syn):
    assert syn.num_protocol2 == SAMPLES
    for protocol, n in ((2, SAMPLES), (1, syn.num_protocol1)):
        rep = validate(syn.root, protocol, rootnet_file=syn.rootnet_file)
        assert rep.ok, rep.format()
        ix = rep.index
        assert len(ix) == n
        assert set(ix.subject.tolist()) == ({9, 11} if protocol == 2 else {11})
        assert (ix.frame_idx % 64 == 0).all()  # off-grid annotated frames are skipped
        assert all((syn.root / "images" / f).is_file() for f in ix.file_name)
    ix = validate(syn.root, 2).index
    assert sorted(set((ix.action_idx - 2).tolist())) == list(range(len(ACTIONS)))
    assert set(ix.cam_idx.tolist()) <= {1, 2, 3, 4}
    data = json.loads((syn.root / "annotations" / "Human36M_subject9_data.json").read_text())
    assert any(im["frame_idx"] % 64 for im in data["images"])  # the loader has something to filter


def test_synthetic_geometry_is_plausible(syn):
    ts = load_test_set(syn.root, 2)
    j = ts.joints_cam
    assert j.shape == (SAMPLES, 18, 3)
    np.testing.assert_allclose(j[:, 17], (j[:, 11] + j[:, 14]) / 2, atol=1e-3)  # Thorax = shoulder midpoint
    assert 3500 < j[:, 0, 2].min() and j[:, 0, 2].max() < 6600  # 4-6 m from the camera
    thigh = np.linalg.norm(j[:, 2] - j[:, 1], axis=-1)
    assert np.all((thigh > 400) & (thigh < 500))
    assert np.allclose(ts.f, 1145, atol=5) and np.allclose(ts.c[:, 0], 512.5, atol=5)
    # the drawn skeleton is where the GT projects: the pixel at the projected pelvis is not background
    p = ts.image_paths()[0]
    img = cv2.imread(p)
    uv = cam2pixel(j[0], ts.f[0], ts.c[0])[:, :2].round().astype(int)
    bg = img[5, 5].astype(int)
    hits = [np.abs(img[v, u].astype(int) - bg).sum() > 60 for u, v in uv]
    assert sum(hits) >= 12
    # the annotation box (tight x1.2) contains every projected joint
    raw = ts.raw
    b = raw.bbox[0]
    assert (uv[:, 0] >= b[0]).all() and (uv[:, 0] <= b[0] + b[2]).all()


def test_gt_and_rootnet_boxes_and_roots(syn):
    gt = load_test_set(syn.root, 2)
    np.testing.assert_allclose(gt.boxes((256, 256))[0], process_bbox(gt.raw.bbox[0], 1000, 1002))
    np.testing.assert_allclose(gt.root_cam, gt.joints_cam[:, 0], atol=1e-3)
    rn = load_test_set(syn.root, 2, root_source="rootnet")
    entries = {e["image_id"]: e for e in json.loads(syn.rootnet_file.read_text())}
    first = entries[int(rn.image_ids[0])]
    np.testing.assert_allclose(rn.boxes((256, 256))[0], first["bbox"])  # used as is, not processed again
    np.testing.assert_allclose(rn.root_cam[0], first["root_cam"])
    assert 0 < np.abs(rn.root_cam - rn.gt_root).mean() < 200
    wide = rn.boxes((384, 288))  # another aspect: grown about the same centre, never shrunk
    np.testing.assert_allclose(wide[:, 0] + wide[:, 2] / 2, rn.rootnet_bbox[:, 0] + rn.rootnet_bbox[:, 2] / 2)
    np.testing.assert_allclose(wide[:, 2] / wide[:, 3], 288 / 384)
    assert (wide[:, 3] >= rn.rootnet_bbox[:, 3] - 1e-9).all()


def test_crops_and_normalisation_match_geometry(syn):
    ts = load_test_set(syn.root, 2).subset(np.array([0, 5]))
    boxes = {"256x256": ts.boxes((256, 256))}
    ds = CropDataset(ts.image_paths(), boxes, {"256x256": (256, 256)})
    batch = next(iter(make_loader(ds, [0, 1], batch_size=2, num_workers=0)))
    assert batch["256x256"].dtype == torch.uint8 and batch["256x256"].shape == (2, 3, 256, 256)
    ref, _ = crop_patch(cv2.imread(ts.image_paths()[1]), boxes["256x256"][1], (256, 256))
    np.testing.assert_array_equal(batch["256x256"][1].permute(1, 2, 0).numpy(), ref)
    for kind in ("imagenet_0_255", "imagenet", "raw_0_255"):
        assert torch.equal(normalise_batch(batch["256x256"][1:], kind), normalise(ref, kind))
    # worker processes deliver the same batches, in order
    batches = list(make_loader(ds, [1, 0], batch_size=1, num_workers=1))
    assert [int(b["index"][0]) for b in batches] == [1, 0]
    assert torch.equal(batches[0]["256x256"][0], batch["256x256"][1])


def test_limit_spreads_over_the_set():
    assert limit_indices(10, None).tolist() == list(range(10))
    sel = limit_indices(100, 5)
    assert sel.tolist() == [0, 25, 50, 74, 99] or (sel[0] == 0 and sel[-1] == 99 and len(sel) == 5)
    with pytest.raises(ValueError):
        limit_indices(10, 0)


def _expect(root: Path, protocol: int, *needles: str, images: str = "exists") -> str:
    rep = validate(root, protocol, images=images)
    assert not rep.ok
    with pytest.raises(DatasetError) as exc:
        rep.raise_if_errors()
    msg = str(exc.value)
    for n in needles:
        assert n in msg, msg
    return msg


def test_validation_names_file_and_key_for_a_missing_key(broken):
    _edit(broken / "annotations" / "Human36M_subject11_data.json", lambda d: d["images"][0].pop("frame_idx"))
    msg = _expect(broken, 2, "annotations/Human36M_subject11_data.json", "images[0].frame_idx", "missing")
    assert msg.count("\n") >= 1  # header line + one line per issue


def test_validation_names_the_joint_entry_with_a_wrong_shape_or_nan(broken):
    data = json.loads((broken / "annotations" / "Human36M_subject9_data.json").read_text())
    im = next(i for i in data["images"] if i["frame_idx"] % 64 == 0)
    a, s, f = str(im["action_idx"]), str(im["subaction_idx"]), str(im["frame_idx"])
    p = broken / "annotations" / "Human36M_subject9_joint_3d.json"
    _edit(p, lambda d: d[a][s].__setitem__(f, d[a][s][f][:16]))
    _expect(broken, 2, "Human36M_subject9_joint_3d.json", f"['{a}']['{s}']['{f}']", "shape [16, 3]",
            str(im["id"]))

    def nan(d):
        d[a][s][f] = [[float("nan"), 0.0, 0.0]] * 17

    _edit(p, nan)
    _expect(broken, 2, f"['{a}']['{s}']['{f}']", "NaN")


def test_validation_names_bad_cameras_missing_files_and_images(broken, syn):
    cam = broken / "annotations" / "Human36M_subject11_camera.json"
    _edit(cam, lambda d: d["1"].__setitem__("R", [[1, 0, 0], [0, 1, 0]]))
    _expect(broken, 1, "Human36M_subject11_camera.json", "['1']['R']", "shape [2, 3]")
    cam.unlink()
    _expect(broken, 1, "Human36M_subject11_camera.json", "file is missing")
    # images: point at an empty folder
    (broken / "images").unlink()
    (broken / "images").mkdir()
    # one report lists the annotation problem and the missing images together
    _expect(broken, 2, "image file is missing", "images/s_09_act_02", "Human36M_subject11_camera.json")
    shutil.copy(syn.root / "annotations" / "Human36M_subject11_camera.json", cam)
    assert validate(broken, 2, images="none").ok
    _expect(broken, 2, "image file is missing")


def test_validation_of_unknown_subjects_and_rootnet_coverage(broken, syn):
    _edit(broken / "annotations" / "Human36M_subject9_data.json", lambda d: d["images"][1].__setitem__("subject", 4))
    _expect(broken, 2, "unknown subject 4", "images[1].subject", images="none")
    rn = json.loads(syn.rootnet_file.read_text())
    short = broken / "short_rootnet.json"
    short.write_text(json.dumps(rn[:-3]))
    rep = validate(syn.root, 2, images="none", rootnet_file=short)
    assert not rep.ok and "3 of 36 test images have no RootNet entry" in rep.format()
    bad = broken / "bad_rootnet.json"
    rn[0]["root_cam"] = [1.0, 2.0]
    bad.write_text(json.dumps(rn))
    with pytest.raises(DatasetError, match=r"\[0\]\.root_cam"):
        load_rootnet_file(bad)


def test_shipped_rootnet_files():
    d = ROOT / "assets" / "rootnet_h36m"
    assert "Moon" in (d / "README.md").read_text() and "MIT" in (d / "README.md").read_text()
    for name, n, sha in (
        ("protocol2_S9_S11_bbox_root_human36m_output.json", 8695,
         "dc207378ce7e128042c2175737438cfae7e250a96c6a113733124595237f8752"),
        ("protocol1_S11_bbox_root_human36m_output.json", 3683,
         "411a6b5a5b06976d4e4660a7447cbe404f76fcc57bd505416a19f9119fe2fd4a"),
    ):
        p = d / name
        assert hashlib.sha256(p.read_bytes()).hexdigest() == sha
        boxes, roots = load_rootnet_file(p)
        assert boxes.shape == (n, 4) and roots.shape == (n, 3)
        assert np.allclose(boxes[:, 2], boxes[:, 3])  # processed: square
        assert 2000 < np.median(roots[:, 2]) < 8000
    assert find_rootnet_file(ROOT / "no-such-dir", 1).name.startswith("protocol1_S11")
