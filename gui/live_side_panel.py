"""The Live tab's side panel (source, models, view, detector, camera, recording), scrollable; built onto the tab
(``build_side_panel(tab)`` sets the widgets as the tab's attributes and connects them to its slots)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.defaults import ROOT

SIDE_WIDTH = 290


def build_side_panel(o) -> QScrollArea:
    """``o``: the LiveTab. Returns the scroll area holding the panel."""
    side = QWidget()
    form = QVBoxLayout(side)
    form.setContentsMargins(4, 4, 4, 4)

    o.run_button = QPushButton("Start  (Ctrl+R)")
    o.run_button.setMinimumHeight(34)
    o.run_button.clicked.connect(o.toggle_run)
    form.addWidget(o.run_button)

    src_box = QGroupBox("Source")
    sl = QVBoxLayout(src_box)
    o.source_combo = QComboBox()
    o.source_combo.setEditable(True)
    o.source_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    o.source_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    o.source_combo.setMinimumContentsLength(12)
    o.source_combo.setToolTip("demo, a camera index, a video file, an image folder or a stream URL")
    o.source_combo.addItem("Demo video (built in)", "demo")
    sl.addWidget(o.source_combo)
    row = QGridLayout()
    row.setSpacing(4)
    o.source_buttons = []
    for k, (text, slot) in enumerate((("File…", o._pick_file), ("Folder…", o._pick_folder),
                                      ("URL…", o._pick_url), ("Find cameras", o.find_cameras))):
        b = QPushButton(text)
        b.clicked.connect(slot)
        b.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        o.source_buttons.append(b)
        row.addWidget(b, k // 2, k % 2)
    sl.addLayout(row)
    form.addWidget(src_box)

    mod_box = QGroupBox("Models")
    ml = QVBoxLayout(mod_box)
    o.model_list = QListWidget()
    o.model_list.setMinimumHeight(150)
    o.model_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    o.model_list.setTextElideMode(Qt.TextElideMode.ElideRight)
    o.model_list.itemChanged.connect(o._on_model_checked)
    ml.addWidget(o.model_list)
    form.addWidget(mod_box)

    view_box = QGroupBox("View")
    vl = QFormLayout(view_box)
    o.placement = QComboBox()
    o.placement.addItems(["Root-relative", "Absolute (camera)"])
    o.placement.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    o.placement.setMinimumContentsLength(10)
    o.placement.currentIndexChanged.connect(lambda i: o.grid.set_absolute(i == 1))
    vl.addRow("3D placement", o.placement)
    o.overlay_combo = QComboBox()
    o.overlay_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    o.overlay_combo.setMinimumContentsLength(10)
    o.overlay_combo.currentIndexChanged.connect(
        lambda _: o.video.set_overlay_model(o.overlay_combo.currentData()))
    vl.addRow("2D joints of", o.overlay_combo)
    o.smoothing = QCheckBox("Smooth poses (One Euro)")
    o.smoothing.toggled.connect(o._on_smoothing)
    vl.addRow(o.smoothing)
    o.rootnet = QCheckBox("RootNet depth (if weights)")
    o.rootnet.setToolTip(f"Without RootNet weights the root depth is fixed at {ROOT.default_root_mm / 1000:g} m")
    vl.addRow(o.rootnet)
    reset = QPushButton("Reset 3D view")
    reset.clicked.connect(lambda: o.grid.reset_cameras())
    vl.addRow(reset)
    form.addWidget(view_box)

    det_box = QGroupBox("Detector")
    dl = QFormLayout(det_box)
    o.imgsz = QSpinBox()
    o.imgsz.setRange(160, 1280)
    o.imgsz.setSingleStep(32)
    dl.addRow("Image size", o.imgsz)
    o.conf = QDoubleSpinBox()
    o.conf.setRange(0.05, 0.95)
    o.conf.setSingleStep(0.05)
    dl.addRow("Confidence", o.conf)
    o.every = QSpinBox()
    o.every.setRange(1, 30)
    o.every.setToolTip("Detect every N frames; boxes follow the poses in between")
    dl.addRow("Every N frames", o.every)
    form.addWidget(det_box)

    cam_box = QGroupBox("Camera intrinsics")
    cl = QFormLayout(cam_box)
    o.hfov = QDoubleSpinBox()
    o.hfov.setRange(20.0, 150.0)
    o.hfov.setSuffix("°")
    o.hfov.setToolTip("Horizontal field of view assumed for an uncalibrated camera (focal length from it)")
    cl.addRow("Assumed FOV", o.hfov)
    crow = QHBoxLayout()
    o.calib_button = QPushButton("Calibration file…")
    o.calib_button.setToolTip("OpenCV YAML (camera_matrix / K) or JSON {fx, fy, cx, cy}")
    o.calib_button.clicked.connect(o._pick_calibration)
    o.calib_clear = QPushButton("Clear")
    o.calib_clear.clicked.connect(lambda: o._set_calibration(""))
    crow.addWidget(o.calib_button)
    crow.addWidget(o.calib_clear)
    cl.addRow(crow)
    o.intrinsics_label = QLabel()
    o.intrinsics_label.setWordWrap(True)
    cl.addRow(o.intrinsics_label)
    o.hfov.valueChanged.connect(lambda _v: o._show_intrinsics())
    form.addWidget(cam_box)

    rec_box = QGroupBox("Record (HDF5)")
    rl = QVBoxLayout(rec_box)
    rrow = QHBoxLayout()
    o.record_path = QLineEdit()
    o.record_path.setPlaceholderText("recording.h5")
    rrow.addWidget(o.record_path)
    b = QPushButton("…")
    b.setFixedWidth(28)
    b.clicked.connect(o._pick_record_path)
    rrow.addWidget(b)
    rl.addLayout(rrow)
    o.record_button = QPushButton("Record  (Ctrl+E)")
    o.record_button.setCheckable(True)
    o.record_button.clicked.connect(o._on_record_clicked)
    rl.addWidget(o.record_button)
    form.addWidget(rec_box)
    form.addStretch(1)

    scroll = QScrollArea()
    scroll.setWidget(side)
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setFixedWidth(SIDE_WIDTH)
    return scroll
