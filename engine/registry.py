"""Name -> entry registries filled by a decorator: live sources, person detectors, recording exporters.

Why: adding a kind means registering one class or function (docs/architecture.md, Registries); this is the one
copy of "refuse a name registered twice, remember the entry, tell a class its name".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Registry(dict[str, T]):
    """A dict in registration order; ``register(name)`` is the decorator that fills it.

    ``what`` names the kind of entry in the error message; with ``set_kind`` a registered class gets ``kind = name``.
    """

    def __init__(self, what: str, *, set_kind: bool = False) -> None:
        super().__init__()
        self.what = what
        self.set_kind = set_kind

    def register(self, name: str) -> Callable[[T], T]:
        def deco(entry: T) -> T:
            if name in self:
                raise ValueError(f"{self.what} {name!r} registered twice")
            if self.set_kind:
                entry.kind = name  # type: ignore[attr-defined]
            self[name] = entry
            return entry

        return deco
