"""PySide6 widgets. Talks to engine/ only through gui/adapter.py (signals); no torch imports in widgets."""
