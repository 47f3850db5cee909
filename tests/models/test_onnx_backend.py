"""The ONNX backend: OnnxPoseNet adapts layouts, fixed batches, 5-D and coordinate outputs; the onnx family/specs."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import models.onnx.zoo  # noqa: F401  (registers the ONNX specs until models/zoo.py imports it)
from models.onnx.backend import OnnxModelError, OnnxPoseNet, build_onnx_net, coords_to_heatmaps, untrained_error
from models.soft_argmax import soft_argmax_3d
from models.spec import build, get_spec


def export(net: nn.Module, path: Path, shape: tuple[int, ...], dynamic_batch: bool = True) -> Path:
    """TorchScript exporter (the dynamo one needs onnxscript, which the project does not install)."""
    axes = {"image": {0: "n"}, "out": {0: "n"}} if dynamic_batch else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net.eval(), (torch.zeros(*shape),), str(path), dynamo=False, input_names=["image"],
                          output_names=["out"], dynamic_axes=axes)
    return path


class Heat(nn.Module):
    """A stand-in pose net: [N,3,64,64] -> [N, J*D, 8, 8] (J=21, D=8), optionally shaped [N, J, D, 8, 8]."""

    def __init__(self, five_d: bool = False, nhwc: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 21 * 8, kernel_size=8, stride=8)
        self.five_d, self.nhwc = five_d, nhwc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.nhwc:
            x = x.permute(0, 3, 1, 2)
        y = self.conv(x)
        return y.reshape(y.shape[0], 21, 8, 8, 8) if self.five_d else y


def crops(n: int, hw: int = 64) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(n).uniform(0, 255, (n, 3, hw, hw)).astype(np.float32))


def test_heatmaps_match_torch_with_dynamic_batch(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = Heat()
    path = export(net, tmp_path / "heat.onnx", (1, 3, 64, 64))
    onnx_net = OnnxPoseNet(path)
    assert (onnx_net.joints, onnx_net.depth_bins, onnx_net.output_hw, onnx_net.input_layout) == (21, 8, (8, 8), "NCHW")
    x = crops(2)
    with torch.no_grad():
        assert torch.allclose(onnx_net(x), net(x), rtol=1e-4, atol=1e-3)
    assert onnx_net.state_dict() == {}  # nothing for a checkpoint loader to touch


def test_fixed_batch_graph_runs_any_batch(tmp_path: Path) -> None:
    torch.manual_seed(1)
    net = Heat()
    onnx_net = OnnxPoseNet(export(net, tmp_path / "b1.onnx", (1, 3, 64, 64), dynamic_batch=False))
    assert onnx_net.fixed_batch == 1
    x = crops(3)
    with torch.no_grad():
        assert torch.allclose(onnx_net(x), net(x), rtol=1e-4, atol=1e-3)


def test_nhwc_input_and_5d_output_are_adapted(tmp_path: Path) -> None:
    torch.manual_seed(2)
    net = Heat(five_d=True, nhwc=True)
    onnx_net = OnnxPoseNet(export(net, tmp_path / "nhwc.onnx", (1, 64, 64, 3)))
    assert onnx_net.input_layout == "NHWC" and onnx_net.input_hw == (64, 64)
    x = crops(2)
    with torch.no_grad():
        want = net(x.permute(0, 2, 3, 1)).reshape(2, 21 * 8, 8, 8)
        assert torch.allclose(onnx_net(x), want, rtol=1e-4, atol=1e-3)


def test_coordinate_output_decodes_to_the_same_coordinates(tmp_path: Path) -> None:
    class Coords(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 21 * 3, kernel_size=64)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.sigmoid(self.conv(x / 255.0)).reshape(-1, 21, 3) * torch.tensor([15.0, 15.0, 7.0])

    torch.manual_seed(3)
    net = Coords()
    onnx_net = OnnxPoseNet(export(net, tmp_path / "coords.onnx", (1, 3, 64, 64)), output="coords", depth_bins=8,
                           output_hw=(16, 16))
    x = crops(2)
    heat = onnx_net(x)
    assert heat.shape == (2, 21 * 8, 16, 16)
    with torch.no_grad():
        assert torch.allclose(soft_argmax_3d(heat, 21, 8), net(x), atol=1e-4)


def test_coords_to_heatmaps_is_exact_at_edges() -> None:
    coords = torch.tensor([[[0.0, 0.0, 0.0], [31.0, 31.0, 31.0], [12.25, 3.5, 30.999]]])
    got = soft_argmax_3d(coords_to_heatmaps(coords, 32, (32, 32)), 3, 32)
    assert torch.allclose(got, coords, atol=1e-4)


def test_mismatch_with_declared_shape_is_a_clear_error(tmp_path: Path) -> None:
    path = export(Heat(), tmp_path / "heat.onnx", (1, 3, 64, 64))
    with pytest.raises(OnnxModelError, match=r"heat\.onnx.*depth_bins 8 \(spec: 32\)"):
        OnnxPoseNet(path, joints=21, depth_bins=32)
    with pytest.raises(OnnxModelError, match="takes 64x64 crops, the spec says 256x256"):
        OnnxPoseNet(path, input_hw=(256, 256))


def test_onnx_specs_are_registered_with_provenance() -> None:
    for name, tag, drive_id in (("mhp-onnx-working-well", "working_well", "1vvjUsP_41Nqhj8oqRw2OpWjIdz8t5fxG"),
                                ("mhp-onnx-baseline", "baseline", "1hlu8GtgeK2-DmYxJgQ4WOfypAZu9nQbK")):
        spec = get_spec(name)
        assert (spec.family, spec.backend, spec.joint_set, spec.normalisation) == ("onnx", "onnx", "muco21",
                                                                                   "raw_0_255")
        assert (spec.input_hw, spec.output_hw, spec.depth_bins, spec.decoding) == ((256, 256), (32, 32), 32, "3dmppe")
        assert spec.official is False and "PINTO" in spec.notes
        assert spec.arch["onnx_file"] == f"mobile_human_pose_{tag}_256x256.onnx"
        (src,) = spec.checkpoints
        assert src.kind == "gdrive" and drive_id in src.url and "resources.tar.gz" in src.note


def test_onnx_spec_needs_its_file(tmp_path: Path) -> None:
    spec = get_spec("mhp-onnx-working-well")
    with pytest.raises(OnnxModelError, match="no untrained mode"):
        build(spec)
    assert "no untrained" in str(untrained_error(spec))
    with pytest.raises(OnnxModelError, match="no such ONNX file"):
        build_onnx_net(spec, tmp_path / "missing.onnx")


def test_build_onnx_net_checks_the_spec(tmp_path: Path) -> None:
    class Stand(nn.Module):  # 256x256 -> 21 joints x 32 bins on a 32x32 map, like the PINTO files
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 21 * 32, kernel_size=8, stride=8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x)

    spec = get_spec("mhp-onnx-working-well")
    net = build_onnx_net(spec, export(Stand(), tmp_path / "ok.onnx", (1, 3, 256, 256)))
    out = net(torch.zeros(1, 3, 256, 256))
    assert out.shape == (1, 21 * 32, 32, 32)
    with pytest.raises(OnnxModelError, match="does not match its spec"):
        build_onnx_net(spec, export(Heat(), tmp_path / "small.onnx", (1, 3, 256, 256)))
