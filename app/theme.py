"""A dark Fusion palette and a few style rules for the slot cards."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

_COLORS = {
    QPalette.ColorRole.Window: "#1f2329",
    QPalette.ColorRole.WindowText: "#e6edf3",
    QPalette.ColorRole.Base: "#15181d",
    QPalette.ColorRole.AlternateBase: "#22272e",
    QPalette.ColorRole.ToolTipBase: "#2d333b",
    QPalette.ColorRole.ToolTipText: "#e6edf3",
    QPalette.ColorRole.PlaceholderText: "#7d8590",
    QPalette.ColorRole.Text: "#e6edf3",
    QPalette.ColorRole.Button: "#2a3038",
    QPalette.ColorRole.ButtonText: "#e6edf3",
    QPalette.ColorRole.BrightText: "#ff7b72",
    QPalette.ColorRole.Highlight: "#2f81f7",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#4da3ff",
}

STYLE = """
QFrame[slotCard="true"] {
    background: #262c34; border: 1px solid #343b45; border-radius: 10px;
}
QFrame[slotCard="true"][current="true"] { border: 1px solid #2f81f7; }
QFrame[slotCard="true"][dropTarget="true"] { border: 2px dashed #4da3ff; background: #25344a; }
QFrame[slotCard="true"][disabledSlot="true"] { background: #1c2026; border-style: dashed; }
QFrame#slotHeader { background: transparent; border: none; }
QLabel#slotBadge {
    background: #3a424d; color: #c9d1d9; border-radius: 9px;
    min-width: 18px; max-width: 18px; min-height: 18px; max-height: 18px; font-size: 11px;
}
QFrame[current="true"] QLabel#slotBadge { background: #2f81f7; color: white; }
QLabel#slotFactor, QLabel#slotName, QLabel#seedLabel { color: #8b949e; }
QLabel#resultTitle { color: #c9d1d9; padding-left: 2px; }
QStatusBar[error="true"] { color: #ffa198; }
QToolButton#modeButton { padding: 3px 12px; border: 1px solid #3a424d; border-radius: 4px; }
QToolButton#modeButton:checked { background: #2f81f7; color: white; border-color: #2f81f7; }
QToolButton#modeButton:disabled { color: #6e7681; }
QListView { border: 1px solid #30363d; border-radius: 6px; }
QDockWidget::title { padding: 4px 6px; background: #1a1e23; }
"""


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    for role, color in _COLORS.items():
        palette.setColor(role, QColor(color))
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6e7681"))
    app.setPalette(palette)
    app.setStyleSheet(STYLE)
