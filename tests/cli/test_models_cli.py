"""``python main.py models`` and ``python main.py weights ...``: output shape, manifest effects, clean errors."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

import main
from models import get_spec, model_names
from tests.conftest import ROOT
from tests.models.test_checkpoint import CNP, SMALL, save_official, small_net


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main.main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_models_json_subprocess(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "main.py", "models", "--json", "--weights-dir", str(tmp_path / "w")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [r["name"] for r in rows] == model_names()
    for r in rows:
        assert {"name", "family", "joints", "input_size", "params", "gmacs", "weights"} <= set(r)
        bundled = get_spec(r["name"]).runtime.bundled_file(get_spec(r["name"]))
        assert r["weights"] == (str(bundled) if bundled else None)  # only the bundled model has weights
    posenet = next(r for r in rows if r["name"] == "posenet-r50")
    assert posenet["joints"] == 18 and posenet["input_size"] == [256, 256] and posenet["params"] == 34_291_392
    assert posenet["published"]["mpjpe_p2"] == 53.3


def test_weights_import_via_cli_updates_manifest_and_models(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    wdir = tmp_path / "w"
    src = save_official(small_net(), tmp_path / "snapshot_24.pth.tar")
    rc, out, err = run_cli(["weights", "import", str(src), "--weights-dir", str(wdir)], capsys)
    assert rc == 0, err
    assert f"as {SMALL}" in out
    rows = json.loads((wdir / "manifest.json").read_text())
    assert [r["model"] for r in rows] == [SMALL] and (wdir / rows[0]["file"]).is_file()

    rc, out, _ = run_cli(["weights", "list", "--weights-dir", str(wdir)], capsys)
    assert rc == 0 and SMALL in out and rows[0]["sha256"][:16] in out
    rc, out, _ = run_cli(["weights", "--weights-dir", str(wdir), "dir"], capsys)
    assert rc == 0 and out.strip() == str(wdir)

    rc, out, _ = run_cli(["models", "--json", "--weights-dir", str(wdir)], capsys)
    by_name = {r["name"]: r for r in json.loads(out)}
    assert by_name[SMALL]["weights"] == str(wdir / f"{SMALL}.pth") and by_name[CNP]["weights"] is None
    rc, out, _ = run_cli(["models", "--weights-dir", str(wdir)], capsys)
    line = next(ln for ln in out.splitlines() if ln.startswith(SMALL + "*"))
    assert line.endswith(str(wdir / f"{SMALL}.pth"))
    assert next(ln for ln in out.splitlines() if ln.startswith(CNP + " ")).endswith("missing")


@pytest.mark.parametrize("kind", ["text", "missing", "wrong-model", "unknown-name"])
def test_bad_input_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    wdir = str(tmp_path / "w")
    bad = tmp_path / "bad.pth"
    if kind == "text":
        bad.write_text("not weights")
        argv, needle = ["weights", "import", str(bad)], "not a PyTorch checkpoint"
    elif kind == "missing":
        argv, needle = ["weights", "import", str(bad)], "no such file"
    elif kind == "wrong-model":
        save_official(small_net(CNP), bad)
        argv, needle = ["weights", "import", str(bad), "--as", SMALL], f"checkpoint of {CNP}"
    else:
        argv, needle = ["weights", "download", "no-such-model"], "unknown model 'no-such-model'"
    rc, out, err = run_cli([*argv, "--weights-dir", wdir], capsys)
    assert rc == 1
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and needle in errors[0] and "Traceback" not in err
    if kind != "unknown-name":
        assert str(bad) in errors[0]
    assert not (tmp_path / "w" / "manifest.json").exists()


def test_onnx_import_route(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A .onnx file goes to models.onnx.importer (when present); a broken one is still one clean error line."""
    f = tmp_path / "model.onnx"
    f.write_bytes(b"\x08\x07")
    rc, _, err = run_cli(["weights", "import", str(f), "--weights-dir", str(tmp_path / "w")], capsys)
    assert rc == 1 and "Traceback" not in err
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and str(f) in errors[0]
    if importlib.util.find_spec("models.onnx.importer") is None:
        assert "ONNX import is not available" in errors[0]
    else:
        assert "not a PyTorch checkpoint" not in errors[0]  # it was not read as a torch file


def test_download_folder_failure_message(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A Drive folder whose listing lacks the file: one error line naming the file and what the folder has."""
    import gdown
    from gdown.download import GoogleDriveFileToDownload

    listing = [GoogleDriveFileToDownload(id=f"ID{v}", path=f"ConvNeXtPose_{v}.tar", local_path="") for v in "SM"]
    monkeypatch.setattr(gdown, "download_folder", lambda *a, **kw: listing)
    monkeypatch.setattr(gdown, "download", lambda *a, **kw: pytest.fail("nothing may be transferred"))
    rc, _, err = run_cli(["weights", "download", "convnextpose-l", "--weights-dir", str(tmp_path / "w")], capsys)
    assert rc == 1 and err.startswith("error: the Google Drive folder https://drive.google.com/drive/folders/")
    assert "has no file ConvNeXtPose_L.tar" in err and "ConvNeXtPose_S.tar, ConvNeXtPose_M.tar" in err
    assert "--file" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1

    def refused(*a: object, **kw: object) -> None:
        raise gdown.exceptions.DownloadError("Failed to retrieve folder contents (status code 404)")

    monkeypatch.setattr(gdown, "download_folder", refused)
    rc, _, err = run_cli(["weights", "download", "convnextpose-l", "--weights-dir", str(tmp_path / "w")], capsys)
    assert rc == 1 and err.startswith("error: convnextpose-l: cannot list the Google Drive folder")
    assert "not shared publicly" in err and "ConvNeXtPose_L.tar" in err and "python main.py weights import FILE" in err


def test_sha256_is_shown_and_a_changed_download_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """`weights list` and `models` show the recorded sha256; a re-download with another hash warns with both."""
    import gdown

    wdir = tmp_path / "w"
    bodies = [save_official(small_net(seed=s), tmp_path / f"s{s}.pth") for s in (1, 2)]
    served = [bodies[0]]

    def fake_download(url=None, output=None, **kw):  # a Drive file transfer: copies the "served" local file
        Path(output).write_bytes(served[0].read_bytes())
        return output

    monkeypatch.setattr(gdown, "download", fake_download)
    url = "https://drive.google.com/uc?id=FAKEID"
    rc, out, err = run_cli(["weights", "download", SMALL, "--url", url, "--weights-dir", str(wdir)], capsys)
    assert rc == 0, err
    first = json.loads((wdir / "manifest.json").read_text())[0]["sha256"]
    assert f"sha256 {first}" in out and "warning" not in err
    rc, out, _ = run_cli(["weights", "list", "--weights-dir", str(wdir)], capsys)
    assert first in out  # in full
    rc, out, _ = run_cli(["models", "--json", "--weights-dir", str(wdir)], capsys)
    by_name = {r["name"]: r for r in json.loads(out)}
    assert by_name[SMALL]["sha256"] == first and by_name[CNP]["sha256"] is None
    rc, out, _ = run_cli(["models", "--weights-dir", str(wdir)], capsys)
    assert first[:12] in next(ln for ln in out.splitlines() if ln.startswith(SMALL + "*"))

    served[0] = bodies[1]
    rc, out, err = run_cli(["weights", "download", SMALL, "--url", url, "--weights-dir", str(wdir)], capsys)
    second = json.loads((wdir / "manifest.json").read_text())[0]["sha256"]
    assert rc == 0 and second != first
    warning = next(ln for ln in err.splitlines() if ln.startswith("warning:"))
    assert first in warning and second in warning and "loaded strictly" in warning
