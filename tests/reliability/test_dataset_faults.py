"""Fault suite, Human3.6M data: broken annotation files and missing / corrupt images stop the benchmark before any long
work with one message naming the file, the key and what is wrong; an image that breaks mid-run keeps the saved
batches for the rerun. Data: a 12-image synthetic set from ``python main.py h36m synthetic``. Truncated JPEGs are
named by validation and mid-run; a RootNet file given with another root source is refused.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.reliability.fault_helpers import (  # noqa: F401  # noqa: F401
    BENCH_FAST,
    MODEL,
    cli,
    cli_popen,
    copy_data,
    edit_json,
    one_error,
    run_main,
    syn_data,
)
from tests.reliability.fault_helpers import test_images as _test_images

S9 = "annotations/Human36M_subject9_"


def _drop_cam_idx(root):
    edit_json(root / (S9 + "data.json"), lambda o: o["images"][3].pop("cam_idx"))


def _joints_17x2(root):
    edit_json(root / (S9 + "joint_3d.json"), lambda o: o["2"]["1"].__setitem__("0", [[0.0, 0.0]] * 17))


def _joint_nan(root):
    def edit(o):
        o["2"]["1"]["0"][5][1] = float("nan")

    edit_json(root / (S9 + "joint_3d.json"), edit)


def _unknown_subject(root):
    edit_json(root / (S9 + "data.json"), lambda o: o["images"][2].__setitem__("subject", 12))


def _camera_f_shape(root):
    edit_json(root / (S9 + "camera.json"), lambda o: o["1"].__setitem__("f", [1145.0]))


def _cut_json(root):
    p = root / (S9 + "data.json")
    p.write_text(p.read_text()[:1000])


def _no_joint_file(root):
    (root / (S9 + "joint_3d.json")).unlink()


def _no_image(root):
    (root / "images" / _test_images(root)[4]["file_name"]).unlink()


CASES = {
    "missing-key": (_drop_cam_idx, [S9 + "data.json", "images[3].cam_idx", "key(s) missing: cam_idx"]),
    "wrong-shape": (_joints_17x2, [S9 + "joint_3d.json", "['2']['1']['0']", "has shape [17, 2], expected [17, 3]"]),
    "nan": (_joint_nan, [S9 + "joint_3d.json", "['2']['1']['0']", "contains NaN or infinite values"]),
    "unknown-subject": (_unknown_subject, [S9 + "data.json", "images[2].subject", "unknown subject 12"]),
    "camera-shape": (_camera_f_shape, [S9 + "camera.json", "['1']['f']", "has shape [1], expected [2]"]),
    "truncated-json": (_cut_json, [S9 + "data.json", "cannot be read as JSON"]),
    "missing-file": (_no_joint_file, [S9 + "joint_3d.json", "file is missing"]),
    "missing-image": (_no_image, ["images/s_09_", "image file is missing"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_benchmark_refuses_broken_data_before_inference(syn_data, tmp_path, capfd, case):  # noqa: F811
    break_it, needles = CASES[case]
    data = copy_data(syn_data, tmp_path / "data")
    break_it(data)
    out = tmp_path / "out"
    rc, _, err = run_main(["bench", "h36m", "--data", data, "--out", out, *BENCH_FAST], capfd)
    assert rc == 1
    one_error(err, str(data), *needles)
    assert "samples to go" not in err and not (out / ".partial").exists()  # refused before any inference


def _corrupt_image(data):
    """Cut the 5th test image (by id) to 300 bytes; validation decodes only 3 of 12 images, so the run meets it."""
    im = _test_images(data)[4]
    p = data / "images" / im["file_name"]
    p.write_bytes(p.read_bytes()[:300])
    return im["file_name"]


def test_validate_all_images_names_the_corrupt_one(syn_data, tmp_path, capfd):  # noqa: F811
    data = copy_data(syn_data, tmp_path / "data")
    name = _corrupt_image(data)
    rc, out, _ = run_main(["h36m", "validate", "--data", data, "--images", "all"], capfd)
    assert rc == 1
    assert f"ERROR: images/{name}: image cannot be decoded" in out


def test_corrupt_image_mid_run_names_it_and_keeps_saved_batches(syn_data, tmp_path, capfd):  # noqa: F811
    data = copy_data(syn_data, tmp_path / "data")
    name = _corrupt_image(data)
    out = tmp_path / "out"
    rc, _, err = run_main(["bench", "h36m", "--data", data, "--out", out, *BENCH_FAST], capfd)
    assert rc == 1
    one_error(err, str(data / "images" / name), "image is missing or cannot be decoded")
    shards = list((out / ".partial").glob("*/shard_*.npz"))
    assert len(shards) == 2  # samples 0-3 (two batches of 2) were saved before sample 4 failed
    assert not (out / "run.json").exists()


def test_corrupt_image_with_loader_workers_is_one_line(syn_data, tmp_path, capfd):  # noqa: F811
    data = copy_data(syn_data, tmp_path / "data")
    name = _corrupt_image(data)
    argv = ["bench", "h36m", "--data", data, "--out", tmp_path / "out", *BENCH_FAST, "--workers", "1"]
    rc, _, err = run_main(argv, capfd)
    assert rc == 1
    one_error(err, str(data / "images" / name), "image is missing or cannot be decoded")


def _truncate_image(data: Path, k: int = 4) -> str:
    """Keep the first half of the k-th test image: the JPEG header is whole, OpenCV decodes it with grey fill."""
    name = _test_images(data)[k]["file_name"]
    p = data / "images" / name
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])
    assert cv2.imread(str(p)) is not None  # a check of imread() is None alone passes it
    return name


def test_truncated_jpeg_is_reported_by_validation_of_all_images(syn_data, tmp_path, capfd):  # noqa: F811
    data = copy_data(syn_data, tmp_path / "data")
    name = _truncate_image(data)
    rc, out, _ = run_main(["h36m", "validate", "--data", data, "--images", "all"], capfd)
    assert rc == 1
    assert f"ERROR: images/{name}: image cannot be decoded: truncated JPEG" in out


def test_truncated_jpeg_met_mid_run_is_named_not_scored(syn_data, tmp_path, capfd):  # noqa: F811
    data = copy_data(syn_data, tmp_path / "data")
    name = _truncate_image(data)
    out = tmp_path / "out"
    rc, _, err = run_main(["bench", "h36m", "--data", data, "--out", out, *BENCH_FAST], capfd)
    assert rc == 1
    one_error(err, str(data / "images" / name), "truncated JPEG", "rerun the same command to resume")
    assert not (out / "run.json").exists()


def test_rootnet_file_with_root_gt_is_refused(syn_data, tmp_path, capfd):  # noqa: F811
    rn = next(syn_data.glob("**/*rootnet*.json"), None) or next(syn_data.glob("*.json"))
    rc, _, err = run_main(["bench", "h36m", "--data", syn_data, "--out", tmp_path / "o", "--root", "gt",
                           "--rootnet-file", rn, *BENCH_FAST], capfd)
    assert rc == 1
    one_error(err, str(rn), "used only with root 'rootnet'")
    assert not (tmp_path / "o").exists()


def test_read_image_detects_cut_off_jpeg_and_png(tmp_path):
    from engine.live.image_source import image_data_problem, read_image

    ok, jpg = cv2.imencode(".jpg", np.full((16, 16, 3), 128, np.uint8))
    ok2, png = cv2.imencode(".png", np.full((16, 16, 3), 128, np.uint8))
    assert ok and ok2
    jpg, png = jpg.tobytes(), png.tobytes()
    assert image_data_problem(jpg) is None and image_data_problem(jpg + b"\x00\x00") is None
    assert "truncated JPEG" in image_data_problem(jpg[:-10])
    assert "truncated PNG" in image_data_problem(png[:-20])
    assert image_data_problem(b"") == "the file is empty (0 bytes)"
    (tmp_path / "a.jpg").write_bytes(jpg)
    img, why = read_image(tmp_path / "a.jpg")
    assert why == "" and np.array_equal(img, cv2.imread(str(tmp_path / "a.jpg")))
    assert read_image(tmp_path / "missing.jpg")[0] is None
