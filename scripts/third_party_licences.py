"""Print a Markdown table of every package pinned in requirements.lock with the licence its installed metadata
declares (License-Expression, else License, else the trove classifiers). Run with .venv/bin/python after set-up;
used to refresh THIRD_PARTY_NOTICES.md."""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"


def licence_of(name: str) -> str:
    meta = distribution(name).metadata
    expr = meta.get("License-Expression")
    if expr:
        return expr.strip()
    text = (meta.get("License") or "").strip().splitlines()
    classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    first = text[0].strip() if text else ""
    if first[:1].isalnum() and len(first) <= 40 and not any(w in first.lower() for w in ("copyright", "agreement")):
        return first
    return "; ".join(classifiers) or (text[0][:60] if text else "not declared")


def main() -> int:
    print("| package | version | licence (as its metadata declares it) |")
    print("|---|---|---|")
    for line in LOCK.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "==" not in line:
            continue
        name, pinned = line.split("==", 1)
        try:
            lic = licence_of(name)
        except PackageNotFoundError:
            lic = "not installed here"
        print(f"| {name} | {pinned} | {lic} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
