"""The last forward-speed benchmark on this machine (``bench/results/*.json``), for the "speed" columns."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parents[1] / "bench" / "results"


def last_speed(results_dir: Path = RESULTS_DIR) -> dict[str, dict]:
    """model name -> {"ms", "mode", "device"} from the newest full (non-quick) result file; {} when none."""
    files = [p for p in results_dir.glob("*.json") if not p.stem.endswith("-quick")]
    best: dict[str, dict] = {}
    for path in sorted(files, key=lambda p: p.stat().st_mtime):
        try:
            data = json.loads(path.read_text())
            fastest = data.get("fastest_batch1", {})
            device = str(data.get("device", path.stem))
        except (OSError, ValueError):
            continue
        if data.get("device_type") == "cuda":
            continue  # the column describes this machine's CPU unless a GPU is present
        for name, row in fastest.items():
            best[name] = {"ms": float(row["ms"]), "mode": row.get("mode", "?"), "device": device}
    return best


def speed_label(name: str, table: dict[str, dict]) -> str:
    row = table.get(name)
    return f"{row['ms']:.1f} ms ({row['mode']})" if row else "not measured"
