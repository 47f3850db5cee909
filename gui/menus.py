"""The main window's menu bar (File, View, Help), the shortcuts list and the About box (versions and licences)."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox

from gui import settings

LICENCES = ("PoseArena: MIT. PySide6 / Qt: LGPL-3.0. ultralytics (YOLO person detector): AGPL-3.0 — distributing "
            "PoseArena with it brings AGPL-3.0 obligations. pyqtgraph: MIT. torch: BSD-3-Clause. OpenCV: Apache-2.0. "
            "Model weights: the bundled ones are listed above; those you import carry their own terms "
            "(THIRD_PARTY_NOTICES.md).")

BUNDLED_WEIGHTS = (("blazepose", ".tflite", "MediaPipe BlazePose, Apache-2.0"),
                   ("nanodet", ".onnx", "NanoDet person detector, Apache-2.0"))


def bundled_weights() -> list[tuple[str, str, str]]:
    """(file under assets/, sha256, what and its licence) of each model file shipped inside the app."""
    import hashlib

    from assets import asset_path

    out = []
    for folder, suffix, what in BUNDLED_WEIGHTS:
        for f in sorted(asset_path(folder).glob(f"*{suffix}")):
            out.append((f"{folder}/{f.name}", hashlib.sha256(f.read_bytes()).hexdigest(), what))
    return out


def shortcuts_text(win) -> str:
    rows = [(a.text(), a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)) for a in win.actions()
            if not a.shortcut().isEmpty()]
    rows += [("Orbit / zoom a 3D view", "drag / wheel over it (all views follow)"),
             ("Change a box's value with the wheel", "click it first (unfocused boxes ignore the wheel)")]
    from html import escape

    cells = "".join(f"<tr><td style='padding-right:18px'>{escape(k)}</td><td><b>{escape(v)}</b></td></tr>"
                    for k, v in rows)
    return f"<table>{cells}</table>"  # a table: columns line up in any font


def about_text() -> str:
    from engine.versions import app_version, software_versions  # package metadata only, nothing heavy imported

    try:
        import pyqtgraph
        import PySide6

        extra = {"PySide6": PySide6.__version__, "pyqtgraph": pyqtgraph.__version__}
    except Exception:  # noqa: BLE001
        extra = {}
    versions = {**software_versions(), **extra}
    lines = [f"PoseArena {app_version() or '(development)'}", "",
             "Published monocular 3D human-pose models side by side, live and on Human3.6M.", "", "Versions:"]
    lines += [f"  {k}: {v}" for k, v in versions.items() if v]
    lines += ["", "Bundled model weights (sha256):"]
    for name, sha, what in bundled_weights():
        lines += [f"  {name} ({what})", f"    {sha}"]
    return "\n".join([*lines, "", "Licences:", LICENCES])


def build_menus(win) -> None:
    """``win``: the MainWindow (uses its tabs, actions, docks and tab widgets)."""
    bar = win.menuBar()

    def add(menu, text: str, slot, keys: str | None = None) -> QAction:
        a = QAction(text, win)
        if keys:
            a.setShortcut(QKeySequence(keys))
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    file = bar.addMenu("&File")
    add(file, "Open video or image…", win.live_tab._pick_file, "Ctrl+O")
    add(file, "Open image folder…", win.live_tab._pick_folder)
    add(file, "Open stream URL…", win.live_tab._pick_url)
    add(file, "Import checkpoint…", lambda: _import_checkpoint(win), "Ctrl+I")
    add(file, "Benchmark dataset folder…", lambda: (win.tabs.setCurrentWidget(win.benchmark_tab),
                                                    win.benchmark_tab._pick_data()))
    file.addSeparator()
    file.addAction(win.act_run)
    file.addAction(win.act_record)
    file.addSeparator()
    file.addAction(win.act_quit)

    view = bar.addMenu("&View")
    for a in win.tab_actions:
        view.addAction(a)
    view.addSeparator()
    msgs = win.messages_dock.toggleViewAction()
    msgs.setText("Messages panel")
    view.addAction(msgs)
    add(view, "Reset 3D views", lambda: win.live_tab.grid.reset_cameras())

    helpm = bar.addMenu("&Help")
    add(helpm, "Keyboard shortcuts", lambda: QMessageBox.information(win, "Keyboard shortcuts", shortcuts_text(win)),
        "F1")
    add(helpm, "About PoseArena", lambda: QMessageBox.about(win, "About PoseArena", about_text()))
    win.menus = {"file": file, "view": view, "help": helpm}


def _import_checkpoint(win) -> None:
    path, _ = QFileDialog.getOpenFileName(win, "Import a checkpoint", settings.last_dir(),
                                          "Checkpoints (*.pth *.pt *.tar *.pth.tar *.onnx *.ckpt);;All files (*)")
    if path:
        settings.remember_dir(path)
        win.tabs.setCurrentWidget(win.models_tab)
        win.models_tab.import_file(path)


