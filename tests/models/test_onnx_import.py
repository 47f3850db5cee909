"""ONNX import: export a PoseArena net, recognise it, map it back onto the architecture, convert and compare joints.

Round trip on MobileHumanPose LPSKI width 0.5 (21 joints) with random weights and randomised BatchNorm statistics,
exported by torch's TorchScript exporter both with BatchNorm folded into the convolutions (its eval default) and
unfolded. Then: onnxruntime vs the converted PyTorch checkpoint on the same crops, refusal of a wrong conversion,
clear errors for malformed and foreign files, and the weights-directory import.
"""

from __future__ import annotations

import io
import json
import tarfile
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import models.onnx.zoo  # noqa: F401  (registers the ONNX specs until models/zoo.py imports it)
from engine.inference.geometry import normalise
from models.checkpoint import read_checkpoint
from models.matching import load_strict
from models.onnx import convert as onnx_import  # the module whose match_architecture convert_to_checkpoint calls
from models.onnx.backend import OnnxPoseNet
from models.onnx.importer import (
    ConversionRefusedError,
    NoMappingError,
    OnnxImportError,
    convert_to_checkpoint,
    import_onnx,
    import_onnx_archive,
    inspect_onnx,
    match_architecture,
)
from models.soft_argmax import soft_argmax_3d
from models.spec import build, get_spec

MHP21 = {"backbone": "LPSKI", "width": 0.5, "joints": 21, "embedding": 2048}


def randomised(arch: dict, seed: int = 0) -> nn.Module:
    """A MobileHumanPose net with non-trivial BN statistics and PReLU slopes, logits scaled to a soft heatmap."""
    base = get_spec("mhp-lpski-w0.5")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build(replace(base, arch=arch)).eval()
        with torch.no_grad():
            for name, t in net.state_dict().items():
                if name.endswith("running_mean"):
                    t.normal_(0.0, 0.1)
                elif name.endswith("running_var"):
                    t.uniform_(0.5, 1.5)
                elif t.dim() == 1 and t.dtype.is_floating_point and "final_layer" not in name:
                    t.uniform_(0.8, 1.2) if name.endswith("weight") and "deconv" not in name else t.uniform_(-.1, .1)
            x = normalise(np.full((1, 256, 256, 3), 128.0, np.float32), "imagenet_0_255")
            spread = net(x).std().item()
            net.backbone.final_layer.weight.mul_(2.0 / spread)
            net.backbone.final_layer.bias.mul_(2.0 / spread)
    return net


def export(net: nn.Module, path: Path, fold: bool = True) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net.eval(), (torch.zeros(1, 3, 256, 256),), str(path), dynamo=False,
                          input_names=["image"], output_names=["heatmaps"], do_constant_folding=fold,
                          dynamic_axes={"image": {0: "n"}, "heatmaps": {0: "n"}})
    return path


@pytest.fixture(scope="module")
def mhp(tmp_path_factory: pytest.TempPathFactory) -> dict:
    d = tmp_path_factory.mktemp("mhp")
    net = randomised(MHP21)
    return {"net": net, "folded": export(net, d / "mhp21_folded.onnx", fold=True),
            "unfolded": export(net, d / "mhp21_unfolded.onnx", fold=False)}


def crops(n: int = 2, seed: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (n, 256, 256, 3)).astype(np.float32)


def joints_of(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return soft_argmax_3d(net(x), 21, 32)


def max_mm(a: torch.Tensor, b: torch.Tensor) -> float:
    """Cells/bins -> mm with a 1000 mm box over 32 cells and 2000 mm over 32 bins."""
    return float(((a - b) * torch.tensor([1000 / 32, 1000 / 32, 2000 / 32])).norm(dim=-1).max())


def test_inspect_reports_io_and_heatmap_geometry(mhp: dict) -> None:
    info = inspect_onnx(mhp["folded"])
    assert [t.name for t in info.inputs] == ["image"] and info.inputs[0].shape == ("n", 3, 256, 256)
    assert (info.joints, info.depth_bins, info.output_hw, info.input_layout) == (21, 32, (32, 32), "NCHW")
    assert info.opset and info.initializer_count > 50 and info.parameter_count > 1_000_000


def test_unfolded_export_maps_one_to_one_onto_the_original_weights(mhp: dict) -> None:
    spec, mapping = match_architecture(mhp["unfolded"])
    assert (spec.family, dict(spec.arch), spec.joint_set) == ("mobilehumanpose", MHP21, "muco21")
    assert mapping.one_to_one and not mapping.folded_bn
    original = mhp["net"].state_dict()
    assert set(mapping.state_dict) == set(original)
    for k, v in original.items():
        if not k.endswith("num_batches_tracked"):
            assert torch.equal(mapping.state_dict[k], v), k


def test_folded_export_reports_no_one_to_one_mapping(mhp: dict) -> None:
    spec, mapping = match_architecture(mhp["folded"])
    assert dict(spec.arch) == MHP21
    assert not mapping.one_to_one and mapping.kind == "bn-folded"
    assert len(mapping.folded_bn) == 58
    assert "no one-to-one mapping exists" in mapping.describe()


@pytest.mark.parametrize("which", ["folded", "unfolded"])
def test_converted_checkpoint_gives_the_onnx_joints(mhp: dict, tmp_path: Path, which: str) -> None:
    out = tmp_path / "converted.pth"
    report = convert_to_checkpoint(mhp[which], out)
    assert report["max_joint_diff_mm"] < 1.0 and report["mapping"] == ("bn-folded" if which == "folded"
                                                                        else "one-to-one")
    spec = report["spec"]
    net = build(spec)
    load_strict(net, read_checkpoint(out), out, spec.name)  # strict, weights-only read
    x = normalise(crops(), "imagenet_0_255")
    ort_joints = joints_of(OnnxPoseNet(mhp[which]), x)
    torch_joints = joints_of(net.eval(), x)
    original = joints_of(mhp["net"], x)
    diff = max_mm(ort_joints, torch_joints)
    print(f"{which}: max joint difference onnxruntime vs converted checkpoint {diff:.4f} mm")
    assert diff < 1.0
    assert max_mm(torch_joints, original) < 1.0
    assert float((ort_joints - ort_joints.mean(dim=(0, 1))).abs().max()) > 0.5  # joints differ: a real comparison


def test_wrong_weights_are_refused(mhp: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = onnx_import.match_architecture

    def tampered(*args, **kwargs):
        spec, mapping = real(*args, **kwargs)
        w = mapping.state_dict["backbone.deconv2.3.weight"]
        mapping.state_dict["backbone.deconv2.3.weight"] = w.flip(0)  # swap output channels of one conv
        return spec, mapping

    monkeypatch.setattr(onnx_import, "match_architecture", tampered)
    out = tmp_path / "bad.pth"
    with pytest.raises(ConversionRefusedError, match=r"disagrees with onnxruntime by .* mm"):
        convert_to_checkpoint(mhp["unfolded"], out)
    assert not out.exists()


def test_input_normalisation_inside_the_graph_is_recognised(mhp: dict, tmp_path: Path) -> None:
    class WithNorm(nn.Module):
        def __init__(self, net: nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # raw 0..255 in, the 3DMPPE quirk applied inside
            mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
            std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
            return self.net((x - mean) / std)

    path = export(WithNorm(mhp["net"]), tmp_path / "raw_input.onnx")
    report = convert_to_checkpoint(path, tmp_path / "raw.pth", onnx_normalisation="raw_0_255")
    scale, offset = report["input_affine"]
    assert np.allclose(scale, 1 / np.array([0.229, 0.224, 0.225]), rtol=1e-5)
    assert (report["onnx_normalisation"], report["normalisation"]) == ("raw_0_255", "imagenet_0_255")
    assert report["max_joint_diff_mm"] < 1.0


def test_random_bytes_are_not_onnx(tmp_path: Path) -> None:
    bad = tmp_path / "noise.onnx"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(OnnxImportError, match=r"noise\.onnx: (not a valid ONNX model|malformed ONNX model)"):
        inspect_onnx(bad)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(OnnxImportError, match="empty"):
        inspect_onnx(empty)


def test_foreign_classifier_is_not_a_pose_model(tmp_path: Path) -> None:
    net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(8, 1000))
    path = tmp_path / "classifier.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net.eval(), (torch.zeros(1, 3, 224, 224),), str(path), dynamo=False,
                          input_names=["x"], output_names=["logits"])
    with pytest.raises(OnnxImportError, match=r"classifier\.onnx: not a 3D pose heatmap model.*\[1, 1000\]"):
        inspect_onnx(path)
    with pytest.raises(OnnxImportError, match="not a 3D pose heatmap model"):
        import_onnx(path, tmp_path / "weights")


def test_two_input_graph_is_refused(tmp_path: Path) -> None:
    class Two(nn.Module):
        def forward(self, x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
            return x.mean(dim=(2, 3)) * k

    path = tmp_path / "two.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Two(), (torch.zeros(1, 3, 64, 64), torch.ones(1, 1)), str(path), dynamo=False)
    with pytest.raises(OnnxImportError, match="single-input image models"):
        inspect_onnx(path)


def test_pose_model_of_no_known_architecture(tmp_path: Path) -> None:
    path = tmp_path / "stand_in.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(nn.Conv2d(3, 21 * 32, 8, stride=8).eval(), (torch.zeros(1, 3, 256, 256),), str(path),
                          dynamo=False)
    with pytest.raises(NoMappingError, match="map onto no registered PoseArena architecture"):
        match_architecture(path)
    with pytest.raises(OnnxImportError, match="--model NAME"):
        import_onnx(path, tmp_path / "weights")


def test_import_recognises_a_pinto_file_and_converts_it(mhp: dict, tmp_path: Path) -> None:
    class RawIn(nn.Module):  # like the PINTO files: plain 0..255 RGB in
        def __init__(self, net: nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x)

    path = export(RawIn(mhp["net"]), tmp_path / "mobile_human_pose_working_well_256x256.onnx")
    wd = tmp_path / "weights"
    result = import_onnx(path, wd)
    assert result["model"] == "mhp-onnx-working-well"
    assert Path(result["stored"]) == wd / "mhp-onnx-working-well.onnx"
    conv = result["conversion"]
    assert conv["status"] == "converted" and conv["model"] == "mhp-onnx-working-well-torch"
    assert conv["normalisation"] == "raw_0_255" and conv["registered"] is False
    assert conv["max_joint_diff_mm"] < 1.0 and Path(conv["checkpoint"]).is_file()
    manifest = json.loads((wd / "manifest.json").read_text())
    assert [e["model"] for e in manifest] == ["mhp-onnx-working-well"]  # the unregistered twin stays out
    from models.weights.store import find_weights

    assert find_weights("mhp-onnx-working-well", wd) == wd / "mhp-onnx-working-well.onnx"
    assert any("stored as" in m for m in result["messages"])


def test_import_of_a_registered_architecture_feeds_the_loader(tmp_path: Path) -> None:
    from models.loader import load_model

    spec = get_spec("mhp-lpski-w0.5")  # 18 joints, imagenet_0_255: registered
    net = randomised(dict(spec.arch), seed=1)
    path = export(net, tmp_path / "my_export.onnx")
    wd = tmp_path / "weights"
    result = import_onnx(path, wd)
    conv = result["conversion"]
    assert result["model"] is None and conv["model"] == "mhp-lpski-w0.5" and conv["registered"] is True
    loaded = load_model("mhp-lpski-w0.5", weights_dir=wd)
    assert loaded.trained and loaded.checkpoint == wd / "mhp-lpski-w0.5.pth"
    x = normalise(crops(1), spec.normalisation)
    with torch.no_grad():
        a = soft_argmax_3d(loaded.net(x), 18, 32)
        b = soft_argmax_3d(OnnxPoseNet(path)(x), 18, 32)
    assert max_mm(a, b) < 1.0


def test_import_from_the_archive(mhp: dict, tmp_path: Path) -> None:
    onnx_bytes = mhp["folded"].read_bytes()
    archive = tmp_path / "resources.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for name, data in (("resources/mobile_human_pose_baseline_256x256.onnx", onnx_bytes),
                           ("resources/readme.txt", b"other files")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    wd = tmp_path / "weights"
    (result,) = import_onnx_archive(archive, wd, convert=False)
    assert result["model"] == "mhp-onnx-baseline" and result["conversion"]["status"] == "skipped"
    assert (wd / "mhp-onnx-baseline.onnx").read_bytes() == onnx_bytes
    with pytest.raises(OnnxImportError, match="none of the registered ONNX files"):
        import_onnx_archive(archive, wd, models=["mhp-onnx-working-well"])


def test_target_restricts_the_architecture(mhp: dict) -> None:
    with pytest.raises(NoMappingError):
        match_architecture(mhp["folded"], target="mhp-lpski")  # 18 joints, width 1.0: not this file
    spec18 = get_spec("mhp-lpski-w0.5")
    with pytest.raises(NoMappingError):
        match_architecture(mhp["folded"], target=spec18.name)  # right width, but 18 joints


def test_convnextpose_round_trip_keeps_unfoldable_batchnorms(tmp_path: Path) -> None:
    """ConvNeXtPose has BatchNorms after residual additions (downsamplers): the exporter cannot fold those."""
    spec = get_spec("convnextpose-xs")
    torch.manual_seed(4)
    net = build(spec).eval()
    with torch.no_grad():
        for k, t in net.state_dict().items():
            if k.endswith("running_var"):
                t.uniform_(0.5, 1.5)
            elif k.endswith("running_mean"):
                t.normal_(0.0, 0.1)
    path = export(net, tmp_path / "cnp.onnx")
    report = convert_to_checkpoint(path, tmp_path / "cnp.pth")
    assert report["model"] == "convnextpose-xs" and report["registered"] is True
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    assert 0 < report["folded_bn"] < n_bn  # some folded into convolutions, the rest kept as BatchNorm nodes
    assert report["max_joint_diff_mm"] < 1.0
