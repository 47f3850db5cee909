"""Issue 28 item 20 (and issue 25 item 5): offline, a failed download says "no network connection", never blames
Google Drive and never shows the raw DNS error; the CLI's words may name commands, the GUI's point at the Models
tab's import button. Issue 26 item 5: which sources download is one fact (``models.weights.download.downloadable``)
that the loader's advice and the GUI's catalogue both use. No network is used: name resolution is made to fail the
way it does offline, and refused connections go to a closed port of 127.0.0.1."""

from __future__ import annotations

import socket

import pytest

from models.spec import all_specs, get_spec
from models.weights.download import NoNetworkError, download, downloadable
from tests.reliability.fault_helpers import cli

DNS_DOWN = "Temporary failure in name resolution"
_OFFLINE_HOOK = ("import socket\n"
                 "def _no_dns(*a, **k):\n"
                 f"    raise socket.gaierror(-3, {DNS_DOWN!r})\n"
                 "socket.getaddrinfo = _no_dns\n")


@pytest.fixture
def offline(monkeypatch):
    def no_dns(*_a, **_k):
        raise socket.gaierror(-3, DNS_DOWN)

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _says_offline(text: str) -> None:
    assert "no network connection" in text, text
    for wrong in ("Google Drive", "quota", "not shared", DNS_DOWN, "gaierror", "Errno"):
        assert wrong not in text, f"{wrong!r} in: {text}"


@pytest.mark.parametrize("name", ["convnextpose-xs", "rootnet-r50"])
def test_drive_download_offline_says_no_network(offline, tmp_path, name):
    with pytest.raises(NoNetworkError) as info:
        download(name, tmp_path)
    _says_offline(str(info.value))
    assert str(info.value).startswith(f"{name}:")
    gui = info.value.gui_text
    _says_offline(gui)
    assert gui.startswith("no network connection (cannot reach ")
    assert "Import checkpoint" in gui and "Models tab" in gui and "python" not in gui and "main.py" not in gui


def test_direct_link_with_connection_refused_says_no_network(tmp_path):
    with pytest.raises(NoNetworkError) as info:
        download("convnextpose-xs", tmp_path, url_override=f"http://127.0.0.1:{_closed_port()}/x.pth")
    _says_offline(str(info.value))


def test_weights_download_defaults_offline_names_the_cause(tmp_path):
    proc = cli(["weights", "--weights-dir", tmp_path, "download", "--defaults"], hook=_OFFLINE_HOOK, timeout=180)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("convnextpose-xs:"))
    _says_offline(line)
    assert "Traceback" not in proc.stderr


def test_gui_download_offline_points_at_the_import_button(offline, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("POSEARENA_WEIGHTS", str(tmp_path))
    from gui.controllers.models import RegistryController

    reg = RegistryController()
    messages: list[tuple[str, str]] = []
    reg.message.connect(lambda level, text: messages.append((level, text)))
    with qtbot.waitSignal(reg.downloadDone, timeout=60_000) as blocker:
        reg.download("convnextpose-xs")
    assert blocker.args == ["convnextpose-xs", "failed"]
    error = next(text for level, text in messages if level == "error")
    _says_offline(error)
    assert "Import checkpoint" in error and "main.py" not in error and "NoNetworkError" not in error


def test_downloadable_is_one_fact_for_loader_and_gui():
    from gui.controllers.models import _downloadable
    from models.loader import _missing_message

    for name in ("posenet-r50", "rootnet-r50", "convnextpose-xs"):
        assert downloadable(get_spec(name)), name
    for spec in all_specs():
        advice = _missing_message(spec, __import__("pathlib").Path("/nowhere"))
        says_download = f"weights download {spec.name}" in advice and "cannot be downloaded automatically" not in advice
        assert says_download == downloadable(spec), (spec.name, advice)
        assert _downloadable(spec) == downloadable(spec), spec.name
