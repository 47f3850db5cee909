"""Issue 28 item 1: a JPEG with thousands of zeroed bytes in the middle still ends in FF D9; libjpeg only warns
("premature end of data segment") and OpenCV returns a half-grey picture. The warning makes it a corrupt image:
validation of all images names it, and the benchmark never scores it."""

from __future__ import annotations

import cv2
import numpy as np

from engine.live.image_source import read_image
from tests.reliability.fault_helpers import BENCH_FAST, cli, copy_data, one_error, syn_data  # noqa: F401
from tests.reliability.fault_helpers import test_images as _test_images


def _zero_middle(path, count: int = 3000) -> None:
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    count = min(count, len(data) // 4)
    data[mid:mid + count] = bytes(count)
    assert data.rstrip(b"\0").endswith(b"\xff\xd9")  # the end marker is intact: only the decoder can tell
    path.write_bytes(bytes(data))


def _a_jpeg(tmp_path):
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur((rng.random((480, 640, 3)) * 255).astype(np.uint8), (9, 9), 3)
    path = tmp_path / "frame.jpg"
    cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def test_read_image_calls_a_decoder_warning_corrupt(tmp_path):
    path = _a_jpeg(tmp_path)
    good, why = read_image(path)
    assert good is not None and why == ""
    _zero_middle(path)
    assert cv2.imread(str(path)) is not None  # OpenCV alone would use it
    img, why = read_image(path)
    assert img is None and "corrupt JPEG" in why and "premature end of data segment" in why


def _damaged_copy(syn_data, tmp_path):  # noqa: F811
    data = copy_data(syn_data, tmp_path / "data")
    first = _test_images(data)[0]["file_name"]
    img = next((data / "images").rglob(first.rsplit("/", 1)[-1]))
    _zero_middle(img)
    return data, img


def test_validate_all_images_reports_a_jpeg_with_zeroed_bytes(syn_data, tmp_path):  # noqa: F811
    data, img = _damaged_copy(syn_data, tmp_path)
    proc = cli(["h36m", "validate", "--data", data, "--images", "all"])
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert img.name in proc.stdout + proc.stderr and "corrupt JPEG" in proc.stdout + proc.stderr


def test_benchmark_never_scores_a_jpeg_with_zeroed_bytes(syn_data, tmp_path):  # noqa: F811
    data, img = _damaged_copy(syn_data, tmp_path)
    proc = cli(["bench", "h36m", "--data", data, *BENCH_FAST, "--check-images", "none", "--out", tmp_path / "out"],
               timeout=300)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    one_error(proc.stderr, img.name, "corrupt JPEG")
    assert not (tmp_path / "out" / "results.json").exists()
