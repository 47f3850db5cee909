"""What a benchmark run is asked for and what it reports: config, progress and result records.

Split out of ``runner`` so the inference loop (``run_infer``) and the runner share them without importing each other.
Defaults come from ``engine.defaults`` (BENCHMARK, ROOT, INFERENCE), the one source the CLI and GUI read too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.defaults import BENCHMARK, INFERENCE, ROOT
from engine.h36m.dataset import LIVE_ROOT, ROOT_SOURCES
from engine.h36m.exports import ModelRun
from models.errors import PoseArenaError

__all__ = ["BenchmarkConfig", "BenchmarkResult", "OutputLockedError", "Progress", "ResultsExistError"]


class ResultsExistError(PoseArenaError):
    """The output folder holds finished results of another configuration (never overwritten without asking)."""


class OutputLockedError(PoseArenaError):
    """Another benchmark run holds the output folder's lock (``runner.OutputLock``); its pid is in the message."""


@dataclass
class BenchmarkConfig:
    data_dir: Path
    models: Sequence[str]
    out_dir: Path
    protocol: int = BENCHMARK.protocol
    root: str = BENCHMARK.root  # gt | rootnet (RootNet result file: boxes and roots) | rootnet-model (run live)
    rootnet_file: Path | None = None  # default: in the data folder, else the copy shipped in assets/rootnet_h36m
    rootnet_model: str = ROOT.benchmark_rootnet  # the network run for root="rootnet-model" (Human3.6M snapshot)
    flip: bool = BENCHMARK.flip
    limit: int | None = None  # score only this many samples, spread evenly over the test set
    batch_size: int = BENCHMARK.batch_size
    device: str = INFERENCE.device
    precision: str = INFERENCE.precision
    channels_last: bool = False
    profile: str | None = None  # engine.inference.fast_paths.PROFILES name; None: precision + channels_last decide
    num_workers: int = BENCHMARK.num_workers
    allow_untrained: bool = False
    weights: Mapping[str, Path] = field(default_factory=dict)  # explicit checkpoint per model name
    overwrite: bool = False
    check_images: str = BENCHMARK.check_images  # validation of images: none | exists | all
    wait_for_lock: bool = False  # another run holds out_dir: wait for it to end (else OutputLockedError at once)
    shard: tuple[int, int] | None = None  # (I, N): only shard I of N (engine.h36m.shards), taken after limit
    # official: each model with its own test's crop and placement | common: every model through 3DMPPE's pipeline
    protocol_mode: str = BENCHMARK.protocol_mode

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).expanduser()
        self.out_dir = Path(self.out_dir).expanduser()
        self.models = tuple(self.models)
        if not self.models:
            raise ValueError("no models given")
        if len(set(self.models)) != len(self.models):
            raise ValueError(f"a model is listed twice: {', '.join(self.models)}")
        if self.protocol not in (1, 2):
            raise ValueError(f"protocol must be 1 or 2, got {self.protocol!r}")
        if self.root not in ROOT_SOURCES:
            raise ValueError(f"root must be one of {', '.join(ROOT_SOURCES)}; got {self.root!r}")
        if self.root == LIVE_ROOT and self.rootnet_model in self.models:
            raise ValueError(f"{self.rootnet_model} is the root source with root={LIVE_ROOT!r}; "
                             "list only pose models in models")
        from engine.inference.conventions import PROTOCOL_MODES

        if self.protocol_mode not in PROTOCOL_MODES:
            raise ValueError(f"protocol mode must be one of {', '.join(PROTOCOL_MODES)}; got {self.protocol_mode!r}")
        if self.batch_size < 1:
            raise ValueError("batch size must be at least 1")
        if self.shard is not None:
            from engine.h36m.shard_select import shard_indices

            self.shard = (int(self.shard[0]), int(self.shard[1]))
            shard_indices(0, *self.shard)  # ValueError for a bad I/N
        if self.num_workers < 0:
            raise ValueError("num_workers must be >= 0")
        if self.rootnet_file is not None:
            self.rootnet_file = Path(self.rootnet_file).expanduser()
            if self.root != "rootnet":  # it would be silently ignored: only root="rootnet" reads the file
                raise ValueError(f"a RootNet result file ({self.rootnet_file}) is used only with root 'rootnet'; "
                                 f"root is {self.root!r}: drop the file or choose root 'rootnet'")


@dataclass
class Progress:
    done: int  # samples with saved predictions (including those resumed from disk)
    total: int
    eta_s: float | None  # seconds left at the current rate; None until measurable
    phase: str  # validate | load | infer | score | export | done | cancelled
    rate: float = 0.0  # samples per second in this session
    message: str = ""  # on a phase change: what starts; within "infer": a warning (e.g. an out-of-memory back-off)

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


@dataclass
class BenchmarkResult:
    status: str  # finished | cancelled | reused
    out_dir: Path
    done: int
    total: int
    config_hash: str
    summary: str = ""
    runs: list[ModelRun] = field(default_factory=list)  # empty when reused
    files: dict[str, Path] = field(default_factory=dict)
    partial_dir: Path | None = None
    warnings: list[str] = field(default_factory=list)  # e.g. out-of-memory back-offs (the numbers are unaffected)
