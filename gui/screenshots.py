"""Regenerate the documentation screenshots: ``python -m gui.screenshots docs/screenshots`` (under Xvfb:
``xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python -m gui.screenshots docs/screenshots``).

Runs the real window in a private POSEARENA_HOME (no user weights or settings are read or changed), so models show
as untrained unless weights are passed in with --weights-dir. Writes live.png, live_grid_absolute.png,
benchmark.png and models.png.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def _wait(app, cond, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()
        if cond():
            return True
        time.sleep(0.02)
    return False


def _settle(app, seconds: float) -> None:
    _wait(app, lambda: False, seconds)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--live-seconds", type=float, default=8.0)
    p.add_argument("--weights-dir", default=None, help="use these weights (default: none, untrained models)")
    args = p.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="posearena-shots-"))
    os.environ["POSEARENA_HOME"] = str(home)
    if args.weights_dir:
        os.environ["POSEARENA_WEIGHTS"] = str(Path(args.weights_dir).resolve())
    for k, v in (("YOLO_OFFLINE", "1"), ("YOLO_AUTOINSTALL", "false"), ("YOLO_VERBOSE", "false")):
        os.environ.setdefault(k, v)

    from gui.app import _preimport_heavy, make_app, save_window_png

    _preimport_heavy()
    app = make_app()
    from gui.main_window import MainWindow

    args.out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []

    def live_shot(name: str, models: list[str], absolute: bool) -> None:
        win = MainWindow(source="demo", models=models, autostart=False)
        win.persist_settings = False
        win.resize(1280, 800)
        win.show()
        tab = win.live_tab
        _wait(app, lambda: tab.model_list.count() > 0, 30)
        tab.placement.setCurrentIndex(1 if absolute else 0)
        tab.start()
        _wait(app, lambda: win.live.running, 60)
        _settle(app, args.live_seconds)
        shots.append(save_window_png(win, args.out / name))
        win.close()

    live_shot("live.png", ["mhp-lpski-w0.5", "convnextpose-xs"], absolute=False)
    live_shot("live_grid_absolute.png", ["mhp-lpski-w0.5", "convnextpose-xs", "mhp-lpski", "convnextpose-s"],
              absolute=True)

    win = MainWindow(autostart=False)
    win.persist_settings = False
    win.resize(1280, 800)
    win.tabs.setCurrentWidget(win.benchmark_tab)
    win.show()
    tab = win.benchmark_tab
    _wait(app, lambda: tab.model_list.count() > 0, 30)
    tab.make_synthetic(str(home / "h36m_synthetic"), samples=64)
    _wait(app, lambda: "Valid" in tab.validation.text(), 120)
    tab.set_models(["posenet-r50", "mhp-lpski-w0.5", "convnextpose-xs"])
    tab.flip.setChecked(False)
    tab.out_dir.setText(str(home / "results"))
    tab.run()
    _wait(app, lambda: win.bench.last_result is not None or "failed" in tab.eta.text(), 600)
    _settle(app, 0.5)
    shots.append(save_window_png(win, args.out / "benchmark.png"))
    win.tabs.setCurrentWidget(win.models_tab)
    win.models_tab.select("posenet-r50")
    _settle(app, 0.5)
    shots.append(save_window_png(win, args.out / "models.png"))
    win.close()
    shutil.rmtree(home, ignore_errors=True)
    for s in shots:
        print(f"wrote {s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
