"""docs/reliability.md lists every fault test (``tests/reliability/test_*_faults.py``) and names only tests that exist
(ids as pytest collects them)."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT
from tests.reliability.fault_helpers import child_env

DOC = ROOT / "docs" / "reliability.md"
REF = re.compile(r"`(tests/reliability/test_\w+_faults\.py::[\w\[\]-]+)`")


def test_reliability_table_matches_the_fault_tests():
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "reliability").glob("test_*_faults.py"))
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-o", "addopts=",
                           "-p", "no:cacheprovider", *files], cwd=ROOT, env=child_env(), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    collected = {ln.strip() for ln in proc.stdout.splitlines() if "::" in ln}
    named = set(REF.findall(DOC.read_text()))
    assert collected, "no fault tests collected"
    assert not collected - named, f"fault tests missing from {DOC.name}: {sorted(collected - named)}"
    assert not named - collected, f"{DOC.name} names tests that do not exist: {sorted(named - collected)}"
