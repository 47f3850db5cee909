"""The conformance fixtures' deterministic weight and input recipes (tests/fixtures/conformance/README.md)."""

from __future__ import annotations

import math
import zlib

import torch


def recipe_value(key: str, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    leaf = key.rsplit(".", 1)[-1]
    if leaf == "num_batches_tracked":
        return torch.tensor(0, dtype=torch.int64)
    g = torch.Generator(device="cpu")
    g.manual_seed(zlib.crc32(key.encode("utf-8")))
    u = torch.rand(shape, generator=g, dtype=torch.float32)
    s = u * 2.0 - 1.0
    if leaf == "running_mean":
        v = s * 0.1
    elif leaf == "running_var":
        v = 1.0 + u * 0.25
    elif len(shape) >= 2:
        v = s * math.sqrt(3.0 / math.prod(shape[1:]))
    elif leaf == "weight":
        v = 1.0 + s * 0.2
    else:
        v = s * 0.1
    return v.to(dtype)


def recipe_state_dict(entries: list[dict]) -> dict[str, torch.Tensor]:
    dt = {"float32": torch.float32, "int64": torch.int64}
    return {e["key"]: recipe_value(e["key"], tuple(e["shape"]), dt[e["dtype"]]) for e in entries}


def recipe_input(inp: dict) -> torch.Tensor:
    x = torch.randn(inp["shape"], generator=torch.Generator().manual_seed(inp.get("seed", 0)), dtype=torch.float32)
    if inp.get("scale", 1.0) != 1.0:
        x = x * inp["scale"]
    return x
