"""Problems found in a Human3.6M folder: ``Issue`` (severity, file, key, message, sample), ``ValidationReport``
(lists them, counting beyond a few of one kind), ``DatasetError``; and the checked readers the validators share
(JSON files, finite arrays of a given shape)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.h36m.raw_index import RawIndex
from models.errors import PoseArenaError

__all__ = ["DatasetError", "Issue", "ValidationReport", "finite_array", "load_json", "rel_path"]

_MAX_PER_KIND = 20  # issues listed per (file, key kind) before they are only counted


class DatasetError(PoseArenaError):
    """The data set folder or a file in it is missing or malformed; the message lists what and where."""


@dataclass(frozen=True)
class Issue:
    severity: str  # "error" | "warning"
    file: str  # path relative to the data root where possible
    key: str  # JSON key path, e.g. "images[12].frame_idx" or "['5']['1']['128']"
    message: str
    sample: str | None = None  # image id / file name the problem affects

    def __str__(self) -> str:
        where = f"{self.file}" + (f" {self.key}" if self.key else "")
        who = f" (sample {self.sample})" if self.sample else ""
        return f"{self.severity.upper()}: {where}: {self.message}{who}"


@dataclass
class ValidationReport:
    root: Path
    protocol: int
    issues: list[Issue] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # what was checked
    index: RawIndex | None = None  # set when the annotations parsed without errors
    _listed: dict[tuple[str, str, str], int] = field(default_factory=dict, repr=False)
    _more: dict[tuple[str, str, str], int] = field(default_factory=dict, repr=False)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors  # an issue is only ever counted-not-listed after others of its kind were listed

    def add(self, severity: str, file: str, key: str, message: str, sample: str | None = None,
            kind: str | None = None) -> None:
        """Record an issue; beyond _MAX_PER_KIND of one (severity, file, kind) they are only counted."""
        k = (severity, file, kind or message)
        n = self._listed.get(k, 0)
        if n >= _MAX_PER_KIND:
            self._more[k] = self._more.get(k, 0) + 1
            return
        self._listed[k] = n + 1
        self.issues.append(Issue(severity, file, key, message, sample))

    def format(self, max_lines: int = 60) -> str:
        """Readable multi-line text: a header, each issue on its own line, counts of the rest."""
        n_err = len(self.errors) + sum(v for k, v in self._more.items() if k[0] == "error")
        n_warn = len(self.warnings) + sum(v for k, v in self._more.items() if k[0] == "warning")
        head = f"Human3.6M data at {self.root} (Protocol {self.protocol}): {n_err} error(s), {n_warn} warning(s)"
        if self.counts:
            head += "; checked " + ", ".join(f"{v} {k}" for k, v in self.counts.items())
        ordered = self.errors + self.warnings
        lines = [head] + [f"  {i}" for i in ordered[:max_lines]]
        if len(ordered) > max_lines:
            lines.append(f"  ... and {len(ordered) - max_lines} more listed issues")
        for (sev, file, kind), n in self._more.items():
            lines.append(f"  ... {n} more {sev}(s) like '{kind}' in {file}")
        return "\n".join(lines)

    def raise_if_errors(self) -> None:
        if not self.ok:
            raise DatasetError(self.format())


def rel_path(root: Path, p: Path) -> str:
    try:
        return str(Path(p).relative_to(root))
    except ValueError:
        return str(p)


def finite_array(value, shape: tuple[int, ...], allow_column: bool = False) -> tuple[np.ndarray | None, str | None]:
    """Array of the given shape with finite values, or (None, what is wrong).

    ``allow_column``: a vector may also come as a column or row ([[a], [b]] or [[a, b]]), as some exports store it.
    """
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None, f"is not a numeric array of shape {list(shape)}"
    if allow_column and len(shape) == 1 and arr.ndim == 2 and 1 in arr.shape and arr.size == shape[0]:
        arr = arr.reshape(shape)
    if arr.shape != shape:
        return None, f"has shape {list(arr.shape)}, expected {list(shape)}"
    if not np.isfinite(arr).all():
        return None, "contains NaN or infinite values"
    return arr, None


def load_json(report: ValidationReport, path: Path):
    rel = rel_path(report.root, path)
    if not path.is_file():
        report.add("error", rel, "", "file is missing")
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        report.add("error", rel, "", f"cannot be read as JSON: {exc}")
        return None
