"""An error the user can fix prints one line; any other exception is a bug: one line plus a traceback in a log file.

Why: a tidy message for an unexpected exception hides a bug; a raw traceback for a missing file hides the fix.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

import pytest

from cli import app
from models.errors import PoseArenaError, bug_report, first_line

USER_ERRORS = [
    ("models.blazepose.runtime", "BlazePoseError"), ("models.loader", "WeightsMissingError"),
    ("models.onnx.backend", "OnnxModelError"), ("models.onnx.inspect", "OnnxImportError"),
    ("models.weights.store", "WeightsError"), ("models.checkpoint", "CheckpointError"),
    ("engine.h36m.outputs", "OutputWriteError"), ("engine.h36m.evaluate", "PredictionsError"),
    ("engine.h36m.issues", "DatasetError"), ("engine.h36m.run.config", "ResultsExistError"),
    ("engine.h36m.run.config", "OutputLockedError"), ("engine.h36m.shards", "MergeError"),
    ("engine.inference.camera", "IntrinsicsError"), ("engine.inference.oom", "OutOfMemoryBackoffError"),
    ("engine.live.source_base", "SourceError"), ("engine.live.export.mocap", "ExportError"),
    ("engine.live.recording.format", "RecordingError"), ("engine.live.detector", "DetectorError"),
]


@pytest.mark.parametrize(("module", "name"), USER_ERRORS)
def test_user_facing_errors_share_one_base(module: str, name: str) -> None:
    assert issubclass(getattr(importlib.import_module(module), name), PoseArenaError)


def _parser_raising(exc: BaseException):
    def build() -> argparse.ArgumentParser:
        parser = argparse.ArgumentParser(prog="posearena")
        parser.add_argument("words", nargs="*")

        def run(_args: argparse.Namespace) -> int:
            raise exc

        parser.set_defaults(_run=run)
        return parser

    return build


def test_a_user_error_is_one_line_and_exit_1(monkeypatch, capsys, tmp_path: Path) -> None:
    from engine.live.recording.format import RecordingError

    monkeypatch.setenv("POSEARENA_HOME", str(tmp_path))
    monkeypatch.setattr(app, "build_parser", _parser_raising(RecordingError("rec.h5: not a PoseArena recording")))
    assert app.main([]) == 1
    err = capsys.readouterr().err
    assert err == "error: rec.h5: not a PoseArena recording\n"
    assert not (tmp_path / "logs").exists()


def test_an_unexpected_exception_is_a_bug_with_a_logged_traceback(monkeypatch, capsys, tmp_path: Path) -> None:
    monkeypatch.setenv("POSEARENA_HOME", str(tmp_path))
    monkeypatch.setattr(app, "build_parser", _parser_raising(ZeroDivisionError("division by zero")))
    assert app.main(["word-for-the-log"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "unexpected error (a bug), ZeroDivisionError: division by zero" in err
    logs = list((tmp_path / "logs").glob("error-*.log"))
    assert len(logs) == 1 and str(logs[0]) in err
    text = logs[0].read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "ZeroDivisionError: division by zero" in text
    assert "word-for-the-log" in text and "in run" in text


def test_a_bug_whose_log_cannot_be_written_still_shows_its_traceback(monkeypatch, capsys, tmp_path: Path) -> None:
    blocker = tmp_path / "home"
    blocker.write_text("a file where the home folder should be", encoding="utf-8")
    monkeypatch.setenv("POSEARENA_HOME", str(blocker))
    monkeypatch.setattr(app, "build_parser", _parser_raising(KeyError("missing")))
    assert app.main([]) == 2
    err = capsys.readouterr().err
    assert "the traceback could not be written" in err and "Traceback (most recent call last)" in err


def test_bug_report_and_first_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("POSEARENA_HOME", str(tmp_path))
    try:
        raise RuntimeError("\n  first\nsecond")
    except RuntimeError as exc:
        line, log = bug_report(exc)
    assert log is not None and log.parent == tmp_path / "logs" and "RuntimeError: first" in line
    assert first_line(ValueError("")) == "ValueError" and first_line(ValueError("x" * 400)) == "x" * 300
    assert PoseArenaError("a\nb").user_message == "a"
