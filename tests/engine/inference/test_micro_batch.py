"""Micro-batching: a backend splits a call into even chunks of at most ``micro_batch`` rows.

A cap on one call's activation memory (off by default: ``INFERENCE.cpu_micro_batch`` = 0). It must not change an
answer (every input, RootNet's k value too, is split along the same rows) and must leave GPUs with the whole batch.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from engine.defaults import INFERENCE
from engine.inference.backends.base import chunk_bounds
from engine.inference.fast_paths import default_micro_batch, prepare
from engine.inference.predictor import Predictor
from models.spec import get_spec
from tests.engine.inference.test_predictor import CAM, POSENET, FakePoseNet, FakeRootNet, boxes_for, loaded, make_frame

ROOTNET = get_spec("rootnet-r50")


class BatchLog(nn.Module):
    """Wraps a net and records the batch size of every forward it gets."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.sizes: list[int] = []

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        self.sizes.append(int(args[0].shape[0]))
        return self.inner(*args)


@pytest.mark.parametrize(("n", "size", "want"), [
    (8, 4, [(0, 4), (4, 8)]),
    (6, 4, [(0, 3), (3, 6)]),
    (9, 4, [(0, 3), (3, 6), (6, 9)]),
    (10, 4, [(0, 4), (4, 7), (7, 10)]),
    (3, 4, [(0, 3)]),
    (5, 0, [(0, 5)]),
    (0, 4, []),
])
def test_chunks_are_the_fewest_and_as_even_as_possible(n: int, size: int, want: list[tuple[int, int]]) -> None:
    assert chunk_bounds(n, size) == want


def test_a_cpu_backend_splits_a_call_and_returns_the_same_rows() -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3, stride=8, padding=1)
    x = torch.randn(10, 3, 256, 256)
    with torch.inference_mode():
        ref = conv(x)
    log = BatchLog(conv)
    fp = prepare(log, POSENET, "cpu", "fp32", micro_batch=4)
    assert fp.micro_batch == 4
    out = fp(x)
    assert log.sizes == [4, 3, 3]
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    log.sizes.clear()
    assert prepare(log, POSENET, "cpu", "fp32", micro_batch=0)(x).shape == ref.shape and log.sizes == [10]


def test_rootnet_k_values_are_split_along_the_same_rows() -> None:
    net = BatchLog(FakeRootNet())
    fp = prepare(net, ROOTNET, "cpu", "fp32", micro_batch=2)
    k = torch.arange(1, 6, dtype=torch.float32).reshape(5, 1) * 1000.0
    out = fp(torch.zeros(5, 3, 256, 256), k)
    assert net.sizes == [2, 2, 1]
    np.testing.assert_allclose(out[:, 2].numpy(), 0.8 * k.ravel().numpy())  # row i's depth comes from row i's k


def test_the_default_is_the_cpu_setting_and_no_limit_on_a_gpu() -> None:
    assert INFERENCE.cpu_micro_batch >= 0
    assert default_micro_batch("cpu") == INFERENCE.cpu_micro_batch
    assert default_micro_batch("cuda") == 0 and default_micro_batch(torch.device("cuda", 0)) == 0
    assert prepare(nn.Conv2d(3, 1, 1), POSENET, "cpu", "fp32").micro_batch == INFERENCE.cpu_micro_batch


@pytest.mark.parametrize("bad", [-1, 2.5, True, "4"])
def test_a_bad_micro_batch_is_refused_by_name(bad: object) -> None:
    with pytest.raises(ValueError, match="micro_batch must be a whole number >= 0"):
        prepare(nn.Conv2d(3, 1, 1), POSENET, "cpu", "fp32", micro_batch=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="micro_batch"):
        Predictor([], None, device="cpu", micro_batch=bad)  # type: ignore[arg-type]


def test_predict_frame_gives_the_same_joints_whatever_the_micro_batch() -> None:
    """Three persons with flip test = six crops: chunks of 2 must give the answer of one call over all six."""
    frame, boxes = make_frame(), boxes_for([0, 1, 2])
    results, sizes = [], []
    for mb in (0, 2):
        net = BatchLog(FakePoseNet(POSENET))
        pred = Predictor([loaded(POSENET, net)], None, device="cpu", flip_test=True, micro_batch=mb)
        assert pred.micro_batch == mb and pred.fast_paths[POSENET.name].micro_batch == mb
        results.append(pred.predict_frame(frame, boxes, CAM, root_depth_mm=5000.0).outputs[POSENET.name])
        sizes.append(net.sizes)
    assert sizes == [[6], [2, 2, 2]]
    whole, chunked = results
    np.testing.assert_allclose(chunked.joints_cam_mm, whole.joints_cam_mm, rtol=0, atol=1e-6)
    np.testing.assert_allclose(chunked.joints_2d, whole.joints_2d, rtol=0, atol=1e-6)
