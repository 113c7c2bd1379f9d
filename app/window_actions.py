"""Menus and the toolbar of the main window (built from the window's actions)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu, QMenuBar, QSizePolicy, QToolBar, QWidget

from .session import Session

EXPORT_SCALES = (1, 2, 4, 8)


def build_menus_and_toolbar(w: QMainWindow) -> None:
    """Menus and toolbar of the main window ``w`` from its actions (its ``*_action`` names)."""
    bar = w.menuBar()
    w.recent_models_menu = QMenu("Open &Recent Model", w)
    w.recent_models_menu.aboutToShow.connect(
        lambda: _fill_recent_models(w.recent_models_menu, w.session)
    )
    _add_menu(bar, "&File",
              [w.open_image_action, w.paste_action],
              [w.open_model_action, w.recent_models_menu],
              [w.save_action, w.export_layers_action, _scale_menu(w, w.session), w.copy_action],
              [w.quit_action])  # fmt: skip
    _add_menu(bar, "&Edit",
              [w.undo_action, w.redo_action],
              w.focus_actions,
              [w.clear_action, w.reroll_action],
              [w.preferences_action])  # fmt: skip
    _add_menu(bar, "&Mix",
              [w.code_mode_action, w.feature_mode_action, w.toggle_mode_action],
              [w.sheet_action, w.animate_action])  # fmt: skip
    _add_menu(bar, "&View",
              [w.pixel_action, w.layers_action,
               w.gallery_dock.toggleViewAction(), w.recent_dock.toggleViewAction()])  # fmt: skip
    _add_menu(bar, "&Help", [w.help_action], [w.about_action])

    tools = QToolBar("Main", w)
    tools.setObjectName("main_toolbar")
    tools.setMovable(False)
    tools.setIconSize(QSize(20, 20))
    tools.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for action in (w.open_model_action, w.save_action, w.copy_action):
        tools.addAction(action)
    tools.addSeparator()
    for action in (w.undo_action, w.redo_action):  # their text names the step: keep it short
        tools.addAction(action)
        tools.widgetForAction(action).setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    tools.addSeparator()
    mode_label = QLabel(" Mode ", tools)
    mode_label.setToolTip(w.code_mode_action.toolTip() + "\n\n" + w.feature_mode_action.toolTip())
    tools.addWidget(mode_label)
    for action in (w.code_mode_action, w.feature_mode_action):
        tools.addAction(action)
        button = tools.widgetForAction(action)
        button.setObjectName("modeButton")
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    tools.addSeparator()
    tools.addAction(w.sheet_action)
    tools.addAction(w.animate_action)
    spacer = QWidget(tools)
    spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    tools.addWidget(spacer)
    tools.addAction(w.pixel_action)
    tools.addAction(w.layers_action)
    w.addToolBar(Qt.ToolBarArea.TopToolBarArea, tools)
    w.toolbar = tools


def _add_menu(bar: QMenuBar, title: str, *groups: Sequence[QAction | QMenu]) -> QMenu:
    """A menu of actions and submenus, with a separator between groups."""
    menu = bar.addMenu(title)
    for i, group in enumerate(groups):
        if i:
            menu.addSeparator()
        for item in group:
            if isinstance(item, QMenu):
                menu.addMenu(item)
            else:
                menu.addAction(item)
    return menu


def _scale_menu(parent: QWidget, session: Session) -> QMenu:
    menu = QMenu("Export &Scale", parent)
    group = QActionGroup(menu)
    current = session.export_scale()
    for scale in EXPORT_SCALES:
        action = QAction(f"{scale}×" + (" (model size)" if scale == 1 else ""), menu)
        action.setCheckable(True)
        action.setChecked(scale == current)
        action.triggered.connect(lambda _=False, s=scale: session.set_export_scale(s))
        group.addAction(action)
        menu.addAction(action)
    return menu


def _fill_recent_models(menu: QMenu, session: Session) -> None:
    menu.clear()
    recent = session.recent_models()
    for path in recent:
        action = menu.addAction(Path(path).name)
        action.setToolTip(path)
        action.triggered.connect(lambda _=False, p=path: session.load_model_file(p))
    if not recent:
        menu.addAction("No recent models").setEnabled(False)
