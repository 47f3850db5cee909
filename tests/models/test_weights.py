"""Weights directory, manifest, import, download (against a local HTTP server with Range support) and load_model."""

from __future__ import annotations

import argparse
import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import torch

import models.weights.download as WD
import models.weights.store as W
from models import get_spec
from models.checkpoint import CheckpointError
from models.loader import LoadedModel, WeightsMissingError, load_model
from models.spec import CheckpointSource
from tests.models.test_checkpoint import CNP, SMALL, assert_same_weights, save_official, small_net
from tests.range_server import RangeHandler


@pytest.fixture
def wdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "weights"
    monkeypatch.setenv("POSEARENA_WEIGHTS", str(d))
    return d


# ---------------------------------------------------------------------------------------------------- directory


def test_weights_dir_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("POSEARENA_WEIGHTS", "POSEARENA_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert W.resolve_weights_dir() == tmp_path / "home/.local/share/posearena/weights"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert W.resolve_weights_dir() == tmp_path / "xdg/posearena/weights"
    monkeypatch.setenv("POSEARENA_HOME", str(tmp_path / "pa"))
    assert W.resolve_weights_dir() == tmp_path / "pa/weights"
    monkeypatch.setenv("POSEARENA_WEIGHTS", str(tmp_path / "env"))
    assert W.resolve_weights_dir() == tmp_path / "env"
    assert W.resolve_weights_dir(tmp_path / "flag") == tmp_path / "flag"


def test_corrupt_manifest_is_a_clear_error(wdir: Path) -> None:
    wdir.mkdir(parents=True)
    (wdir / "manifest.json").write_text("{not json")
    with pytest.raises(W.WeightsError, match="manifest.json"):
        W.find_weights(SMALL)


# ---------------------------------------------------------------------------------------------------- import


def test_import_copies_in_and_records_manifest(tmp_path: Path, wdir: Path) -> None:
    src = save_official(small_net(), tmp_path / "snapshot_24.pth.tar")
    entry = W.import_checkpoint(src)
    assert entry.model == SMALL and entry.file == f"{SMALL}.pth" and not entry.trusted
    assert entry.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    assert W.find_weights(SMALL) == wdir / f"{SMALL}.pth"
    rows = json.loads((wdir / "manifest.json").read_text())
    assert isinstance(rows, list) and rows[0]["model"] == SMALL and rows[0]["sha256"] == entry.sha256
    assert set(rows[0]) >= {"model", "file", "sha256", "source", "date", "trusted"}
    assert not [p for p in wdir.iterdir() if p.name.endswith(".tmp")]  # atomic writes leave no temp files
    # A second import for the same model replaces its entry (one active file per model).
    src2 = save_official(small_net(seed=2), tmp_path / "other.pth")
    W.import_checkpoint(src2)
    rows = json.loads((wdir / "manifest.json").read_text())
    assert [r["model"] for r in rows] == [SMALL] and rows[0]["sha256"] != entry.sha256


def test_import_refuses_bad_file_and_leaves_nothing(tmp_path: Path, wdir: Path) -> None:
    bad = tmp_path / "x.pth"
    bad.write_text("hello")
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
        W.import_checkpoint(bad)
    assert not wdir.exists() or not any(wdir.iterdir())
    other = save_official(small_net(CNP), tmp_path / "cnp.pth")
    with pytest.raises(CheckpointError, match=f"checkpoint of {CNP}"):
        W.import_checkpoint(other, model=SMALL)


def test_import_with_trust_then_load(tmp_path: Path, wdir: Path) -> None:
    net = small_net()
    src = save_official(net, tmp_path / "integral.pth.tar", legacy=True, config=argparse.Namespace(lr=1))
    with pytest.raises(CheckpointError, match="--trust"):
        W.import_checkpoint(src)
    entry = W.import_checkpoint(src, trust=True)
    assert entry.trusted
    # The trusted sha256 in the manifest lets the loader unpickle this exact file later.
    loaded = load_model(SMALL)
    assert loaded.trained and loaded.sha256 == entry.sha256
    assert_same_weights(net, loaded.net)


# ---------------------------------------------------------------------------------------------------- loader


def test_load_model_missing_weights_message(wdir: Path) -> None:
    with pytest.raises(WeightsMissingError) as err:
        load_model("posenet-r50")
    msg = str(err.value)
    assert "posenet-r50 has no weights" in msg and str(wdir) in msg and "weights import" in msg


def test_load_model_untrained_is_deterministic_and_labelled(wdir: Path) -> None:
    a = load_model(SMALL, allow_untrained=True, seed=3)
    b = load_model(SMALL, allow_untrained=True, seed=3)
    c = load_model(SMALL, allow_untrained=True, seed=4)
    assert isinstance(a, LoadedModel) and not a.trained and a.checkpoint is None and a.sha256 is None
    assert a.label == f"{SMALL} (untrained weights)"
    assert_same_weights(a.net, b.net)
    assert not torch.equal(a.net.state_dict()["backbone.final_layer.weight"],
                           c.net.state_dict()["backbone.final_layer.weight"])
    assert not a.net.training


def test_load_model_with_explicit_weights(tmp_path: Path, wdir: Path) -> None:
    net = small_net()
    path = save_official(net, tmp_path / "w.pth")
    m = load_model(SMALL, weights=path)
    assert m.trained and m.label == SMALL and m.checkpoint == path and not m.net.training
    assert m.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert_same_weights(net, m.net)
    with pytest.raises(CheckpointError, match=f"does not fit {CNP} \\(it is a checkpoint of {SMALL}\\)"):
        load_model(CNP, weights=path)


# ---------------------------------------------------------------------------------------------------- download


class _Handler(RangeHandler):
    files: dict[str, bytes] = {}
    ranges: list[str | None] = []


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, bytes]]:
    """Serves a real mhp-lpski-w0.5 checkpoint (~5.5 MB) at /ckpt.pth on 127.0.0.1."""
    body = save_official(small_net(), tmp_path / "served.pth").read_bytes()
    _Handler.files, _Handler.ranges = {"/ckpt.pth": body}, []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/ckpt.pth", body
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_download_with_progress_and_sha256(server: tuple[str, bytes], wdir: Path) -> None:
    url, body = server
    sha = hashlib.sha256(body).hexdigest()
    seen: list[tuple[int, int | None]] = []
    entry = WD.download(SMALL, progress=lambda d, t: seen.append((d, t)), url_override=url, sha256=sha)
    assert (wdir / f"{SMALL}.pth").read_bytes() == body
    assert entry.sha256 == sha and entry.source == url and not entry.trusted
    assert seen[-1] == (len(body), len(body)) and len(seen) > 2
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert not WD.part_path(SMALL).exists()
    assert load_model(SMALL).trained


def test_download_sha256_mismatch_leaves_nothing(server: tuple[str, bytes], wdir: Path) -> None:
    url, _ = server
    with pytest.raises(W.WeightsError, match="sha256 mismatch"):
        WD.download(SMALL, url_override=url, sha256="0" * 64)
    assert not (wdir / f"{SMALL}.pth").exists() and not WD.part_path(SMALL).exists()
    assert W.find_weights(SMALL) is None


def test_download_resumes_a_partial_file(server: tuple[str, bytes], wdir: Path) -> None:
    url, body = server
    wdir.mkdir(parents=True)
    half = len(body) // 2
    WD.part_path(SMALL).write_bytes(body[:half])
    seen: list[int] = []
    WD.download(SMALL, progress=lambda d, t: seen.append(d), url_override=url, sha256=hashlib.sha256(body).hexdigest())
    assert _Handler.ranges == [f"bytes={half}-"]
    assert seen[0] == half
    assert (wdir / f"{SMALL}.pth").read_bytes() == body


def test_download_cancel_keeps_partial(server: tuple[str, bytes], wdir: Path) -> None:
    url, body = server
    cancel = threading.Event()

    def progress(done: int, total: int | None) -> None:
        if done > 0:
            cancel.set()

    with pytest.raises(WD.DownloadCancelled):
        WD.download(SMALL, progress=progress, cancel=cancel, url_override=url)
    part = WD.part_path(SMALL)
    assert 0 < part.stat().st_size < len(body) and not (wdir / f"{SMALL}.pth").exists()


def test_download_registry_source(server: tuple[str, bytes], wdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A registry source with a published sha256 is fetched, checked and trusted; a wrong file is not kept."""
    url, body = server
    real = get_spec(SMALL)
    spec = replace(real, checkpoints=(CheckpointSource(url, "ckpt.pth", hashlib.sha256(body).hexdigest()),))
    monkeypatch.setattr(WD, "get_spec", lambda name: spec)
    entry = WD.download(SMALL)
    assert entry.trusted and entry.source == url
    wrong = replace(get_spec(CNP), checkpoints=(CheckpointSource(url, "ckpt.pth", kind="http"),))
    monkeypatch.setattr(WD, "get_spec", lambda name: wrong)
    with pytest.raises(W.WeightsError, match=f"not a usable {CNP} checkpoint") as err:
        WD.download(CNP)
    assert f"checkpoint of {SMALL}" in str(err.value)
    assert not (wdir / f"{CNP}.pth").exists() and not WD.part_path(CNP).exists()


def test_download_without_direct_link_explains_manual_route(wdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Drive folder that cannot be listed (here: gdown's listing refused, offline) ends with the manual route."""
    import gdown

    def refused(*a: object, **kw: object) -> None:
        raise gdown.exceptions.DownloadError("Failed to retrieve folder contents (status code 429): many accesses")

    monkeypatch.setattr(gdown, "download_folder", refused)
    with pytest.raises(W.WeightsError) as err:
        WD.download("posenet-r50")
    msg = str(err.value)
    assert "drive.google.com/drive/folders/" in msg and "snapshot_24.pth.tar" in msg and "quota" in msg
    assert "python main.py weights import FILE" in msg
    with pytest.raises(W.WeightsError, match="no trained weights are published"):
        WD.download("mhp-lpski")
    with pytest.raises(W.WeightsError, match="Google Drive folder"):
        WD.download(SMALL, url_override="https://drive.google.com/drive/folders/abc")


def test_tests_use_a_temporary_weights_dir(wdir: Path) -> None:
    """Nothing here may touch the real per-user directory."""
    assert W.resolve_weights_dir() == wdir
