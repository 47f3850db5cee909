"""Open a folder in the desktop's file manager; where no launcher answers, show the path with a Copy button."""

from __future__ import annotations

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout

_launch = QDesktopServices.openUrl  # tests replace it (gui.open_folder._launch) to simulate no file launcher


class PathDialog(QDialog):
    """"No file manager could be started": the path, selectable, and a button that copies it."""

    def __init__(self, path: str, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Folder")
        self.setMinimumWidth(520)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("No file manager could be opened on this system. The folder is:"))
        row = QHBoxLayout()
        self.path_edit = QLineEdit(path)
        self.path_edit.setReadOnly(True)
        self.path_edit.selectAll()
        row.addWidget(self.path_edit, 1)
        self.copy_button = QPushButton("Copy")
        self.copy_button.clicked.connect(self.copy)
        row.addWidget(self.copy_button)
        lay.addLayout(row)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        box.rejected.connect(self.reject)
        lay.addWidget(box)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.path_edit.text())
        self.copy_button.setText("Copied")


def open_folder(path: str, parent=None) -> PathDialog | None:
    """True launch: None. No launcher: a non-modal PathDialog (returned, already shown)."""
    if _launch(QUrl.fromLocalFile(str(path))):
        return None
    dlg = PathDialog(str(path), parent)
    dlg.show()
    return dlg
