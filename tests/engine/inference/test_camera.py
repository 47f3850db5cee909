"""engine.inference.camera: the assumed-FOV default and reading calibration files (OpenCV YAML/XML, JSON)."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from engine.inference.camera import CameraIntrinsics, IntrinsicsError, load_intrinsics


def test_from_fov_default_is_60_degrees_and_says_so():
    cam = CameraIntrinsics.from_fov(640, 480)
    assert cam.fx == pytest.approx(320 / math.tan(math.radians(30)))  # 554.26 px
    assert cam.fx == cam.fy and (cam.cx, cam.cy) == (320.0, 240.0) and (cam.width, cam.height) == (640, 480)
    assert cam.source == "assumed 60° horizontal FOV"
    assert cam.hfov_deg == pytest.approx(60.0)
    wide = CameraIntrinsics.from_fov(1280, 720, hfov_deg=90.0)
    assert wide.fx == pytest.approx(640.0) and "90°" in wide.source
    np.testing.assert_allclose(wide.matrix, [[640, 0, 640], [0, 640, 360], [0, 0, 1]])
    assert wide.f == pytest.approx((640.0, 640.0)) and wide.c == (640.0, 360.0)
    for bad in ((0, 480, 60.0), (640, 480, 0.0), (640, 480, 180.0)):
        with pytest.raises(ValueError):
            CameraIntrinsics.from_fov(*bad)


def test_scaled_to_keeps_the_field_of_view():
    cam = CameraIntrinsics.from_fov(1280, 720).scaled_to(640, 360)
    assert cam.hfov_deg == pytest.approx(60.0) and (cam.cx, cam.cy) == (320.0, 180.0) and "scaled" in cam.source


def test_invalid_focal_rejected():
    with pytest.raises(ValueError, match="invalid intrinsics"):
        CameraIntrinsics(-1.0, 500.0, 320.0, 240.0, 640, 480, "x")


def test_opencv_yaml_written_by_filestorage(tmp_path):
    path = tmp_path / "calib.yaml"
    fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_WRITE)
    fs.write("image_width", 1280)
    fs.write("image_height", 720)
    fs.write("camera_matrix", np.array([[910.5, 0, 641.2], [0, 912.25, 355.5], [0, 0, 1]]))
    fs.write("distortion_coefficients", np.zeros((1, 5)))
    fs.release()
    cam = load_intrinsics(path)
    assert (cam.fx, cam.fy, cam.cx, cam.cy, cam.width, cam.height) == (910.5, 912.25, 641.2, 355.5, 1280, 720)
    assert str(path) in cam.source


def test_opencv_xml_and_plain_list_k(tmp_path):
    xml = tmp_path / "calib.xml"
    fs = cv2.FileStorage(str(xml), cv2.FILE_STORAGE_WRITE)
    fs.write("K", np.array([[500.0, 0, 320], [0, 505, 240], [0, 0, 1]]))
    fs.release()
    cam = load_intrinsics(xml, width=640, height=480)
    assert (cam.fx, cam.fy, cam.width, cam.height) == (500.0, 505.0, 640, 480)
    flat = tmp_path / "k.yml"
    flat.write_text("%YAML:1.0\nK: [ 600.0, 0, 330, 0, 600, 250, 0, 0, 1 ]\n")
    cam = load_intrinsics(flat)
    assert (cam.fx, cam.cx, cam.cy) == (600.0, 330.0, 250.0)
    assert (cam.width, cam.height) == (660, 500) and "guessed" in cam.source  # no size in the file


@pytest.mark.parametrize("payload", [
    {"fx": 700.0, "fy": 701.0, "cx": 320.0, "cy": 240.0, "width": 640, "height": 480},
    {"f": [700.0, 701.0], "c": [320.0, 240.0], "width": 640, "height": 480},
    {"camera_matrix": [[700.0, 0, 320.0], [0, 701.0, 240.0], [0, 0, 1]], "image_width": 640, "image_height": 480},
])
def test_json_forms(tmp_path, payload):
    path = tmp_path / "cam.json"
    path.write_text(json.dumps(payload))
    cam = load_intrinsics(path)
    assert (cam.fx, cam.fy, cam.cx, cam.cy, cam.width, cam.height) == (700.0, 701.0, 320.0, 240.0, 640, 480)


@pytest.mark.parametrize("name, text, match", [
    ("broken.json", "{not json", "not valid JSON"),
    ("list.json", "[1, 2, 3]", "JSON object"),
    ("keys.json", '{"focal": 500}', "needs fx"),
    ("values.json", '{"fx": "a", "fy": 1, "cx": 1, "cy": 1}', "malformed"),
    ("neg.json", '{"fx": -5, "fy": 1, "cx": 1, "cy": 1, "width": 2, "height": 2}', "invalid intrinsics"),
    ("shape.json", '{"K": [[1, 2], [3, 4]]}', "3x3"),
    ("broken.yaml", "camera_matrix: [[1, 2], [3\n  bad: : :\n", "FileStorage"),
    ("nokey.yaml", "%YAML:1.0\nfoo: 1\n", "no 'camera_matrix' or 'K'"),
    ("short.yaml", "%YAML:1.0\nK: [1, 2, 3]\n", "3x3"),
])
def test_malformed_files_name_the_file(tmp_path, name, text, match):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(IntrinsicsError, match=match) as err:
        load_intrinsics(path)
    assert str(path) in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(IntrinsicsError, match="not found") as err:
        load_intrinsics(tmp_path / "nope.yaml")
    assert "nope.yaml" in str(err.value)
