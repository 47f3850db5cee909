"""The main window: Live, Benchmark and Models tabs (skeleton; the tabs fill in as the engine grows)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMainWindow, QTabWidget


class MainWindow(QMainWindow):
    def __init__(self, source: str | None = None, models: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle("PoseArena")
        self.tabs = QTabWidget()
        self.tabs.addTab(QLabel(f"Live: source {source or 'demo'}"), "Live")
        self.tabs.addTab(QLabel("Benchmark"), "Benchmark")
        self.tabs.addTab(QLabel("Models"), "Models")
        self.setCentralWidget(self.tabs)
        self.statusBar().showMessage("Ready")
