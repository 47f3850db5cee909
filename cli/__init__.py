"""Command-line subcommands. Each ``cli/*_cmd.py`` module registers itself with ``@command``;
``cli.app`` discovers them."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str):
    """Class decorator: the class provides static ``configure(parser)`` and ``run(args) -> int``."""

    def deco(cls):
        if name in COMMANDS:
            raise ValueError(f"subcommand {name!r} registered twice")
        COMMANDS[name] = Command(name, help, cls.configure, cls.run)
        return cls

    return deco


def discover() -> dict[str, Command]:
    """Import every ``cli/*_cmd.py`` so their commands register."""
    import cli as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.endswith("_cmd"):
            importlib.import_module(f"cli.{info.name}")
    return COMMANDS
