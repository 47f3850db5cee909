#!/usr/bin/env python3
"""The house rules of PoseArena, checked from the source: which package may import which, no circles, short files,
no switch over a spec's family, decoding or backend names.

Why a script and not a review: the rules are what keep the live view and the benchmark on one inference path and the
widgets free of torch; a rule that is only written down drifts. ``tests/test_house_rules.py`` runs it on the
repository. Usage: ``python scripts/house_check.py [ROOT] [--max-lines N]``; one line per finding, then a summary;
exit status 1 on any finding. Imports inside functions count (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("models", "engine", "gui", "cli")
MAX_LINES = 450

# Top-level packages a package must never import (lower layers first; bench/ and tests/ sit above everything).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "models": ("engine", "gui", "cli", "bench", "tests"),
    "engine": ("gui", "cli", "bench", "tests"),
    "gui": ("cli", "bench", "tests"),
    "cli": ("bench", "tests"),
}

# The sibling rule: what each engine sub-package may import from the other engine sub-packages (a prefix allows the
# module and everything under it). engine.inference is the shared core and imports no sibling; engine.defaults,
# engine.versions and engine.speed_results are plain modules every room may read.
ENGINE_ROOMS: dict[str, tuple[str, ...]] = {
    "engine.inference": (),
    "engine.live": ("engine.inference", "engine.compare"),
    "engine.compare": ("engine.inference", "engine.live.recording"),
    "engine.h36m": ("engine.inference", "engine.compare.h36m", "engine.live.image_source"),
}
ENGINE_SHARED = ("engine.defaults", "engine.versions", "engine.speed_results")

# What gui widgets (every gui module outside gui.controllers and the start-up module gui.app) may import from the
# engine and models: settings and plain data, never a network. Running models is the controllers' job.
WIDGET_MAY_IMPORT = (
    "engine.defaults", "engine.versions", "engine.live.default_models", "engine.inference.camera",
    "engine.h36m.root_sources",
    "models.joints", "models.fileio", "models.errors",
)
WIDGET_EXEMPT = ("gui.controllers", "gui.app")

# Modules that declare families, decodings and backends, so they may name them.
SWITCH_EXEMPT = ("models.spec", "models.zoo", "models.onnx.zoo", "models.blazepose.zoo")
SWITCH_FIELDS = frozenset({"family", "decoding", "backend"})


@dataclass(frozen=True)
class Finding:
    """One broken rule: its kind (layer, sibling, widget, circle, size, switch) and a line naming where."""

    kind: str
    text: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.text}"


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def collect(root: Path) -> dict[str, Path]:
    """Every module of the app's packages, by dotted name."""
    found: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            if "__pycache__" not in path.parts:
                found[module_name(root, path)] = path
    return found


def imported_names(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[str, int]]:
    """Dotted names an AST imports (relative imports resolved), with their line numbers."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(p for p in (*anchor, base) if p)
            yield base, node.lineno
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno


def under(name: str, prefixes: tuple[str, ...] | str) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def import_graph(modules: dict[str, Path]) -> tuple[dict[str, set[str]], set[str]]:
    """Module -> the project modules it imports; plus the modules that import torch."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    torch_users: set[str] = set()
    for mod, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for name, _ in imported_names(tree, mod, path.name == "__init__.py"):
            if under(name, "torch"):
                torch_users.add(mod)
            target = name if name in modules else name.rpartition(".")[0]
            if target in modules and target != mod:
                graph[mod].add(target)
    return graph, torch_users


def room_of(module: str) -> str | None:
    return next((room for room in ENGINE_ROOMS if under(module, room)), None)


def arrow_findings(graph: dict[str, set[str]], torch_users: set[str]) -> list[Finding]:
    out: list[Finding] = []
    for mod in sorted(graph):
        top = mod.split(".")[0]
        room = room_of(mod)
        widget = top == "gui" and not under(mod, WIDGET_EXEMPT)
        if widget and mod in torch_users:
            out.append(Finding("widget", f"{mod} imports torch"))
        for target in sorted(graph[mod]):
            if target.split(".")[0] in FORBIDDEN.get(top, ()):
                out.append(Finding("layer", f"{mod} imports {target}"))
            other = room_of(target)
            if room and other and other != room and not under(target, ENGINE_ROOMS[room]):
                out.append(Finding("sibling", f"{mod} imports {target} ({room} may import "
                                              f"{', '.join(ENGINE_ROOMS[room]) or 'no sibling'})"))
            if widget and target.split(".")[0] in ("engine", "models") and not under(target, WIDGET_MAY_IMPORT):
                out.append(Finding("widget", f"{mod} imports {target} (only gui.controllers call the engine)"))
    return out


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (iterative Tarjan, no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _names_a_field(node: ast.AST) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
    return name in SWITCH_FIELDS


def _is_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return bool(node.elts) and all(_is_literal(e) for e in node.elts)
    return False


def switch_findings(root: Path, modules: dict[str, Path]) -> list[Finding]:
    """Comparisons of a family / decoding / backend with a literal name: the registered class should answer."""
    out: list[Finding] = []
    for mod, path in sorted(modules.items()):
        if under(mod, SWITCH_EXEMPT):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare):
                continue
            sides = [node.left, *node.comparators]
            if any(_names_a_field(s) for s in sides) and any(_is_literal(s) for s in sides):
                out.append(Finding("switch", f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)[:80]}"))
    return out


def check(root: Path, max_lines: int = MAX_LINES) -> tuple[list[Finding], str]:
    """All findings for the project at ``root`` and a one-line summary."""
    modules = collect(root)
    graph, torch_users = import_graph(modules)
    findings = arrow_findings(graph, torch_users)
    loops = circles(graph)
    findings += [Finding("circle", " <-> ".join(c)) for c in loops]
    sizes = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in modules.items()}
    findings += [Finding("size", f"{m} has {n} lines (> {max_lines})") for m, n in sorted(sizes.items())
                 if n > max_lines]
    findings += switch_findings(root, modules)
    largest = max(sizes, key=sizes.__getitem__) if sizes else "-"
    summary = (f"house: {len(modules)} modules, {sum(map(len, graph.values()))} arrows, {len(loops)} circles, "
               f"largest {largest} ({sizes.get(largest, 0)} lines), {len(findings)} findings")
    return findings, summary


def main(argv: list[str]) -> int:
    args = list(argv)
    max_lines = MAX_LINES
    if "--max-lines" in args:
        at = args.index("--max-lines")
        max_lines = int(args[at + 1])
        del args[at:at + 2]
    root = Path(args[0] if args else Path(__file__).resolve().parent.parent).resolve()
    findings, summary = check(root, max_lines)
    for finding in findings:
        print(finding)
    print(summary)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
