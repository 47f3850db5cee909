"""engine.inference.fast_paths: every profile gives the fp32 answer within its tolerance, the ONNX cache is reused, bad
combinations fail clearly, and parity_mm converts cells to the documented nominal millimetres.

Two small models (mhp-lpski-w0.5, convnextpose-xs) with seeded random weights at batch 1-2 keep this file fast;
RootNet (ResNet-50, two inputs) runs once through onnxruntime (~3 s).
"""

from __future__ import annotations

import copy
import math

import pytest
import torch

from bench.fast_paths import fastest
from engine.inference.fast_paths import (
    PROFILES,
    FastPathConfig,
    get_profile,
    onnx_cache_path,
    parity_mm,
    parity_threshold_mm,
    prepare,
    profiles_for,
    weights_tag,
)
from models import build, get_spec
from models.spec import ModelSpec

SMALL = ("mhp-lpski-w0.5", "convnextpose-xs")


def _net(name: str, seed: int = 0) -> torch.nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build(get_spec(name)).eval()


def _x(spec: ModelSpec, n: int = 2) -> torch.Tensor:
    return torch.randn(n, 3, *spec.input_hw, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module", params=SMALL)
def small(request) -> tuple[ModelSpec, torch.nn.Module, torch.Tensor, torch.Tensor]:
    """(spec, net, input [2,3,H,W], fp32 eager reference output)."""
    spec = get_spec(request.param)
    net, x = _net(spec.name), _x(spec)
    with torch.inference_mode():
        ref = net(x)
    return spec, net, x, ref


# ------------------------------------------------------------------------------------------------- fast paths


def test_fp32_profile_is_the_plain_forward(small) -> None:
    spec, net, x, ref = small
    out = prepare(copy.deepcopy(net), spec, "cpu", "fp32")(x)
    assert out.dtype == torch.float32
    assert torch.equal(out, ref)


def test_onnxruntime_parity_dynamic_batch_and_cache_reuse(small, tmp_path, monkeypatch) -> None:
    spec, net, x, ref = small
    first = prepare(net, spec, "cpu", "onnxruntime", cache_dir=tmp_path)
    assert first.exported and first.onnx_path is not None and first.onnx_path.parent == tmp_path
    assert first.providers == ["CPUExecutionProvider"]
    out = first(x)
    assert out.shape == ref.shape
    assert parity_mm(spec, ref, out) < 0.1
    assert parity_mm(spec, ref[:1], first(x[:1])) < 0.1  # exported at batch 2, runs at batch 1: dynamic axis
    mtime = first.onnx_path.stat().st_mtime_ns

    def no_export(*a, **k):
        raise AssertionError("the cached ONNX file should have been reused")

    monkeypatch.setattr(torch.onnx, "export", no_export)
    second = prepare(net, spec, "cpu", "onnxruntime", cache_dir=tmp_path)
    assert not second.exported and second.onnx_path == first.onnx_path
    assert first.onnx_path.stat().st_mtime_ns == mtime
    assert [p.name for p in tmp_path.iterdir()] == [first.onnx_path.name]  # no temp files left behind
    assert torch.equal(second(x), out)


def test_channels_last_parity_is_essentially_zero(small) -> None:
    spec, net, x, ref = small
    fp = prepare(copy.deepcopy(net), spec, "cpu", "channels_last")
    assert parity_mm(spec, ref, fp(x)) < 1e-3


@pytest.mark.parametrize("profile", ["bf16", "channels_last+bf16"])
def test_bf16_parity_is_finite_and_reported(small, profile) -> None:
    # Loose on purpose: with random weights the logits are meaningless and nearly flat, so how far bf16 moves the
    # soft-argmax here says nothing about trained weights (bench.fast_paths measures that). 50 mm — five times the
    # 5 mm the benchmark accepts — only catches a broken path: NaN, wrong memory layout, wrong channel order.
    spec, net, x, ref = small
    out = prepare(copy.deepcopy(net), spec, "cpu", profile)(x)
    assert out.dtype == torch.float32 and out.shape == ref.shape
    p = parity_mm(spec, ref, out)
    assert math.isfinite(p) and p < 50.0
    print(f"{spec.name} {profile}: parity {p:.4f} mm")


def test_corrupt_cache_file_is_replaced(tmp_path) -> None:
    spec = get_spec("mhp-lpski-w0.5")
    net, x = _net(spec.name), _x(spec, 1)
    path = onnx_cache_path(spec, weights_tag(net), cache_dir=tmp_path)
    path.write_bytes(b"not an onnx file")
    fp = prepare(net, spec, "cpu", "onnxruntime", cache_dir=tmp_path)
    assert fp.exported and fp.onnx_path == path
    with torch.inference_mode():
        assert parity_mm(spec, net(x), fp(x)) < 0.1


def test_rootnet_through_onnxruntime_takes_two_inputs(tmp_path) -> None:
    spec = get_spec("rootnet-r50")
    net, x = _net(spec.name), _x(spec, 1)
    k = torch.tensor([[1500.0]])
    fp = prepare(net, spec, "cpu", "onnxruntime", cache_dir=tmp_path)
    with torch.inference_mode():
        ref = net(x, k)
    out = fp(x, k)
    assert out.shape == (1, 3)
    assert parity_mm(spec, ref, out) < 0.1
    with pytest.raises(ValueError, match="k_value"):
        fp(x)


# ------------------------------------------------------------------------------------------------- configuration


def test_invalid_combinations_fail_clearly() -> None:
    spec, net = get_spec("mhp-lpski-w0.5"), torch.nn.Identity()
    with pytest.raises(ValueError, match="onnxruntime"):
        FastPathConfig(precision="bf16", backend="onnxruntime")
    with pytest.raises(ValueError, match="precision"):
        FastPathConfig(precision="int8")
    with pytest.raises(ValueError, match="cuda_graphs needs a CUDA device"):
        prepare(net, spec, "cpu", FastPathConfig(cuda_graphs=True))
    with pytest.raises(ValueError, match="unknown fast-path profile"):
        get_profile("turbo")
    onnx_spec = ModelSpec(name="some-onnx", family="onnx", variant="", joint_set="h36m18", input_hw=(256, 256),
                          normalisation="imagenet", output_hw=(32, 32), depth_bins=32, decoding="3dmppe",
                          backend="onnx")
    with pytest.raises(ValueError, match="already an ONNX model"):
        prepare(net, onnx_spec, "cpu", "onnxruntime")


def test_wrong_input_shape_names_the_model() -> None:
    spec = get_spec("mhp-lpski-w0.5")
    fp = prepare(_net(spec.name), spec, "cpu", "fp32")
    with pytest.raises(ValueError, match="mhp-lpski-w0.5.*input"):
        fp(torch.zeros(1, 3, 128, 128))
    with pytest.raises(ValueError, match="one input"):
        fp(torch.zeros(1, 3, 256, 256), torch.ones(1, 1))


def test_profiles_for_cpu_and_labels() -> None:
    cpu = profiles_for(torch.device("cpu"))
    assert cpu == ["fp32", "bf16", "channels_last", "channels_last+bf16", "onnxruntime"]
    assert "compile" in profiles_for(torch.device("cpu"), compile=True)
    assert {n for n in profiles_for(torch.device("cuda"))} >= {"fp16", "cuda_graphs"}
    for name, cfg in PROFILES.items():
        assert cfg.label == name
    assert parity_threshold_mm("onnxruntime") == 0.1 and parity_threshold_mm("bf16") == 5.0


def test_weights_tag_keys_the_cache() -> None:
    a, b, a2 = _net("mhp-lpski-w0.5", 0), _net("mhp-lpski-w0.5", 1), _net("mhp-lpski-w0.5", 0)
    assert weights_tag(a).startswith("untrained-")
    assert weights_tag(a) == weights_tag(a2) != weights_tag(b)
    assert weights_tag(a, "ABCDEF0123456789ffff") == "abcdef0123456789"


# ------------------------------------------------------------------------------------------------- parity_mm


def _peak(spec: ModelSpec, joint: int, x: int, y: int, z: int) -> torch.Tensor:
    """Heatmaps whose every joint peaks sharply at (x, y, z) = (0, 0, 0), except ``joint`` at the given cell."""
    h, w = spec.output_hw
    d = spec.depth_bins
    hm = torch.full((1, spec.num_joints * d, h, w), -1e4)
    hm[0, [j * d for j in range(spec.num_joints)], 0, 0] = 0.0
    hm[0, joint * d, 0, 0] = -1e4
    hm[0, joint * d + z, y, x] = 0.0
    return hm


def test_parity_mm_uses_the_nominal_scale() -> None:
    spec = get_spec("convnextpose-xs")  # 32x32 map, 32 bins over 2000 mm
    ref = _peak(spec, 3, 5, 5, 5)
    assert parity_mm(spec, ref, ref) == 0.0
    assert parity_mm(spec, ref, _peak(spec, 3, 6, 5, 5)) == pytest.approx(1000.0 / 32, rel=1e-4)
    assert parity_mm(spec, ref, _peak(spec, 3, 5, 7, 5)) == pytest.approx(2 * 1000.0 / 32, rel=1e-4)
    assert parity_mm(spec, ref, _peak(spec, 3, 5, 5, 6)) == pytest.approx(2000.0 / 32, rel=1e-4)
    assert math.isnan(parity_mm(spec, ref, torch.full_like(ref, float("nan"))))
    with pytest.raises(ValueError, match="shape"):
        parity_mm(spec, ref, ref[:, :-1])


def test_parity_mm_rootnet_depth_is_relative_at_4m() -> None:
    spec = get_spec("rootnet-r50")  # 64x64 map
    ref = torch.tensor([[10.0, 10.0, 8000.0]])
    assert parity_mm(spec, ref, torch.tensor([[11.0, 10.0, 8000.0]])) == pytest.approx(1000.0 / 64)
    assert parity_mm(spec, ref, torch.tensor([[10.0, 10.0, 8004.0]])) == pytest.approx(2.0, rel=1e-5)


def test_bench_marks_fastest_within_threshold() -> None:
    rows = {
        "fp32": {"within": True, "batches": {"1": {"ms": 10.0}}},
        "bf16": {"within": False, "batches": {"1": {"ms": 4.0}}},
        "onnxruntime": {"within": True, "batches": {"1": {"ms": 6.0}}},
        "compile": {"within": False, "error": "boom"},
    }
    assert fastest(rows, 1) == "onnxruntime"
    assert fastest({"bf16": rows["bf16"]}, 1) is None
