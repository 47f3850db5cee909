"""The Benchmark tab's form: dataset folder (with its validation line), protocol, root, options, results folder and
models; reads and remembers its settings and turns them into ``BenchmarkSettings``."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.defaults import BENCHMARK
from engine.h36m.root_sources import all_root_sources
from gui import settings
from gui.controllers.benchmark import BenchmarkSettings, gui_default_batch
from gui.model_picker import check_only, checked_names


class BenchmarkForm(QWidget):
    pickData = Signal()
    pickOut = Signal()
    synthetic = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wanted: set[str] = set()
        self._build()

    def _build(self) -> None:
        tl = QHBoxLayout(self)
        tl.setContentsMargins(0, 0, 0, 0)

        data_box = QGroupBox("Data and options")
        fl = QFormLayout(data_box)
        row = QHBoxLayout()
        self.data_dir = QLineEdit()
        self.data_dir.setPlaceholderText("folder with annotations/ and images/ (3DMPPE layout)")
        row.addWidget(self.data_dir, 1)
        b = QPushButton("Browse…")
        b.clicked.connect(self.pickData.emit)
        row.addWidget(b)
        self.synth_button = QPushButton("Synthetic…")
        self.synth_button.setToolTip("Make a small synthetic dataset in the Human3.6M (3DMPPE) layout")
        self.synth_button.clicked.connect(self.synthetic.emit)
        row.addWidget(self.synth_button)
        fl.addRow("Dataset", row)
        self.validation = QLabel("Choose a dataset folder.")
        self.validation.setWordWrap(True)
        self.validation.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.validation.setFixedHeight(2 * self.validation.fontMetrics().lineSpacing() + 2)  # the form never shifts
        fl.addRow("", self.validation)
        self.protocol = QComboBox()
        self.protocol.addItem("Protocol 2: MPJPE on S9 + S11", 2)
        self.protocol.addItem("Protocol 1: PA-MPJPE on S11", 1)
        fl.addRow("Protocol", self.protocol)
        self.root = QComboBox()
        for source in all_root_sources():  # the names and words the CLI and the runner share
            self.root.addItem(source.label, source.name)
        fl.addRow("Root", self.root)
        self.mode = QComboBox()
        self.mode.addItem("Official: each model as its own test runs it", "official")
        self.mode.addItem("Common: every model through the 3DMPPE pipeline", "common")
        self.mode.setToolTip("Official crops and places each model the way its paper's test code does (Integral: "
                             "its own box); Common runs all of them one way, for a like-for-like table")
        fl.addRow("Conventions", self.mode)
        opts = QHBoxLayout()
        self.flip = QCheckBox("Flip test")
        opts.addWidget(self.flip)
        opts.addWidget(QLabel("Samples (0 = all):"))
        self.limit = QSpinBox()
        self.limit.setRange(0, 1_000_000)
        self.limit.setSingleStep(100)
        opts.addWidget(self.limit)
        opts.addWidget(QLabel("Batch:"))
        self.batch_size = QSpinBox()
        self.batch_size.setRange(1, 1024)
        self.batch_size.setToolTip("Samples per forward pass. Cancel takes effect between batches: keep it small on a "
                                   "CPU so that Cancel answers quickly")
        opts.addWidget(self.batch_size)
        opts.addStretch(1)
        fl.addRow("Options", opts)
        orow = QHBoxLayout()
        self.out_dir = QLineEdit()
        orow.addWidget(self.out_dir, 1)
        b = QPushButton("Browse…")
        b.clicked.connect(self.pickOut.emit)
        orow.addWidget(b)
        fl.addRow("Results folder", orow)
        self.overwrite = QCheckBox("Overwrite other results")
        self.overwrite.setToolTip("Allow replacing finished results of a different configuration in the results "
                                  "folder (the same configuration is reused, an interrupted one resumed)")
        fl.addRow("", self.overwrite)
        tl.addWidget(data_box, 3)

        mbox = QGroupBox("Models")
        ml = QVBoxLayout(mbox)
        self.model_list = QListWidget()
        self.model_list.setMinimumHeight(60)
        ml.addWidget(self.model_list)
        tl.addWidget(mbox, 2)


    # ---------------------------------------------------------------------------------------------- settings
    def restore(self) -> None:
        self.data_dir.setText(settings.get("bench/data_dir", ""))
        self.out_dir.setText(settings.get("bench/out_dir", str(Path.home() / "posearena_results")))
        protocol = settings.get("bench/protocol", BENCHMARK.protocol)
        self.protocol.setCurrentIndex(max(0, self.protocol.findData(protocol)))
        self.root.setCurrentIndex(max(0, self.root.findData(settings.get("bench/root", BENCHMARK.root))))
        self.flip.setChecked(settings.get("bench/flip", BENCHMARK.flip))
        mode = settings.get("bench/protocol_mode", BENCHMARK.protocol_mode)
        self.mode.setCurrentIndex(max(0, self.mode.findData(mode)))
        self.limit.setValue(settings.get("bench/limit", 0))
        self.batch_size.setValue(settings.get("bench/batch_size", gui_default_batch()))
        self.wanted = set(settings.get("bench/models", []))

    def save_settings(self) -> None:
        settings.put("bench/data_dir", self.data_dir.text())
        settings.put("bench/out_dir", self.out_dir.text())
        settings.put("bench/protocol", self.protocol.currentData())
        settings.put("bench/root", self.root.currentData())
        settings.put("bench/flip", self.flip.isChecked())
        settings.put("bench/protocol_mode", self.mode.currentData())
        settings.put("bench/limit", self.limit.value())
        settings.put("bench/batch_size", self.batch_size.value())
        settings.put("bench/models", checked_names(self.model_list))

    def current_settings(self, rows: dict) -> BenchmarkSettings:
        models = tuple(checked_names(self.model_list))
        return BenchmarkSettings(
            data_dir=self.data_dir.text().strip(), out_dir=self.out_dir.text().strip(), models=models,
            protocol=int(self.protocol.currentData()), root=str(self.root.currentData()), flip=self.flip.isChecked(),
            limit=self.limit.value() or None, batch_size=self.batch_size.value(),
            allow_untrained=any(not rows[m].has_weights for m in models if m in rows),
            overwrite=self.overwrite.isChecked(), protocol_mode=str(self.mode.currentData()),
        )

    def apply_settings(self, s: BenchmarkSettings) -> None:
        """Show ``s`` in the form (Resume: the form says what runs)."""
        self.data_dir.setText(s.data_dir)
        self.out_dir.setText(s.out_dir)
        self.protocol.blockSignals(True)
        self.protocol.setCurrentIndex(max(0, self.protocol.findData(s.protocol)))
        self.protocol.blockSignals(False)
        self.root.setCurrentIndex(max(0, self.root.findData(s.root)))
        self.flip.setChecked(s.flip)
        self.mode.setCurrentIndex(max(0, self.mode.findData(s.protocol_mode)))
        self.limit.setValue(s.limit or 0)
        self.wanted = set(s.models)
        check_only(self.model_list, s.models)
