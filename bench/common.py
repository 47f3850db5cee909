"""What the benchmark scripts share: the machine's device name, result-file paths, and common arguments.

torch is imported only when a helper needs it (``bench.live_pipeline`` keeps its import light).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.fileio import atomic_write_json

if TYPE_CHECKING:
    import torch

RESULTS_ROOT = Path(__file__).resolve().parent / "results"  # each bench: this or a folder in it
TORCH_MODELS_HELP = "comma-separated names (default: every torch model)"


def device_name(device: torch.device) -> str:
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU x{torch.get_num_threads()} threads"


def slugify(name: str) -> str:
    """A device name as a file-name stem: lower case, runs of other characters as one dash."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def device_slug(device: torch.device) -> str:
    return slugify(device_name(device))


def csv_list(text: str, cast: Any = str) -> list:
    """``"a,b,,c"`` as ``[cast("a"), cast("b"), cast("c")]`` (empty items skipped)."""
    return [cast(v) for v in text.split(",") if v]


def torch_model_names(text: str) -> list[str]:
    """The comma-separated names in ``text``, or every torch-built model when there are none."""
    from engine.inference.net_io import torch_built
    from models import all_specs

    return csv_list(text) or [s.name for s in all_specs() if torch_built(s)]


def like_the_app(device: torch.device) -> None:
    """On a CPU, keep freed memory as a CPU ``Predictor`` does (``engine.inference.cpu_memory``), so a bench that
    times bare forwards measures what the app gets (without it, batches of 8+ paid page faults the app does not)."""
    import torch

    if torch.device(device).type == "cpu":
        from engine.inference.cpu_memory import keep_freed_memory

        keep_freed_memory()


def add_threads_arg(ap: argparse.ArgumentParser, what: str = "torch") -> None:
    """``--threads`` (default 0: torch's own count); apply it with ``set_threads``."""
    ap.add_argument("--threads", type=int, default=0, help=f"{what} threads (default: torch's)")


def set_threads(threads: int | None) -> None:
    """``--threads``: torch's thread count when positive; otherwise torch's default is kept."""
    if threads and threads > 0:
        import torch

        torch.set_num_threads(threads)


def add_timing_args(ap: argparse.ArgumentParser, iters: int, warmup: int) -> None:
    """``--iters``, ``--warmup`` and ``--device`` (default auto)."""
    ap.add_argument("--iters", type=int, default=iters)
    ap.add_argument("--warmup", type=int, default=warmup)
    ap.add_argument("--device", default="auto")


def add_note_json_args(ap: argparse.ArgumentParser) -> None:
    """``--note`` (stored with the results) and ``--json`` (output path; default: the bench's results file)."""
    ap.add_argument("--note", default="", help="free text stored with the results (e.g. 'shared, loaded machine')")
    ap.add_argument("--json", default=None)


def save_result(result: Any, json_arg: str | None, results_dir: Path, stem: str, suffix: str = "",
                **json_kw: Any) -> Path:
    """Write ``result`` atomically (``json_kw`` as for ``atomic_write_json``) to ``--json`` when given, else to
    ``<results_dir>/<stem><suffix>.json``, and say where."""
    out = Path(json_arg) if json_arg else results_dir / f"{stem}{suffix}.json"
    atomic_write_json(out, result, **json_kw)
    print(f"wrote {out}")
    return out


def machine_info(device: torch.device, load0: tuple[float, ...], note: str) -> dict[str, Any]:
    """The machine a result was measured on: device, threads, CPUs, load before (``load0``) and now, versions."""
    import torch

    from engine.h36m.exports import software_versions

    return {
        "device": device_name(device), "device_type": device.type, "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(), "loadavg_start": [round(v, 2) for v in load0],
        "loadavg_end": [round(v, 2) for v in os.getloadavg()], "note": note,
        "python": platform.python_version(), "software_versions": software_versions(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
