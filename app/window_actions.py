"""Menus and the toolbar of the main window (built from the window's actions)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QLabel, QMenu, QSizePolicy, QToolBar, QWidget

from .models import ModelSpec

if TYPE_CHECKING:
    from .main_window import MainWindow

EXPORT_SCALES = (1, 2, 4, 8)


def build_menus_and_toolbar(w: MainWindow) -> None:
    bar = w.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(w.open_image_action)
    file_menu.addAction(w.paste_action)
    file_menu.addSeparator()
    file_menu.addAction(w.open_model_action)
    w.recent_models_menu = file_menu.addMenu("Open &Recent Model")
    w.recent_models_menu.aboutToShow.connect(lambda: _fill_recent_models(w))
    file_menu.addSeparator()
    file_menu.addAction(w.save_action)
    file_menu.addAction(w.export_layers_action)
    file_menu.addMenu(_scale_menu(w))
    file_menu.addAction(w.copy_action)
    file_menu.addSeparator()
    file_menu.addAction(w.quit_action)

    edit_menu = bar.addMenu("&Edit")
    edit_menu.addAction(w.undo_action)
    edit_menu.addAction(w.redo_action)
    edit_menu.addSeparator()
    edit_menu.addActions(w.focus_actions)
    edit_menu.addSeparator()
    edit_menu.addAction(w.clear_action)
    edit_menu.addAction(w.reroll_action)

    mix_menu = bar.addMenu("&Mix")
    mix_menu.addAction(w.code_mode_action)
    mix_menu.addAction(w.feature_mode_action)
    mix_menu.addAction(w.toggle_mode_action)
    mix_menu.addSeparator()
    mix_menu.addAction(w.sheet_action)
    mix_menu.addAction(w.animate_action)

    view_menu = bar.addMenu("&View")
    view_menu.addAction(w.pixel_action)
    view_menu.addAction(w.layers_action)
    view_menu.addAction(w.gallery_dock.toggleViewAction())
    view_menu.addAction(w.recent_dock.toggleViewAction())

    help_menu = bar.addMenu("&Help")
    help_menu.addAction(w.about_action)

    tools = QToolBar("Main", w)
    tools.setObjectName("main_toolbar")
    tools.setMovable(False)
    tools.setIconSize(QSize(20, 20))
    tools.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for action in (w.open_model_action, w.save_action, w.copy_action):
        tools.addAction(action)
    tools.addSeparator()
    tools.addAction(w.undo_action)
    tools.addAction(w.redo_action)
    for action in (w.undo_action, w.redo_action):  # their text names the step: keep it short
        tools.widgetForAction(action).setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    tools.addSeparator()
    mode_label = QLabel(" Mode ", tools)
    mode_label.setToolTip(w.code_mode_action.toolTip() + "\n\n" + w.feature_mode_action.toolTip())
    tools.addWidget(mode_label)
    tools.addAction(w.code_mode_action)
    tools.addAction(w.feature_mode_action)
    for action in (w.code_mode_action, w.feature_mode_action):
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


def _scale_menu(w: MainWindow) -> QMenu:
    menu = QMenu("Export &Scale", w)
    group = QActionGroup(menu)
    current = int(w.settings.value("export/scale", 1))
    for scale in EXPORT_SCALES:
        action = QAction(f"{scale}×" + (" (model size)" if scale == 1 else ""), menu)
        action.setCheckable(True)
        action.setChecked(scale == current)
        action.triggered.connect(lambda _=False, s=scale: w.set_export_scale(s))
        group.addAction(action)
        menu.addAction(action)
    return menu


def _fill_recent_models(w: MainWindow) -> None:
    menu = w.recent_models_menu
    menu.clear()
    recent = w.recent_models()
    for path in recent:
        action = menu.addAction(Path(path).name)
        action.setToolTip(path)
        action.triggered.connect(
            lambda _=False, p=path: w.load_model(ModelSpec.for_path(p, w.device))
        )
    if not recent:
        menu.addAction("No recent models").setEnabled(False)
