"""Light and dark Fusion palettes with matching style rules; "system" follows the desktop."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("system", "light", "dark")
_ROLES = QPalette.ColorRole

_COLORS = {  # role: (light, dark)
    _ROLES.Window: ("#f3f4f6", "#1f2329"),
    _ROLES.WindowText: ("#1f2328", "#e6edf3"),
    _ROLES.Base: ("#ffffff", "#15181d"),
    _ROLES.AlternateBase: ("#eef0f3", "#22272e"),
    _ROLES.ToolTipBase: ("#ffffff", "#2d333b"),
    _ROLES.ToolTipText: ("#1f2328", "#e6edf3"),
    _ROLES.PlaceholderText: ("#6e7781", "#7d8590"),
    _ROLES.Text: ("#1f2328", "#e6edf3"),
    _ROLES.Button: ("#e7eaee", "#2a3038"),
    _ROLES.ButtonText: ("#1f2328", "#e6edf3"),
    _ROLES.BrightText: ("#cf222e", "#ff7b72"),
    _ROLES.Highlight: ("#0969da", "#2f81f7"),
    _ROLES.HighlightedText: ("#ffffff", "#ffffff"),
    _ROLES.Link: ("#0969da", "#4da3ff"),
}
_DISABLED = ("#8c959f", "#6e7681")

_STYLE_COLORS = {  # name: (light, dark)
    "card": ("#ffffff", "#262c34"),
    "cardBorder": ("#d0d7de", "#343b45"),
    "accent": ("#0969da", "#2f81f7"),
    "dropBorder": ("#218bff", "#4da3ff"),
    "dropBg": ("#ddf4ff", "#25344a"),
    "disabledCard": ("#f6f8fa", "#1c2026"),
    "badge": ("#d0d7de", "#3a424d"),
    "badgeText": ("#24292f", "#c9d1d9"),
    "muted": ("#57606a", "#8b949e"),
    "title": ("#24292f", "#c9d1d9"),
    "error": ("#cf222e", "#ffa198"),
    "dim": ("#8c959f", "#6e7681"),
    "list": ("#d0d7de", "#30363d"),
    "dockTitle": ("#e7eaee", "#1a1e23"),
}

STYLE = """
QFrame[slotCard="true"] {
    background: %(card)s; border: 1px solid %(cardBorder)s; border-radius: 10px;
}
QFrame[slotCard="true"][current="true"] { border: 1px solid %(accent)s; }
QFrame[slotCard="true"][dropTarget="true"] {
    border: 2px dashed %(dropBorder)s; background: %(dropBg)s;
}
QFrame[slotCard="true"][disabledSlot="true"] {
    background: %(disabledCard)s; border-style: dashed;
}
QFrame#slotHeader { background: transparent; border: none; }
QLabel#slotBadge {
    background: %(badge)s; color: %(badgeText)s; border-radius: 9px;
    min-width: 18px; max-width: 18px; min-height: 18px; max-height: 18px; font-size: 11px;
}
QFrame[current="true"] QLabel#slotBadge { background: %(accent)s; color: white; }
QLabel#slotFactor, QLabel#slotName, QLabel#seedLabel { color: %(muted)s; }
QLabel#resultTitle { color: %(title)s; padding-left: 2px; }
QStatusBar[error="true"] { color: %(error)s; }
QToolButton#modeButton { padding: 3px 12px; border: 1px solid %(badge)s; border-radius: 4px; }
QToolButton#modeButton:checked { background: %(accent)s; color: white; border-color: %(accent)s; }
QToolButton#modeButton:disabled { color: %(dim)s; }
QListView { border: 1px solid %(list)s; border-radius: 6px; }
QDockWidget::title { padding: 4px 6px; background: %(dockTitle)s; }
"""


def system_is_dark() -> bool:
    """The desktop's light/dark setting (light when the platform does not say)."""
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def resolve_theme(choice: str) -> str:
    """ "light" or "dark" for a preference of "system", "light" or "dark"."""
    if choice in ("light", "dark"):
        return choice
    return "dark" if system_is_dark() else "light"


def apply_theme(app: QApplication, choice: str = "system") -> str:
    """Apply the palette and style rules; returns the theme used ("light" or "dark")."""
    theme = resolve_theme(choice)
    i = 1 if theme == "dark" else 0
    app.setStyle("Fusion")
    palette = QPalette()
    for role, colors in _COLORS.items():
        palette.setColor(role, QColor(colors[i]))
    for role in (_ROLES.WindowText, _ROLES.Text, _ROLES.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(_DISABLED[i]))
    app.setPalette(palette)
    app.setStyleSheet(STYLE % {name: colors[i] for name, colors in _STYLE_COLORS.items()})
    app.setProperty("mixnmatchTheme", theme)
    return theme


def follow_system(app: QApplication, current_choice) -> None:
    """Re-apply the theme when the desktop switches light/dark and the choice is "system"."""

    def changed(_scheme) -> None:
        if current_choice() == "system":
            apply_theme(app, "system")

    QGuiApplication.styleHints().colorSchemeChanged.connect(changed)
