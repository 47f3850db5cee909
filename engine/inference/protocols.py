"""Shapes of collaborators that several rooms pass around without needing the classes behind them.

Why Protocols and not ``models.loader.LoadedModel``: scoring, run fingerprints and reports read only a loaded
model's identity (spec, label, weights), and a merge of shard runs scores saved predictions through stand-ins that
carry that identity and no network. Whatever runs a network still takes a ``LoadedModel``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from models.spec import ModelSpec

__all__ = ["LoadedModelLike"]


class LoadedModelLike(Protocol):
    """What is read of a loaded model when its network is not run: ``models.loader.LoadedModel`` has it, and so
    does a stand-in rebuilt from a saved run."""

    @property
    def spec(self) -> ModelSpec: ...

    @property
    def label(self) -> str: ...

    @property
    def trained(self) -> bool: ...

    @property
    def checkpoint(self) -> Path | None: ...

    @property
    def sha256(self) -> str | None: ...
