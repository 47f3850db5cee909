"""The catalogue row the CLI's ``models`` table and the GUI's model lists share."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.catalogue import catalogue
from models.spec import model_names
from models.weights.store import WeightsError


def test_every_registered_model_has_one_row_in_order(tmp_path: Path) -> None:
    rows = catalogue(tmp_path)
    assert [r.spec.name for r in rows] == list(model_names())
    assert not any(r.problem for r in rows)
    by_name = {r.spec.name: r for r in rows}
    assert by_name["posenet-r50"].weights_file is None  # nothing installed in an empty folder
    assert by_name["blazepose-full"].weights_file is not None  # bundled with the app
    record = by_name["posenet-r50"].as_json()
    assert record["name"] == "posenet-r50" and record["weights"] is None and record["sha256"] is None
    assert set(record) >= {"params", "gmacs", "published", "speed", "speed_ms", "speed_device", "sha256", "backend"}


def test_an_unreadable_manifest_is_an_error_or_a_note_per_row(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(WeightsError, match="unreadable weights manifest"):
        catalogue(tmp_path)
    rows = catalogue(tmp_path, strict=False)
    assert len(rows) == len(model_names()) and all("unreadable weights manifest" in r.problem for r in rows)
