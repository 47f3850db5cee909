"""The Benchmark tab's controller: dataset validation, runs (cancel / resume), synthetic data and exports, each in a
worker. A run iterates the engine's ``BenchmarkRunner`` generator; cancelling is cooperative (the runner saves its
finished batches and returns "cancelled"), and Resume runs that configuration again: the cancelled run's, or one the
engine left unfinished in the results folder (found again after a restart)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from engine.defaults import BENCHMARK
from engine.h36m.root_sources import root_source
from gui.controllers.bench_files import export_results, finished_payload, result_payload
from gui.export_paths import format_name
from gui.workers import Worker

if TYPE_CHECKING:
    from engine.h36m.issues import ValidationReport


def validation_summary(report: ValidationReport) -> dict[str, Any]:
    return {
        "ok": bool(report.ok), "text": report.format(max_lines=40),
        "errors": [str(i) for i in report.errors], "warnings": [str(i) for i in report.warnings],
        "counts": dict(getattr(report, "counts", {}) or {}),
    }


@dataclass
class BenchmarkSettings:
    data_dir: str
    out_dir: str
    models: tuple[str, ...]
    protocol: int = BENCHMARK.protocol
    root: str = BENCHMARK.root
    flip: bool = BENCHMARK.flip
    limit: int | None = None
    allow_untrained: bool = False
    batch_size: int = BENCHMARK.batch_size
    num_workers: int = BENCHMARK.num_workers
    overwrite: bool = False
    protocol_mode: str = BENCHMARK.protocol_mode  # official | common (engine.inference.conventions.PROTOCOL_MODES)

    def key(self) -> tuple:
        """What the numbers depend on (as the engine's fingerprint: not batch size, workers or overwrite)."""
        data = str(Path(self.data_dir).expanduser().resolve()) if self.data_dir else ""
        return (data, str(Path(self.out_dir).expanduser().resolve()) if self.out_dir else "", int(self.protocol),
                str(self.root), bool(self.flip), self.limit or None, tuple(self.models), str(self.protocol_mode))

    def describe(self) -> str:
        try:
            root = root_source(self.root).short
        except KeyError:
            root = str(self.root)
        return (f"Protocol {self.protocol}, {root}, flip {'on' if self.flip else 'off'}, "
                f"{self.protocol_mode} conventions"
                f"{f', {self.limit} samples' if self.limit else ''}, {', '.join(self.models)}")


CPU_BATCH = 4  # samples per batch on a CPU: the runner checks Cancel between batches, so a batch must be short


def gui_default_batch() -> int:
    """The Batch field's first value: the engine's default on a GPU, a small batch on a CPU so that Cancel answers
    within about a second. torch is asked only if the app already imported it (widgets never import it)."""
    import sys

    torch = sys.modules.get("torch")
    try:
        cuda = bool(torch is not None and torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - no usable CUDA
        cuda = False
    return BENCHMARK.batch_size if cuda else min(CPU_BATCH, BENCHMARK.batch_size)


def settings_from_fingerprint(fp: dict[str, Any], out_dir: str) -> BenchmarkSettings:
    """The form settings of an unfinished run found on disk (``bench_files.interrupted_runs``)."""
    models = [m["name"] for m in fp.get("models", [])]
    return BenchmarkSettings(
        data_dir=str(fp["data_dir"]), out_dir=str(out_dir), models=tuple(models), protocol=int(fp["protocol"]),
        root=str(fp["root"]), flip=bool(fp["flip"]), limit=fp.get("limit") or None,
        allow_untrained=any(not m.get("trained", True) for m in fp.get("models", [])))


RESULTS_EXIST = ("The results folder {out} already holds finished results of another configuration. Choose another "
                 "results folder, or tick 'Overwrite other results' to replace them.")


class BenchmarkController(QObject):
    """Validation, benchmark runs (cancel / resume), synthetic data and exports, each in a worker."""

    validated = Signal(str, dict)  # data dir, summary (ok, text, errors, warnings, counts)
    progress = Signal(dict)  # done, total, eta_s, phase, rate, message
    finished = Signal(dict)  # status, out_dir, summary, results (list of results.json dicts), files
    failed = Signal(str)
    cancelled = Signal(dict)  # done, total, out_dir
    message = Signal(str, str)
    syntheticDone = Signal(str)  # folder ("" when it failed)
    exported = Signal(str, str)  # kind, path

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._run: Worker | None = None
        self._validate: Worker | None = None
        self._validate_gen = 0
        self.last_settings: BenchmarkSettings | None = None
        self.last_result: dict[str, Any] | None = None
        self.resumable: BenchmarkSettings | None = None  # what Resume continues (a cancelled or unfinished run)
        self.cancelling = False

    @property
    def running(self) -> bool:
        return self._run is not None  # cleared when its result was handled (the thread may still be ending)

    # -- validation ------------------------------------------------------------------------------------------------
    def validate(self, data_dir: str, protocol: int) -> None:
        """Check the folder in a worker; only the newest request's answer is emitted."""
        self._validate_gen += 1
        gen = self._validate_gen

        def job() -> dict[str, Any]:
            from engine.h36m.layout import validate

            return validation_summary(validate(data_dir, protocol, images=BENCHMARK.check_images))

        w = Worker(job, name="validate")
        w.returned.connect(lambda d: self._on_validated(gen, data_dir, d))
        w.errored.connect(lambda m: self._on_validated(gen, data_dir, {"ok": False, "text": m, "errors": [m],
                                                                       "warnings": [], "counts": {}}))
        self._validate = w
        w.start()

    def _on_validated(self, gen: int, data_dir: str, d: dict[str, Any]) -> None:
        if gen == self._validate_gen:
            self.validated.emit(data_dir, d)

    # -- runs ------------------------------------------------------------------------------------------------------
    def run(self, s: BenchmarkSettings) -> Worker | None:
        if self.running:
            self.message.emit("warning", "A benchmark is already running.")
            return None
        self.last_settings = s
        self.last_result = None
        self.resumable = None
        self.cancelling = False

        def job(cancel: threading.Event):
            from engine.h36m.run.runner import BenchmarkConfig, BenchmarkRunner

            cfg = BenchmarkConfig(
                data_dir=Path(s.data_dir), models=s.models, out_dir=Path(s.out_dir), protocol=s.protocol,
                root=s.root, flip=s.flip, limit=s.limit, allow_untrained=s.allow_untrained,
                batch_size=s.batch_size, num_workers=s.num_workers, overwrite=s.overwrite,
                protocol_mode=s.protocol_mode,
            )
            runner = BenchmarkRunner(cfg, cancel=cancel)
            gen = runner.run()
            t0 = time.monotonic()
            while True:
                try:
                    p = next(gen)
                except StopIteration as stop:
                    result = stop.value
                    break
                yield {"done": p.done, "total": p.total, "eta_s": p.eta_s, "phase": p.phase, "rate": p.rate,
                       "message": p.message, "elapsed_s": time.monotonic() - t0}
            return result_payload(result, s.models)

        w = Worker(job, name="benchmark", close_on_cancel=False)
        w.yielded.connect(self.progress.emit)
        w.returned.connect(self._on_finished)
        w.errored.connect(lambda m: self._on_failed(m, w.error, s))
        self._run = w
        w.start()
        return w

    def resume(self, batch_size: int | None = None) -> Worker | None:
        """Run the resumable configuration again: the runner continues from its saved batches."""
        s = self.resumable
        if s is None:
            self.message.emit("warning", "Nothing to resume.")
            return None
        self.message.emit("info", f"Resuming the interrupted run: {s.describe()}.")
        return self.run(replace(s, batch_size=batch_size or s.batch_size))

    def find_interrupted(self, out_dir: str) -> BenchmarkSettings | None:
        """An unfinished run the engine left in ``out_dir`` (e.g. before the app was closed) becomes resumable."""
        from gui.controllers.bench_files import interrupted_runs

        if self.running or not out_dir:
            return None
        for run in interrupted_runs(out_dir):
            try:
                self.resumable = settings_from_fingerprint(run["fingerprint"], out_dir)
                return self.resumable
            except (KeyError, TypeError, ValueError):
                continue
        if self.resumable is not None and self.resumable.out_dir != out_dir:
            self.resumable = None
        return None

    def show_finished(self, out_dir: str) -> None:
        """Read the finished run in ``out_dir`` back (a worker) and hand it out as if it had just finished."""
        if self.running or not out_dir:
            return

        def shown(payload: dict[str, Any] | None) -> None:
            if payload is not None and payload.get("results") and not self.running and self.last_result is None:
                self.last_result = payload
                self.message.emit("info", f"Results of the last finished run, from {out_dir}")
                self.finished.emit(payload)

        w = Worker(finished_payload, out_dir, name="finished results")
        w.returned.connect(shown)
        w.start()
        self._reload = w

    def cancel(self) -> None:
        if self._run is not None and not self.cancelling:
            self.cancelling = True
            self._run.request_cancel()

    def _on_finished(self, payload: dict[str, Any]) -> None:
        self._run = None
        self.cancelling = False
        if payload["status"] == "cancelled":
            self.resumable = self.last_settings
            self.message.emit("info", f"Benchmark stopped at {payload['done']}/{payload['total']} samples; "
                                      f"Resume continues from there.")
            self.cancelled.emit(payload)
            return
        self.last_result = payload
        self.message.emit("info", f"Benchmark {payload['status']}: results in {payload['out_dir']}")
        self.finished.emit(payload)

    def _on_failed(self, msg: str, exc: BaseException | None = None, s: BenchmarkSettings | None = None) -> None:
        """A failed run is not resumable (Resume would fail the same way); engine wording meant for the command line
        is put in the window's terms."""
        self._run = None
        self.cancelling = False
        self.resumable = None
        if type(exc).__name__ == "ResultsExistError":
            msg = RESULTS_EXIST.format(out=s.out_dir if s else "")
        self.message.emit("error", f"Benchmark failed: {msg}")
        self.failed.emit(msg)

    # -- synthetic data --------------------------------------------------------------------------------------------
    def make_synthetic(self, folder: str, samples: int = 120) -> None:
        def job() -> str:
            from engine.h36m.synthetic import generate

            info = generate(folder, samples=samples)
            return str(info.root)

        w = Worker(job, name="synthetic")
        w.returned.connect(self._on_synthetic)
        w.errored.connect(self._on_synthetic_failed)
        w.start()

    def _on_synthetic_failed(self, msg: str) -> None:
        self.message.emit("error", f"Could not write the synthetic dataset: {msg}")
        self.syntheticDone.emit("")

    def _on_synthetic(self, folder: str) -> None:
        self.message.emit("info", f"Synthetic Human3.6M-layout dataset written to {folder}")
        self.syntheticDone.emit(folder)

    # -- exports ---------------------------------------------------------------------------------------------------
    def export(self, kind: str, dest: str) -> Worker | None:
        """kind: csv | json | markdown | hdf5 | png; copies/combines the finished run's files to ``dest``."""
        payload = self.last_result
        if payload is None:
            self.message.emit("warning", "Run the benchmark first: there is nothing to export.")
            return None
        w = Worker(export_results, kind, payload, dest, name=f"export {kind}")
        w.returned.connect(lambda p: self._on_exported(kind, p))
        w.errored.connect(lambda m: self.message.emit("error", f"Export ({kind}) failed: {m}"))
        w.start()
        return w

    def report_export(self, kind: str, path: str) -> None:
        """An export written by the window itself (the PNG charts are drawn from the widgets)."""
        self._on_exported(kind, path)

    def _on_exported(self, kind: str, path: str) -> None:
        self.message.emit("info", f"Exported {format_name(kind)} to {path}")
        self.exported.emit(kind, path)
