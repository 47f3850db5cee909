"""Reading released checkpoint layouts, refusing bad files with clear errors, strict loading, identification.

Uses the two cheapest registered models (mhp-lpski-w0.5, 1.4M params; convnextpose-xs, 3.5M) saved in each layout
the upstream releases use (3DMPPE's ``{'network': ...}`` with ``module.``, ConvNeXtPose's zip, Integral's).
"""

from __future__ import annotations

import argparse
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from models import all_specs, build, get_spec
from models.checkpoint import CheckpointError, read_checkpoint, sha256_file
from models.matching import identification_note, identify_checkpoint, identify_state_dict, load_strict

SMALL = "mhp-lpski-w0.5"
CNP = "convnextpose-xs"


def small_net(name: str = SMALL, seed: int = 1) -> torch.nn.Module:
    torch.manual_seed(seed)
    net = build(name)
    with torch.no_grad():  # make BN buffers non-trivial so a silently skipped buffer would show
        for k, v in net.state_dict().items():
            if k.endswith("running_mean"):
                v.uniform_(-0.1, 0.1)
    return net


def save_official(net: torch.nn.Module, path: Path, legacy: bool = False, **extra: object) -> Path:
    """3DMPPE layout: {'epoch', 'network': DataParallel state_dict ('module.' keys), 'optimizer'}."""
    sd = {"module." + k: v for k, v in net.state_dict().items()}
    torch.save({"epoch": 24, "network": sd, "optimizer": {"state": {}, "param_groups": []}, **extra}, path,
               _use_new_zipfile_serialization=not legacy)
    return path


def repack_zip_under(src: Path, dest: Path, folder: str) -> Path:
    """ConvNeXtPose release packaging: the torch zip's entries re-zipped under ``folder/`` (deflated, dir entries)."""
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        out.writestr(folder + "/", b"")
        for name in z.namelist():
            out.writestr(f"{folder}/{name.split('/', 1)[1]}", z.read(name))
    return dest


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_official_wrapped_layout_loads(tmp_path: Path) -> None:
    net = small_net()
    path = save_official(net, tmp_path / "snapshot_24.pth.tar")
    sd = read_checkpoint(path)
    assert not any(k.startswith("module.") for k in sd)
    fresh = build(SMALL)
    load_strict(fresh, sd, path)
    assert_same_weights(net, fresh)


@pytest.mark.parametrize("folder", ["snapshot_83.pth", "ConvNeXtPose_XS/snapshot_83.pth"])
def test_zip_in_tar_under_folder_loads(tmp_path: Path, folder: str) -> None:
    net = small_net(CNP)
    plain = save_official(net, tmp_path / "plain.pth")
    tar = repack_zip_under(plain, tmp_path / "ConvNeXtPose_XS.tar", folder)
    assert zipfile.ZipFile(tar).namelist()[0] == folder + "/"
    fresh = build(CNP)
    load_strict(fresh, read_checkpoint(tar), tar)
    assert_same_weights(net, fresh)


def test_numpy_scalars_load_without_full_unpickling(tmp_path: Path) -> None:
    net = small_net()
    path = save_official(net, tmp_path / "np.pth", epoch_np=np.int64(24), loss=np.float64(0.5))
    load_strict(build(SMALL), read_checkpoint(path), path)


def test_numpy1_scalar_name_in_legacy_pickle_loads(tmp_path: Path) -> None:
    """Old files name ``numpy.core.multiarray.scalar`` (numpy 2 moved it to numpy._core)."""
    torch.save({"network": {"w": torch.ones(2)}, "epoch": np.int64(3)}, tmp_path / "a.pth",
               _use_new_zipfile_serialization=False)
    raw = (tmp_path / "a.pth").read_bytes()
    assert b"numpy._core.multiarray" in raw
    (tmp_path / "b.pth").write_bytes(raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    assert torch.equal(read_checkpoint(tmp_path / "b.pth")["w"], torch.ones(2))


def test_python_objects_need_the_trusted_path(tmp_path: Path) -> None:
    """Integral-style files hold more than tensors (numpy scalars, a config object): full unpickling only if trusted."""
    net = small_net()
    path = save_official(net, tmp_path / "integral.pth.tar", legacy=True, train_loss=np.float64(1.25),
                         config=argparse.Namespace(lr=1e-3))
    with pytest.raises(CheckpointError) as err:
        read_checkpoint(path)
    msg = str(err.value)
    assert str(path) in msg and "argparse.Namespace" in msg and "--trust" in msg
    with pytest.raises(CheckpointError):
        read_checkpoint(path, trusted_sha256={"0" * 64})
    sd = read_checkpoint(path, trusted_sha256={sha256_file(path)})
    fresh = build(SMALL)
    load_strict(fresh, sd, path)
    assert_same_weights(net, fresh)


def test_legacy_file_without_num_batches_tracked_is_benign(tmp_path: Path) -> None:
    net = small_net()
    sd = {"module." + k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "torch040.pth.tar"
    torch.save({"network": sd}, path, _use_new_zipfile_serialization=False)
    fresh = build(SMALL)
    load_strict(fresh, read_checkpoint(path), path)
    assert_same_weights(net, fresh)


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    good = save_official(small_net(), tmp_path / "good.pth")
    for legacy in (False, True):
        src = save_official(small_net(), tmp_path / f"src{legacy}.pth", legacy=legacy) if legacy else good
        bad = tmp_path / f"cut{legacy}.pth"
        bad.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
        with pytest.raises(CheckpointError, match="truncated") as err:
            read_checkpoint(bad)
        assert str(bad) in str(err.value)


def test_empty_and_text_files_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty") as err:
        read_checkpoint(empty)
    assert str(empty) in str(err.value)
    text = tmp_path / "notes.pth"
    text.write_text("this is not a checkpoint\n")
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint") as err:
        read_checkpoint(text)
    assert str(text) in str(err.value)
    html = tmp_path / "quota.pth"
    html.write_text("<!DOCTYPE html><html><body>Download quota exceeded</body></html>")
    with pytest.raises(CheckpointError, match="HTML page"):
        read_checkpoint(html)


def test_zip_without_checkpoint_and_dict_without_tensors_are_refused(tmp_path: Path) -> None:
    z = tmp_path / "folder.zip"
    with zipfile.ZipFile(z, "w") as out:
        out.writestr("readme.txt", "hello")
    with pytest.raises(CheckpointError, match="data.pkl"):
        read_checkpoint(z)
    p = tmp_path / "meta.pth"
    torch.save({"epoch": 3, "lr": 0.1}, p)
    with pytest.raises(CheckpointError, match="no state_dict") as err:
        read_checkpoint(p)
    assert "epoch" in str(err.value)


def test_archives_are_refused_with_a_hint(tmp_path: Path) -> None:
    """Drive/PINTO archives (.tar, .tar.gz) are not checkpoints: say to extract them."""
    inner = tmp_path / "model.onnx"
    inner.write_bytes(b"\x08\x07")
    for mode, name in (("w", "resources.tar"), ("w:gz", "resources.tar.gz")):
        with tarfile.open(tmp_path / name, mode) as tf:
            tf.add(inner, arcname="resources/model.onnx")
        with pytest.raises(CheckpointError, match="extract it") as err:
            read_checkpoint(tmp_path / name)
        assert str(tmp_path / name) in str(err.value)


def test_checkpoint_of_another_model_is_refused_and_named(tmp_path: Path) -> None:
    path = save_official(small_net(CNP), tmp_path / "cnp.pth")
    with pytest.raises(CheckpointError) as err:
        load_strict(build(SMALL), read_checkpoint(path), path, SMALL)
    msg = str(err.value)
    assert str(path) in msg and SMALL in msg and f"checkpoint of {CNP}" in msg
    assert "missing key(s)" in msg and "unexpected key(s)" in msg and "... and" in msg  # long lists are capped
    assert "backbone.first_conv.0.weight" in msg  # a missing key is named


def test_one_wrong_shape_names_the_key_and_shapes(tmp_path: Path) -> None:
    net = small_net()
    sd = {"module." + k: v for k, v in net.state_dict().items()}
    sd["module.backbone.final_layer.weight"] = torch.zeros(17 * 32, 256, 1, 1)
    sd["module.backbone.final_layer.bias"] = torch.zeros(17 * 32)
    path = tmp_path / "bad_shape.pth"
    torch.save({"network": sd}, path)
    with pytest.raises(CheckpointError) as err:
        load_strict(build(SMALL), read_checkpoint(path), path, SMALL)
    msg = str(err.value)
    assert str(path) in msg and "2 shape mismatch(es)" in msg
    assert "backbone.final_layer.weight (checkpoint [544, 256, 1, 1] vs model [576, 256, 1, 1])" in msg
    assert "missing" not in msg and "unexpected" not in msg


@pytest.mark.parametrize("name", [SMALL, CNP])
def test_identify_picks_the_model_from_a_file(tmp_path: Path, name: str) -> None:
    net = small_net(name)
    path = save_official(net, tmp_path / "unknown.pth.tar")
    spec, arch, sd = identify_checkpoint(path)
    assert spec.name == name and arch == dict(get_spec(name).arch)
    load_strict(build(spec), sd, path)


def test_every_registered_model_identifies_as_itself() -> None:
    """Shape-only state_dicts (meta tensors): ResNet depth, joints, head type and variants all tell models apart."""
    for spec in all_specs():
        if spec.backend != "torch":
            continue
        with torch.device("meta"):
            sd = build(spec).state_dict()
        found, arch = identify_state_dict(sd, "x")
        # two registry entries may share one architecture (RootNet's Human3.6M and MuCo snapshots): either name
        assert found.name == spec.name or (found.family, dict(found.arch)) == (spec.family, dict(spec.arch)), \
            (spec.name, found.name)
        assert arch == dict(spec.arch)


def test_unknown_layout_lists_closest_candidates() -> None:
    with torch.device("meta"):
        sd = build(SMALL).state_dict()
    sd["backbone.final_layer.weight"] = torch.empty(17 * 32, 256, 1, 1, device="meta")
    with pytest.raises(CheckpointError) as err:
        identify_state_dict(sd, "weird.pth")
    msg = str(err.value)
    assert msg.startswith("weird.pth: matches no registered model")
    assert f"Closest: {SMALL}: 1 shape mismatch(es): backbone.final_layer.weight" in msg


def test_unregistered_variant_is_described() -> None:
    """A ConvNeXtPose trained on MuCo (21 joints) is no registered model: the message says what the shapes describe."""
    spec = get_spec(CNP)
    with torch.device("meta"):
        sd = build(replace(spec, arch={**spec.arch, "joints": 21})).state_dict()
    with pytest.raises(CheckpointError) as err:
        identify_state_dict(sd, "muco.tar")
    msg = str(err.value)
    assert "shapes describe a convnextpose network" in msg and "'joints': 21" in msg
    assert f"Closest: {CNP}: 2 shape mismatch(es): head.final_layer.weight" in msg


def test_integral_r50_release_note() -> None:
    """mks0601's Integral R50 file has the PoseNet layout: it identifies as posenet-r50, and the note says so."""
    assert "Integral" in identification_note(get_spec("posenet-r50"))
