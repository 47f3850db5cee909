"""Finished benchmark runs made with the real CLI for the merge and evaluate cases: two shards of one configuration
and a whole run of another (``--limit 4``). No tests here."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.reliability.fault_helpers import BENCH_FAST, MODEL, cli, syn_data  # noqa: F401


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def bench_runs(syn_data, tmp_path_factory) -> dict[str, Path]:  # noqa: F811
    base = tmp_path_factory.mktemp("bench-runs")
    out = {}
    for name, extra in (("shard0", ["--shard", "0/2"]), ("shard1", ["--shard", "1/2"]), ("other", ["--limit", "4"])):
        proc = cli(["bench", "h36m", "--data", syn_data, *BENCH_FAST, *extra, "--out", base / name], timeout=300)
        assert proc.returncode == 0, proc.stderr
        out[name] = base / name
    return out


def copy_run(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    (dest / ".posearena-bench.lock").unlink(missing_ok=True)
    return dest


__all__ = ["MODEL", "bench_runs", "copy_run", "snapshot", "syn_data"]
