"""crop_patch's channel swap (cv2 for the dtypes it knows) gives exactly the reversed channels of the warp."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.inference.geometry import crop_affine, crop_patch


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_rgb_patch_is_the_reversed_bgr_warp(dtype):
    rng = np.random.default_rng(3)
    img = (rng.uniform(0, 255, (240, 320, 3))).astype(dtype)
    box = np.array([40.0, 20.0, 150.0, 150.0])
    patch, trans = crop_patch(img, box, (256, 192))
    expected = cv2.warpAffine(img, crop_affine(box, (256, 192)), (192, 256), flags=cv2.INTER_LINEAR)
    assert patch.dtype == np.float32 and patch.shape == (256, 192, 3)
    np.testing.assert_array_equal(patch, expected[:, :, ::-1].astype(np.float32))
    np.testing.assert_array_equal(trans, crop_affine(box, (256, 192)))
