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

from engine.defaults import ROOT, STREAM
from gui import settings

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
    o.realtime = QCheckBox("Real-time pacing")
    o.realtime.setToolTip("On: a video file or image folder plays at its own frame rate, like a camera, and the "
                          "frames the models cannot keep up with are skipped (not recorded).\nOff: every frame is "
                          "processed and recorded, in order, as fast as the models run. Cameras and streams always "
                          "show the newest frame.")
    sl.addWidget(o.realtime)
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
    o.every.setRange(1, 300)
    o.every.setToolTip("Look for newcomers every N frames (in the background with the bundled detectors); boxes "
                       "follow the poses in between, and a lost person is looked for at once")
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
    form.addWidget(_stream_box(o))
    form.addStretch(1)

    scroll = QScrollArea()
    scroll.setWidget(side)
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setFixedWidth(SIDE_WIDTH)
    return scroll


STREAM_FORMATS = (("Plain joints (TouchDesigner, Max)", "plain"), ("VMC avatar (VSeeFace, Unity, Blender)", "vmc"))


def _stream_box(o) -> QGroupBox:
    """Stream (OSC over UDP): the first selected model's poses go to this host and port only, from the next start."""
    box = QGroupBox("Stream (OSC)")
    box.setToolTip("Sends each frame's pose of the first selected model over OSC (UDP) to this address only; "
                   "nothing is received. Takes effect at the next start. See docs/outputs.md.")
    sl = QFormLayout(box)
    o.stream_on = QCheckBox("Stream poses")
    sl.addRow(o.stream_on)
    o.stream_host = QLineEdit(STREAM.host)
    o.stream_host.setToolTip("Receiver's address; 127.0.0.1 keeps the poses on this computer")
    sl.addRow("Host", o.stream_host)
    o.stream_port = QSpinBox()
    o.stream_port.setRange(1, 65535)
    o.stream_port.setValue(STREAM.port)
    sl.addRow("Port", o.stream_port)
    o.stream_format = QComboBox()
    for text, key in STREAM_FORMATS:
        o.stream_format.addItem(text, key)
    o.stream_format.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    o.stream_format.setMinimumContentsLength(10)
    sl.addRow("Messages", o.stream_format)
    return box


def stream_extra(o) -> dict:
    """The stream's LiveConfig fields from the panel (empty when streaming is off)."""
    if not o.stream_on.isChecked():
        return {}
    host = o.stream_host.text().strip() or STREAM.host
    return {"stream": f"osc://{host}:{o.stream_port.value()}", "stream_format": o.stream_format.currentData()}


def restore_stream(o) -> None:
    """The stream box as the user left it (host, port, message set; streaming itself always starts off)."""
    o.stream_host.setText(str(settings.get("live/stream_host", STREAM.host)))
    o.stream_port.setValue(int(settings.get("live/stream_port", STREAM.port)))
    o.stream_format.setCurrentIndex(max(0, o.stream_format.findData(settings.get("live/stream_format", ""))))


def save_stream(o) -> None:
    settings.put("live/stream_host", o.stream_host.text().strip())
    settings.put("live/stream_port", o.stream_port.value())
    settings.put("live/stream_format", o.stream_format.currentData())


def remember_failed_source(tab, spec: str) -> None:
    """The source that failed to open ("" once one opens), so a launch does not retry it; a scripted run
    (--screenshot) leaves the user's settings alone."""
    if getattr(tab.window(), "persist_settings", True) and settings.get("live/failed_source", "") != spec:
        settings.put("live/failed_source", spec)
