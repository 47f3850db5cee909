"""The one name -> entry registry: model specs, family builders, runtimes, and (through it) sources and exporters.

Why one copy: adding a kind means registering one entry (docs/architecture.md, Registries), and "refuse a name
registered twice, remember the entry, tell a class its name" should be written once. This module imports nothing
from the project, so any layer can hold a registry without an import circle.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(dict[str, T]):
    """A dict in registration order; ``register(name)`` is the decorator that fills it.

    ``what`` names the kind of entry in error messages; with ``set_kind`` a registered class gets ``kind = name``.
    """

    def __init__(self, what: str, *, set_kind: bool = False) -> None:
        super().__init__()
        self.what = what
        self.set_kind = set_kind
        self._locations: dict[str, str] = {}

    def declare(self, name: str, module: str) -> None:
        """A lazy entry: importing ``module`` registers ``name`` (mmengine's ``locations``, as data).

        Why: the spec table must be readable without torch (the GUI's widgets read joint sets and names); the
        architecture and runtime modules, which import torch, load on the first lookup that needs them.
        """
        self._locations[name] = module

    def known(self) -> list[str]:
        """Registered and declared names."""
        return list(dict.fromkeys([*self.keys(), *self._locations]))

    def __missing__(self, name: str) -> T:
        module = self._locations.get(name)
        if module is None:
            raise KeyError(name)
        importlib.import_module(module)
        if dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        raise KeyError(name)

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        """Like dict.get, but a declared entry loads its module first."""
        try:
            return self[name]
        except KeyError:
            return default

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: record ``entry`` under ``name``; ValueError when the name is taken."""

        def deco(entry: T) -> T:
            return self.add(name, entry)

        return deco

    def add(self, name: str, entry: T, *, duplicate: str | None = None) -> T:
        """Record ``entry`` under ``name`` (the non-decorator form); ``duplicate`` overrides the error message."""
        if name in self:
            raise ValueError(duplicate or f"{self.what} {name!r} registered twice")
        if self.set_kind:
            entry.kind = name  # type: ignore[attr-defined]
        self[name] = entry
        return entry

    def lookup(self, name: str) -> T:
        """The entry, or a KeyError that lists the known names (for messages a user reads)."""
        try:
            return self[name]
        except KeyError:
            raise KeyError(f"unknown {self.what} {name!r}; known: {', '.join(sorted(self.known()))}") from None
