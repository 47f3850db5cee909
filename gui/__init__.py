"""PySide6 widgets and, in gui/controllers/, one controller per tab: the only gui/ code that calls engine/ and
models/ (in workers, through signals). Widgets import no torch or engine-heavy module."""
