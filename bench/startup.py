"""Startup: how long from launching the GUI to its window, and to the first poses on screen.

    python -m bench.startup [--runs 3] [--timeout 120] [--json OUT]

Each run starts a fresh interpreter under a virtual display (``xvfb-run -a``) that does what ``main.py gui`` does
(``gui.app``: pre-imports, the QApplication, ``MainWindow`` with autostart on the demo source, ``show()``) and
reports, in seconds from its own first line:

- ``window``: the main window is exposed (``QTest.qWaitForWindowExposed``);
- ``first_poses``: the live controller announces its first frame with poses (``frameReady`` with a person);
- ``imports``: Python imports before the QApplication, a part of ``window``.

The interpreter's own start (``launch``: from ``subprocess`` to the child's first line) is reported apart.
Writes ``bench/results/startup.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import RESULTS_ROOT, save_result

ROOT = Path(__file__).resolve().parent.parent
CHILD = r"""
import time
t0 = time.monotonic()
import json, sys
print(json.dumps({"child_start_wall": time.time()}), flush=True)
from gui.app import _preimport_heavy, make_app, prepare_window
_preimport_heavy()
t_imports = time.monotonic() - t0
app = make_app()
from PySide6.QtCore import QTimer
from PySide6.QtTest import QTest
from gui.main_window import MainWindow
win = MainWindow(source="demo", models=None, autostart=True)
prepare_window(win)
win.show()
QTest.qWaitForWindowExposed(win, 30000)
marks = {"imports": t_imports, "window": time.monotonic() - t0}

def frame():
    f = win.live.latest()
    if "first_poses" not in marks and f is not None and any(len(m.joints_2d) for m in f.models.values()):
        marks["first_poses"] = time.monotonic() - t0
        app.quit()

win.live.frameReady.connect(frame)
QTimer.singleShot(int(float(sys.argv[1]) * 1000), app.quit)
app.exec()
print(json.dumps(marks), flush=True)
win.close()
win.live.shutdown(timeout=5.0)
"""


def one_run(timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, "-c", CHILD, str(timeout)]
    if shutil.which("xvfb-run"):
        cmd = ["xvfb-run", "-a", *cmd]
    t_launch = time.time()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=timeout + 60)
    lines = [json.loads(ln) for ln in out.stdout.splitlines() if ln.startswith("{")]
    if len(lines) < 2:
        raise RuntimeError(f"the GUI did not report (exit {out.returncode}): {out.stderr.strip()[-400:]}")
    marks = {k: round(v, 2) for k, v in lines[-1].items()}
    marks["launch"] = round(lines[0]["child_start_wall"] - t_launch, 2)
    return marks


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the first poses")
    ap.add_argument("--note", default="")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    runs = []
    for i in range(a.runs):
        r = one_run(a.timeout)
        runs.append(r)
        print(f"run {i + 1}: launch {r['launch']:.2f} s, imports {r['imports']:.2f} s, window {r['window']:.2f} s, "
              f"first poses {r.get('first_poses', float('nan')):.2f} s")
    summary = {k: round(statistics.median(r[k] for r in runs if k in r), 2)
               for k in ("launch", "imports", "window", "first_poses") if any(k in r for r in runs)}
    print("median: " + ", ".join(f"{k} {v:.2f} s" for k, v in summary.items()))
    save_result({"runs": runs, "median_s": summary, "note": a.note, "date": time.strftime("%Y-%m-%d %H:%M:%S")},
                a.json, RESULTS_ROOT, "startup", indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
