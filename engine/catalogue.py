"""One catalogue row per registered model: its spec, its installed weights and its last measured speed.

Why here: the CLI's ``models`` table and the GUI's model lists show the same facts; reading them in one place keeps
the two from drifting (a new column is added once). Reads the manifest and ``bench/results``; no torch, no Qt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.speed_results import last_speed, speed_label
from models.spec import ModelSpec, all_specs
from models.weights.store import WeightsError, find_weights, installed_entry

__all__ = ["CatalogueRow", "catalogue"]


@dataclass(frozen=True)
class CatalogueRow:
    """What the app knows about one model outside its spec: the installed file, its recorded sha256, its speed."""

    spec: ModelSpec
    weights_file: Path | None = None
    sha256: str | None = None  # the manifest's record of the installed file (None: not installed, or not recorded)
    speed: dict[str, Any] = field(default_factory=dict)  # {"ms", "mode", "device"} of the last model_speed run
    problem: str = ""  # why the weights folder could not be read (only with strict=False)

    @property
    def speed_label(self) -> str:
        return speed_label(self.spec.name, {self.spec.name: self.speed} if self.speed else {})

    def as_json(self) -> dict[str, Any]:
        """The ``models --json`` record (its keys are a public format: add, never rename)."""
        spec, pub = self.spec, self.spec.published
        return {
            "name": spec.name, "family": spec.family, "variant": spec.variant, "joint_set": spec.joint_set,
            "joints": spec.num_joints, "input_size": list(spec.input_hw), "output_size": list(spec.output_hw),
            "depth_bins": spec.depth_bins, "params": spec.params, "gmacs": spec.gmacs,
            "weights": str(self.weights_file) if self.weights_file else None, "sha256": self.sha256,
            "speed_ms": self.speed.get("ms"), "speed": self.speed_label, "speed_device": self.speed.get("device"),
            "official": spec.official, "backend": spec.backend,
            "published": {"mpjpe_p2": pub.mpjpe_p2, "pa_mpjpe_p1": pub.pa_mpjpe_p1, "source": pub.source},
            "notes": spec.notes,
        }


def catalogue(weights_dir: str | Path | None = None, *, strict: bool = True) -> list[CatalogueRow]:
    """Every registered model, in registry order. An unreadable weights folder raises ``WeightsError`` when
    ``strict``; otherwise each row carries the problem (a list that must still show every model)."""
    speed = last_speed()
    rows = []
    for spec in all_specs():
        try:
            path = find_weights(spec.name, weights_dir)
            entry = installed_entry(spec.name, weights_dir) if path is not None else None
        except WeightsError as exc:
            if strict:
                raise
            rows.append(CatalogueRow(spec, speed=speed.get(spec.name, {}), problem=str(exc)))
            continue
        rows.append(CatalogueRow(spec, path, entry.sha256 if entry else None, speed.get(spec.name, {})))
    return rows
