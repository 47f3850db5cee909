"""engine.inference.backends + net_io + the Predictor's batch API.

Backends are classes found through a registry by the profile's ``runner``; a network's inputs come from the spec's
declared ``inputs`` (one dummy k value); ``predict_frame`` and the benchmark share ``predict_batch``, whose chunked
hook (the benchmark's out-of-memory back-off) must not change a single number. No file of the inference layer, the
benchmark runner or the bench scripts compares a spec's family / decoding / backend with a name.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.defaults import ROOT
from engine.inference.backends import BACKEND_CLASSES, Backend
from engine.inference.fast_paths import PROFILES, FastPathConfig, prepare
from engine.inference.net_io import DUMMY_K_VALUE, check_inputs, dummy_inputs, onnx_input_names, output_name
from engine.inference.predictor import CropBatch, Predictor, whole
from models.spec import get_spec
from tests.engine.inference.test_predictor import (
    CAM,
    INTEGRAL,
    POSENET,
    FakePoseNet,
    FakeRootNet,
    assert_recovers,
    boxes_for,
    depths_for,
    loaded,
    make_frame,
)

ROOT_DIR = Path(__file__).resolve().parents[3]
SWITCH = re.compile(r"""\.(decoding|family|backend)\s*(==|!=)\s*["']\w[\w-]*["']""")


# ------------------------------------------------------------------------------------------------- backends


def test_every_profile_runs_a_registered_backend_class() -> None:
    assert set(BACKEND_CLASSES) >= {"torch", "compile", "cuda_graphs", "onnxruntime"}
    for name, cfg in PROFILES.items():
        cls = BACKEND_CLASSES[cfg.runner]
        assert issubclass(cls, Backend) and cls.kind == cfg.runner
        assert cfg.label == name
    fp = prepare(torch.nn.Conv2d(3, 1, 1), POSENET, "cpu", "channels_last+bf16")
    assert type(fp) is BACKEND_CLASSES["torch"] and fp.label == "channels_last+bf16"


def test_a_backend_refuses_switches_it_cannot_change() -> None:
    with pytest.raises(ValueError, match="onnxruntime backend runs the exported fp32 graph; compile"):
        FastPathConfig(backend="onnxruntime", compile=True)
    with pytest.raises(ValueError, match="cuda_graphs needs a CUDA device"):
        FastPathConfig(precision="fp16", cuda_graphs=True).validate(torch.device("cpu"))


# ------------------------------------------------------------------------------------------------- inputs


def test_inputs_come_from_the_spec() -> None:
    root, pose = get_spec("rootnet-r50"), get_spec("mhp-lpski-w0.5")
    assert onnx_input_names(root) == ["x", "k_value"] and output_name(root) == "root"
    assert onnx_input_names(pose) == ["x"] and output_name(pose) == "heatmaps"
    x, k = dummy_inputs(root, 3)
    assert x.shape == (3, 3, 256, 256) and k.shape == (3, 1) and torch.all(k == DUMMY_K_VALUE)
    assert DUMMY_K_VALUE == pytest.approx(ROOT.bbox_real_mm[0] * 1500.0 / 300.0)  # 10000 for the 2 m default box
    img = torch.zeros(2, 3, *pose.input_hw)
    (same,) = dummy_inputs(pose, 2, image=img)
    assert same is img
    assert check_inputs(root, (x, k.ravel()))[1].shape == (3, 1)
    with pytest.raises(ValueError, match="two inputs \\(image, k_value\\), got 1"):
        check_inputs(root, (x,))
    with pytest.raises(ValueError, match="one input \\(image\\), got 2"):
        check_inputs(pose, (img, k))


# ------------------------------------------------------------------------------------------------- batch API


def _scene_predictor() -> Predictor:
    return Predictor([loaded(POSENET, FakePoseNet(POSENET)), loaded(INTEGRAL, FakePoseNet(INTEGRAL))],
                     rootnet=loaded(get_spec("rootnet-r50"), FakeRootNet()), device="cpu", flip_test=True)


def _frame_batch(p: Predictor, monkeypatch, **kw) -> tuple[CropBatch, np.ndarray | None, object]:
    """The CropBatch (and roots) predict_frame hands to predict_batch, and the frame's prediction."""
    seen = {}
    real = Predictor.predict_batch

    def spy(self, batch, root_cam_mm=None, *, chunked=whole, **kw):
        seen["batch"], seen["root"] = batch, root_cam_mm
        return real(self, batch, root_cam_mm, chunked=chunked, **kw)

    monkeypatch.setattr(Predictor, "predict_batch", spy)
    pred = p.predict_frame(make_frame(), boxes_for([0, 1]), CAM, **kw)
    monkeypatch.setattr(Predictor, "predict_batch", real)
    return seen["batch"], seen["root"], pred


@pytest.mark.parametrize("run_rootnet", [True, False])
def test_predict_frame_is_predict_batch_on_its_crops(monkeypatch, run_rootnet) -> None:
    p = _scene_predictor()
    batch, roots, pred = _frame_batch(p, monkeypatch, root_depth_mm=depths_for([0, 1]), run_rootnet=run_rootnet)
    assert (roots is None) == run_rootnet
    assert set(batch.crops) == set(p.crop_groups(with_root=run_rootnet))
    again = p.predict_batch(batch, roots)
    np.testing.assert_array_equal(again.root_cam_mm, pred.root_cam_mm)
    for name, o in pred.outputs.items():
        np.testing.assert_array_equal(again.outputs[name].joints_cam_mm, o.joints_cam_mm)
        np.testing.assert_array_equal(again.outputs[name].joints_2d, o.joints_2d)
    if not run_rootnet:
        assert_recovers(pred, POSENET.name, [0, 1])
        assert again.root_output is None
    else:
        k = p.root_k_value(batch.boxes[p.crop_groups()[0]], batch.f)
        np.testing.assert_allclose(again.root_output[:, 2], 0.8 * k, rtol=1e-6)


def test_chunked_inference_changes_no_number(monkeypatch) -> None:
    """The benchmark's back-off runs rows in pieces; every net sees all rows once and the answer is the same."""
    p = _scene_predictor()
    batch, _, _ = _frame_batch(p, monkeypatch)
    calls: list[tuple[str, int]] = []

    def one_by_one(name, n, infer):
        calls.append((name, n))
        return np.concatenate([infer(i, i + 1) for i in range(n)])

    ref = p.predict_batch(batch)
    got = p.predict_batch(batch, chunked=one_by_one)
    assert calls == [("rootnet-r50", 2), (POSENET.name, 2), (INTEGRAL.name, 2)]
    np.testing.assert_array_equal(got.root_output, ref.root_output)
    for name in ref.outputs:
        np.testing.assert_array_equal(got.outputs[name].joints_cam_mm, ref.outputs[name].joints_cam_mm)
    assert list(got.timings_ms) == ["rootnet", POSENET.name, INTEGRAL.name, "post"]


def test_per_sample_cameras_broadcast(monkeypatch) -> None:
    """The benchmark gives one camera per sample ([N,2]); one camera repeated must equal the shared (2,) camera."""
    p = _scene_predictor()
    batch, _, _ = _frame_batch(p, monkeypatch)
    n = len(next(iter(batch.boxes.values())))
    per = CropBatch(batch.crops, batch.boxes, np.tile(batch.f, (n, 1)), np.tile(batch.c, (n, 1)))
    a, b = p.predict_batch(batch), p.predict_batch(per)
    np.testing.assert_allclose(a.root_cam_mm, b.root_cam_mm, rtol=1e-12)
    for name in a.outputs:
        np.testing.assert_allclose(a.outputs[name].joints_cam_mm, b.outputs[name].joints_cam_mm, rtol=1e-12)


# ------------------------------------------------------------------------------------------------- house rule


def test_no_family_decoding_or_backend_switches_in_inference_runner_and_bench() -> None:
    files = [*(ROOT_DIR / "engine" / "inference").rglob("*.py"), *(ROOT_DIR / "engine" / "h36m").glob("run*.py"),
             *(ROOT_DIR / "bench").glob("*.py")]
    hits = [f"{f.relative_to(ROOT_DIR)}:{i}: {line.strip()}" for f in files
            for i, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1) if SWITCH.search(line)]
    assert hits == []
