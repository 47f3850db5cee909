"""Google Drive downloads, folders included, with gdown's listing and transfer replaced by local fakes.

The listing is a fake ``gdown.download_folder`` (a list of files with ids and paths, as gdown returns with
``skip_download=True``); the transfer is the real ``gdown.download`` pointed at a 127.0.0.1 server with Range support,
so progress, cancel and resume are gdown's own. Nothing here reaches the network.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import gdown
import pytest
from gdown.download import GoogleDriveFileToDownload  # what download_folder(skip_download=True) lists

import models.weights.download as WD
import models.weights.store as W
from engine.defaults import ROOT
from models import get_spec
from models.spec import CheckpointSource, all_specs
from tests.models.test_checkpoint import SMALL, save_official, small_net
from tests.range_server import RangeHandler

FOLDER = "https://drive.google.com/drive/folders/FAKEFOLDERID"
REAL_DOWNLOAD = gdown.download


@pytest.fixture
def wdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "weights"
    monkeypatch.setenv("POSEARENA_WEIGHTS", str(d))
    return d


class _Handler(RangeHandler):
    files: dict[str, bytes] = {}
    ranges: list[str | None] = []


@dataclass
class FakeDrive:
    """A Drive folder: ``listing`` (id -> path) served by a local HTTP server; every gdown call recorded."""

    base: str
    listing: dict[str, str] = field(default_factory=dict)
    listed: list[str] = field(default_factory=list)
    fetched: list[tuple[str, dict]] = field(default_factory=list)
    refuse_listing: str = ""

    def put(self, file_id: str, path: str, body: bytes) -> None:
        self.listing[file_id] = path
        _Handler.files[f"/{file_id}"] = body

    def download_folder(self, url=None, id=None, quiet=False, skip_download=False, **kw):  # noqa: A002
        assert skip_download, "the folder must only be listed, never downloaded whole"
        self.listed.append(url)
        if self.refuse_listing:
            raise gdown.exceptions.DownloadError(self.refuse_listing)
        return [GoogleDriveFileToDownload(id=i, path=p, local_path=p) for i, p in self.listing.items()]

    def download(self, url=None, output=None, **kw):
        file_id = url.rsplit("=", 1)[-1]
        self.fetched.append((file_id, kw))
        return REAL_DOWNLOAD(url=f"{self.base}/{file_id}", output=output, use_cookies=False, **kw)


@pytest.fixture
def drive(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDrive]:
    _Handler.files, _Handler.ranges = {}, []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    fake = FakeDrive(f"http://127.0.0.1:{httpd.server_address[1]}")
    monkeypatch.setattr(gdown, "download_folder", fake.download_folder)
    monkeypatch.setattr(gdown, "download", fake.download)
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def folder_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """SMALL with the registry source of a RootNet/PoseNet: one file in a Drive folder, told apart by a note."""
    spec = replace(get_spec(SMALL), checkpoints=(CheckpointSource(
        FOLDER, "snapshot_24.pth.tar", kind="gdrive-folder", note="pre-trained models: Human3.6M protocol 2 model"),))
    monkeypatch.setattr(WD, "get_spec", lambda name: spec)


def _serve_several(drive: FakeDrive, tmp_path: Path, seed: int = 1) -> bytes:
    body = save_official(small_net(seed=seed), tmp_path / f"served{seed}.pth").read_bytes()
    drive.put("ID_README", "README.txt", b"read me")
    drive.put("ID_P1", "Human36M_Protocol1/snapshot_24.pth.tar", b"protocol 1 bytes")
    drive.put("ID_P2", "Human36M_Protocol2/snapshot_24.pth.tar", body)
    drive.put("ID_MUCO", "MuCo/snapshot_24.pth.tar", b"muco bytes")
    return body


def test_folder_file_is_picked_by_name_with_progress(drive: FakeDrive, folder_model: None, wdir: Path,
                                                     tmp_path: Path) -> None:
    body = _serve_several(drive, tmp_path)
    seen: list[tuple[int, int | None]] = []
    entry = WD.download(SMALL, progress=lambda d, t: seen.append((d, t)))
    assert drive.listed == [FOLDER] and [f for f, _ in drive.fetched] == ["ID_P2"]
    assert drive.fetched[0][1]["resume"] is True and "cancel" in drive.fetched[0][1]
    assert (wdir / f"{SMALL}.pth").read_bytes() == body
    assert entry.sha256 == hashlib.sha256(body).hexdigest() and entry.trusted
    assert entry.source == f"{FOLDER}#Human36M_Protocol2/snapshot_24.pth.tar"
    assert W.find_entry(SMALL).sha256 == entry.sha256  # recorded in the manifest
    assert seen and seen[-1] == (len(body), len(body))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert not [p for p in wdir.iterdir() if ".gdrive" in p.name]  # nothing staged left behind


def test_folder_download_cancel_keeps_partial_then_resumes(drive: FakeDrive, folder_model: None, wdir: Path,
                                                           tmp_path: Path) -> None:
    body = _serve_several(drive, tmp_path)
    cancel = threading.Event()

    def progress(done: int, total: int | None) -> None:
        if done > 0:
            cancel.set()

    with pytest.raises(WD.DownloadCancelled, match="kept"):
        WD.download(SMALL, progress=progress, cancel=cancel)
    parts = [p for p in wdir.iterdir() if p.name.endswith(".part")]
    assert len(parts) == 1 and 0 < parts[0].stat().st_size < len(body)
    assert not (wdir / f"{SMALL}.pth").exists() and W.find_weights(SMALL) is None
    have = parts[0].stat().st_size

    _Handler.ranges.clear()
    seen: list[int] = []
    WD.download(SMALL, progress=lambda d, t: seen.append(d))
    assert f"bytes={have}-" in _Handler.ranges  # gdown asked for the rest only
    assert seen[0] > have and (wdir / f"{SMALL}.pth").read_bytes() == body
    assert not [p for p in wdir.iterdir() if p.name.endswith(".part")]


def test_missing_name_lists_what_the_folder_has(drive: FakeDrive, wdir: Path, monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    _serve_several(drive, tmp_path)
    spec = replace(get_spec(SMALL), checkpoints=(CheckpointSource(FOLDER, "snapshot_7.pth.tar",
                                                                  kind="gdrive-folder"),))
    monkeypatch.setattr(WD, "get_spec", lambda name: spec)
    with pytest.raises(W.WeightsError) as err:
        WD.download(SMALL)
    msg = str(err.value)
    assert "no file snapshot_7.pth.tar" in msg and FOLDER in msg and "--file" in msg
    for path in ("README.txt", "Human36M_Protocol1/snapshot_24.pth.tar", "MuCo/snapshot_24.pth.tar"):
        assert path in msg
    assert drive.fetched == []


def test_ambiguous_name_needs_a_path_and_file_option_picks(drive: FakeDrive, wdir: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    body = _serve_several(drive, tmp_path)
    spec = replace(get_spec(SMALL), checkpoints=(CheckpointSource(FOLDER, "snapshot_24.pth.tar",
                                                                  kind="gdrive-folder"),))
    monkeypatch.setattr(WD, "get_spec", lambda name: spec)
    with pytest.raises(W.WeightsError, match="3 files named snapshot_24.pth.tar") as err:
        WD.download(SMALL)
    assert "MuCo/snapshot_24.pth.tar" in str(err.value) and "--file" in str(err.value)
    entry = WD.download(SMALL, folder_file="Human36M_Protocol2/snapshot_24.pth.tar")
    assert entry.sha256 == hashlib.sha256(body).hexdigest()


def test_pick_folder_file_rules() -> None:
    files = [WD.DriveFile("a", "snapshot_7.pth.tar"), WD.DriveFile("b", "P1/snapshot_19.pth.tar"),
             WD.DriveFile("c", "Human36M_Protocol2/x.tar"), WD.DriveFile("d", "MuCo/x.tar")]
    assert WD.pick_folder_file(files, "snapshot_7.pth.tar").id == "a"
    assert WD.pick_folder_file(files, "SNAPSHOT_19.pth.tar").id == "b"  # by name, any sub-folder, any case
    assert WD.pick_folder_file(files, "MuCo/x.tar").id == "d"  # an exact path
    assert WD.pick_folder_file(files, "x.tar", hint="Human3.6M protocol 2 model").id == "c"
    with pytest.raises(W.WeightsError, match="2 files named x.tar"):
        WD.pick_folder_file(files, "x.tar", hint="something else")
    with pytest.raises(W.WeightsError, match="it has: nothing"):
        WD.pick_folder_file([], "x.tar")


@pytest.mark.parametrize(("reason", "words"), [
    ("Failed to retrieve folder contents (status code 429). You may need to change the permission to 'Anyone with "
     "the link', or have had many accesses.", "quota"),
    ("Failed to retrieve folder contents for folder ID: X (status code 404).", "not shared publicly"),
])
def test_folder_listing_refused_in_the_users_words(drive: FakeDrive, folder_model: None, wdir: Path,
                                                   reason: str, words: str) -> None:
    drive.refuse_listing = reason
    with pytest.raises(W.WeightsError) as err:
        WD.download(SMALL)
    msg = str(err.value)
    assert words in msg and FOLDER in msg and "snapshot_24.pth.tar" in msg
    assert "python main.py weights import FILE" in msg and "\n" not in msg


def test_drive_file_quota_is_in_the_users_words(wdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(**kw):
        raise gdown.FileURLRetrievalError("Too many users have viewed or downloaded this file recently.")

    monkeypatch.setattr(gdown, "download", refuse)
    with pytest.raises(W.WeightsError) as err:
        WD.download("rootnet-r50-muco")
    assert "quota" in str(err.value) and "weights import FILE" in str(err.value)
    assert W.find_weights("rootnet-r50-muco") is None


def test_old_gdown_without_progress_or_cancel_still_downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict] = []

    def old_download(url=None, output=None, quiet=False, resume=False):
        calls.append({"url": url, "quiet": quiet, "resume": resume})
        Path(output).write_bytes(b"x")
        return output

    monkeypatch.setattr(gdown, "download", old_download)
    WD._gdrive_fetch("https://drive.google.com/uc?id=X", tmp_path / "f", None, threading.Event())
    assert calls == [{"url": "https://drive.google.com/uc?id=X", "quiet": True, "resume": True}]
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(WD.DownloadCancelled):
        WD._gdrive_fetch("https://drive.google.com/uc?id=X", tmp_path / "g", None, cancel)


def test_changed_file_is_reported_and_kept_only_if_it_loads(drive: FakeDrive, folder_model: None, wdir: Path,
                                                            tmp_path: Path) -> None:
    first = _serve_several(drive, tmp_path, seed=1)
    old = WD.download(SMALL)
    warnings: list[str] = []
    WD.download(SMALL, warn=warnings.append)  # the same file again: nothing to report
    assert warnings == []

    second = _serve_several(drive, tmp_path, seed=2)  # upstream replaced the file with another valid one
    assert second != first
    new = WD.download(SMALL, warn=warnings.append)
    assert len(warnings) == 1 and old.sha256 in warnings[0] and new.sha256 in warnings[0]
    assert "loaded strictly" in warnings[0] and "replaces" in warnings[0]
    assert W.find_entry(SMALL).sha256 == new.sha256 == hashlib.sha256(second).hexdigest()

    drive.put("ID_P2", "Human36M_Protocol2/snapshot_24.pth.tar", b"not a checkpoint at all")  # a broken change
    with pytest.raises(W.WeightsError) as err:
        WD.download(SMALL, warn=warnings.append)
    msg = str(err.value)
    assert "not a usable" in msg and "earlier file is kept" in msg and new.sha256 in msg
    assert (wdir / f"{SMALL}.pth").read_bytes() == second and W.find_entry(SMALL).sha256 == new.sha256
    assert len(warnings) == 1


# ---------------------------------------------------------------------------------------------------- registry


def test_rootnet_entries_are_distinct() -> None:
    h36m, muco = get_spec("rootnet-r50"), get_spec("rootnet-r50-muco")
    assert h36m.fixture == "rootnet_r50" and muco.fixture is None
    assert h36m.published.mrpe_p2 == 120.0 and muco.published.mrpe_p2 is None
    assert (h36m.family, h36m.arch, h36m.params) == (muco.family, muco.arch, muco.params)
    assert [(s.kind, s.filename) for s in h36m.checkpoints] == [("gdrive-folder", "snapshot_7.pth.tar")]
    assert [(s.kind, s.filename) for s in muco.checkpoints] == [("gdrive", "snapshot_18.pth.tar")]
    assert "1ZHoXNFxBBsmis-5Xzu7dfXYGNxjpntgt" in muco.checkpoints[0].url
    assert ROOT.rootnet == "rootnet-r50-muco" and ROOT.benchmark_rootnet == "rootnet-r50"


def test_every_official_file_has_a_download_plan() -> None:
    for spec in all_specs():
        if spec.checkpoints:
            assert WD.download_plan(spec).kind in WD.DOWNLOAD_KINDS, spec.name
    assert WD.download_plan(get_spec("convnextpose-xs")).filename == "ConvNeXtPose_XS.tar"
    assert WD.download_plan(get_spec("convnextpose-xs"), folder_file="x/y.tar").filename == "x/y.tar"
