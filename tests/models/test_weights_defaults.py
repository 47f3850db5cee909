"""``weights download --defaults``: the plan, one failure not stopping the rest, the summary, the exit code, and where
the YOLO file lands (the live detector finds it). Every transfer is a local fake: nothing reaches the network."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import main
import models.weights.defaults as WDF
import models.weights.download as WD
import models.weights.store as W
from cli.weights_cmd import defaults_plan
from engine.live.detector import DEFAULT_YOLO, find_detector_weights

PLAN = ["convnextpose-xs", "rootnet-r50-muco", "yolo11n.pt"]


@pytest.fixture
def wdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "weights"
    monkeypatch.setenv("POSEARENA_WEIGHTS", str(d))
    return d


class Fakes:
    """Fake transfers: ``download`` of a model writes a file and a manifest entry; ultralytics' fetch writes bytes."""

    def __init__(self, fail: set[str] = frozenset()) -> None:
        self.fail = set(fail)
        self.calls: list[str] = []

    def download(self, name, weights_dir=None, progress=None, cancel=None, warn=None, **kw):
        self.calls.append(name)
        if progress:
            progress(0, 10)
            progress(10, 10)
        if name in self.fail:
            raise W.WeightsError(f"cannot list the Google Drive folder for {name}: quota exceeded")
        d = W.resolve_weights_dir(weights_dir)
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{name}.pth").write_bytes(name.encode())
        entry = W.ManifestEntry(name, f"{name}.pth", "ab" * 32, "fake", "2025-01-01T00:00:00+00:00", True)
        W.add_manifest_entry(entry, d)
        return entry

    def fetch_yolo(self, name: str, staged: Path) -> Path:
        self.calls.append(name)
        if name in self.fail:
            raise W.WeightsError(f"{name}: ultralytics could not download it (offline)")
        staged.write_bytes(b"yolo weights")
        return staged


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Fakes:
    f = Fakes()
    monkeypatch.setattr(WDF, "download", f.download)
    monkeypatch.setattr(WDF, "_fetch_yolo", f.fetch_yolo)
    monkeypatch.setattr(WDF, "_check_yolo", lambda path: None)
    return f


def test_plan_is_the_default_live_view() -> None:
    plan = defaults_plan()
    assert [i.name for i in plan] == PLAN and [i.kind for i in plan] == ["model", "model", "detector"]
    assert DEFAULT_YOLO[0] == "yolo11n.pt" and WDF.lightest_downloadable_pose_model() == "convnextpose-xs"


def test_one_failure_does_not_stop_the_rest(fakes: Fakes, wdir: Path) -> None:
    fakes.fail = {"convnextpose-xs"}
    progressed: list[str] = []
    got: list[WDF.DefaultResult] = []
    results = WDF.download_defaults(defaults_plan(), progress=lambda item: lambda d, t: progressed.append(item.name),
                                    on_result=got.append)
    assert fakes.calls == PLAN and got == results
    assert [r.status for r in results] == ["failed", "downloaded", "downloaded"]
    assert "quota" in results[0].detail
    assert set(progressed) == set(PLAN)
    assert W.find_weights("rootnet-r50-muco") == wdir / "rootnet-r50-muco.pth"
    yolo = wdir / "detectors" / "yolo11n.pt"
    assert yolo.read_bytes() == b"yolo weights" and results[2].detail == str(yolo) and len(results[2].sha256) == 64
    assert find_detector_weights("yolo11n.pt") == yolo  # where the live detector looks
    assert not (wdir / "detectors" / ".download").exists()


def test_installed_files_are_not_downloaded_again(fakes: Fakes, wdir: Path) -> None:
    WDF.download_defaults(defaults_plan())
    fakes.calls.clear()
    results = WDF.download_defaults(defaults_plan())
    assert fakes.calls == [] and [r.status for r in results] == ["present"] * 3


def test_cancel_stops_the_rest(fakes: Fakes, wdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cancel = threading.Event()

    def cancelled(name, *a, **kw):
        fakes.calls.append(name)
        cancel.set()
        raise WD.DownloadCancelled("download cancelled; the partial file is kept")

    monkeypatch.setattr(WDF, "download", cancelled)
    results = WDF.download_defaults(defaults_plan(), cancel=cancel)
    assert fakes.calls == ["convnextpose-xs"]
    assert [r.status for r in results] == ["cancelled", "skipped", "skipped"]


def test_failed_yolo_download_leaves_nothing(fakes: Fakes, wdir: Path) -> None:
    fakes.fail = {"yolo11n.pt"}
    results = WDF.download_defaults(defaults_plan())
    assert [r.status for r in results] == ["downloaded", "downloaded", "failed"]
    assert "ultralytics" in results[2].detail
    assert not (wdir / "detectors" / "yolo11n.pt").exists() and find_detector_weights("yolo11n.pt") is None


def test_cli_defaults_summary_and_exit_code(fakes: Fakes, wdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fakes.fail = {"rootnet-r50-muco"}
    rc = main.main(["weights", "download", "--defaults", "--weights-dir", str(wdir)])
    out, err = capsys.readouterr()
    assert rc == 1 and fakes.calls == PLAN
    assert "convnextpose-xs: downloaded" in out and "yolo11n.pt: downloaded" in out and "sha256 " in out
    assert "rootnet-r50-muco: failed:" in err and "quota" in err
    assert out.strip().splitlines()[-1] == "2 of 3 ready; not done: rootnet-r50-muco (failed)"
    assert "Traceback" not in err

    fakes.fail.clear()
    fakes.calls.clear()
    rc = main.main(["weights", "download", "--defaults", "--weights-dir", str(wdir)])
    out, _ = capsys.readouterr()
    assert rc == 0 and fakes.calls == ["rootnet-r50-muco"]
    assert "convnextpose-xs: already installed" in out and out.strip().endswith("3 of 3 ready")


def test_cli_download_needs_a_name_or_defaults(wdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main.main(["weights", "download"]) == 1
    assert "--defaults" in capsys.readouterr().err
    assert main.main(["weights", "download", "convnextpose-xs", "--defaults"]) == 1
    assert "takes no model name" in capsys.readouterr().err
