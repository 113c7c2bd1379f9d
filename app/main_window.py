"""The main window: four slots, the result, gallery, history, over one ``Session``.

The window shows the session's combination and results and turns the user's gestures into
session calls; the session owns the state, the undo stack and the worker.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QSize, Qt
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from . import APP_NAME
from .busy_widget import BusyIndicatorWidget
from .gallery import GalleryPanel
from .history import RecentStripWidget
from .icons import app_icon, icon
from .resources import IMAGE_SUFFIXES, is_model_file
from .result_view import LayersPanelWidget, ResultView
from .session import Session
from .slot_widget import REMOTE_MESSAGE, SlotWidget, mime_source
from .state import POSE_FROM_SHAPE, SLOT_LABELS, SLOTS, Combination, MixOutcome
from .window_actions import build_menus_and_toolbar
from .window_io import FEATURE_TIP, WindowIOMixin

DEFAULT_SIZE = QSize(1280, 800)


def default_window_size(available: QSize) -> QSize:
    """The first window's size: DEFAULT_SIZE, shrunk to fit the screen's free area."""
    return DEFAULT_SIZE.boundedTo(QSize(available.width() - 16, available.height() - 16))


IMAGE_FILTER = "Images (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES) + ");;All files (*)"
CODE_TIP = (
    "Code mode: each slot gives one thing. The background, the pose, the body shape and the "
    "colours each come from their own image."
)


class MainWindow(WindowIOMixin, QMainWindow):
    """Four slots on the left, the result on the right, examples and recent results docked.

    ``settings``: where window state, recent models and preferences live (tests pass a
    scratch file); ``device``: "auto", "cpu" or "cuda" for models opened from this window.
    """

    def __init__(
        self,
        settings: QSettings | None = None,
        device: str = "auto",
        threads: int | None = None,
        show_timing: bool = False,
    ) -> None:
        super().__init__()
        self.settings = settings if settings is not None else QSettings()
        self.session = Session(self.settings, device, threads, self)
        self.show_timing = show_timing
        self.last_message = ""
        self._shut_down = False
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)

        self._build_central()
        self._build_docks()
        self._build_status_bar()
        self._build_actions()
        self._connect()
        self._restore_settings()
        self.session.apply(self.session.combination)

    # -- construction -------------------------------------------------------------------------
    def _build_central(self) -> None:
        self.slots: dict[str, SlotWidget] = {}
        slot_panel = QWidget(self)
        grid = QGridLayout(slot_panel)
        grid.setContentsMargins(8, 8, 4, 8)
        grid.setSpacing(10)
        for i, slot in enumerate(SLOTS):
            widget = SlotWidget(slot, slot_panel)
            self.slots[slot] = widget
            grid.addWidget(widget, i // 2, i % 2)

        result_panel = QWidget(self)
        column = QVBoxLayout(result_panel)
        column.setContentsMargins(4, 8, 8, 8)
        column.setSpacing(6)
        title = QLabel("<b>Result</b>", result_panel)
        title.setObjectName("resultTitle")
        self.result_view = ResultView(result_panel)
        self.layers_panel = LayersPanelWidget(result_panel)
        row = QHBoxLayout()
        row.setSpacing(6)
        row.addWidget(self.result_view, 1)
        row.addWidget(self.layers_panel)
        column.addWidget(title)
        column.addLayout(row, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(slot_panel)
        self.splitter.addWidget(result_panel)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([520, 520])
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)

    def _build_docks(self) -> None:
        self.gallery_panel = GalleryPanel(self.settings, self)
        self.gallery = self.gallery_panel.gallery
        self.gallery_dock = QDockWidget("Images", self)
        self.gallery_dock.setObjectName("gallery_dock")
        self.gallery_dock.setWidget(self.gallery_panel)
        self.gallery_panel.setMinimumWidth(150)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.gallery_dock)

        self.recent_strip = RecentStripWidget(self)
        self.recent_dock = QDockWidget("Recent results", self)
        self.recent_dock.setObjectName("recent_dock")
        self.recent_dock.setWidget(self.recent_strip)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.recent_dock)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.busy_indicator = BusyIndicatorWidget(self)
        self.model_label = QLabel("No model", self)
        self.time_label = QLabel("", self)
        bar.addPermanentWidget(self.busy_indicator)
        bar.addPermanentWidget(self.model_label)
        bar.addPermanentWidget(self.time_label)

    def _action(
        self, text: str, slot, shortcut=None, icon_name: str = "", tip: str = ""
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if icon_name:
            action.setIcon(icon(icon_name))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        if slot is not None:
            action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        session = self.session
        standard = QKeySequence.StandardKey
        a = self._action
        self.open_image_action = a("Open &Image…", self.browse_current_slot, None, "open")
        self.open_model_action = a(
            "Open &Model…", self.open_model_dialog, standard.Open, "model",
            "Open a model: ours (.safetensors) or the released G.pth (E.pth, EX.pth beside it)",
        )  # fmt: skip
        self.save_action = a("&Save Image…", self.save_image_dialog, standard.Save, "save")
        self.export_layers_action = a("Export All &Layers…", self.export_layers_dialog)
        self.copy_action = a("&Copy Image", self.copy_result, standard.Copy, "copy")
        self.paste_action = a("&Paste Into Slot", self.paste_into_slot, standard.Paste, "paste")
        self.quit_action = a("&Quit", self.close, standard.Quit)
        self.undo_action = session.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence(standard.Undo))
        self.undo_action.setIcon(icon("undo"))
        self.redo_action = session.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence(standard.Redo)])
        self.redo_action.setIcon(icon("redo"))
        self.clear_action = a("C&lear Slot", self.clear_current_slot, "Delete", "clear")
        self.reroll_action = a(
            "&Re-roll Slot", self.reroll_current_slot, "R", "dice",
            "Replace the selected slot's factor with a random one (seeded)",
        )  # fmt: skip
        self.mode_group = QActionGroup(self)
        self.code_mode_action = a("Code", lambda: self.set_mode("code"), None, "", CODE_TIP)
        self.feature_mode_action = a(
            "Feature", lambda: self.set_mode("feature"), None, "", FEATURE_TIP
        )
        for action in (self.code_mode_action, self.feature_mode_action):
            action.setCheckable(True)
            self.mode_group.addAction(action)
        self.code_mode_action.setChecked(True)
        self.toggle_mode_action = a("Toggle &Mode", self.toggle_mode, "M")
        self.pixel_action = a(
            "&Pixel-exact", None, "P", "pixel",
            "Show the result at whole-number zoom without smoothing",
        )  # fmt: skip
        self.pixel_action.setCheckable(True)
        self.pixel_action.toggled.connect(self.result_view.set_pixel_exact)
        self.layers_action = a("&Layers", None, "L", "layers",
                               "Show the generator's layers beside the result")  # fmt: skip
        self.layers_action.setCheckable(True)
        self.layers_action.setChecked(True)
        self.layers_action.toggled.connect(self.layers_panel.setVisible)
        self.sheet_action = a(
            "&Vary One Factor…", self.open_sheet_dialog, "Ctrl+G", "grid",
            "Make a sheet where only one factor changes across many images",
        )  # fmt: skip
        self.animate_action = a(
            "&Animate…", self.open_animation_dialog, "Ctrl+J", "film",
            "Interpolate one factor between two images, or follow the frames of a GIF",
        )  # fmt: skip
        self.about_action = a(f"&About {APP_NAME}", self.show_about, None, "info")
        self.help_action = a(
            "&How Mixing Works", self.show_how_mixing_works, QKeySequence.StandardKey.HelpContents
        )
        self.preferences_action = a(
            "Pre&ferences…", self.open_preferences, QKeySequence.StandardKey.Preferences
        )
        self.focus_actions = [
            a(f"Select {SLOT_LABELS[s]}", lambda _=False, s=s: self.focus_slot(s), str(i + 1))
            for i, s in enumerate(SLOTS)
        ]
        build_menus_and_toolbar(self)

    def _connect(self) -> None:
        session, client = self.session, self.session.client
        for widget in self.slots.values():
            widget.image_offered.connect(session.set_slot_source)
            widget.model_offered.connect(session.load_model_file)
            widget.slot_dropped.connect(session.move_slot)
            widget.rejected.connect(self._on_slot_rejected)
            widget.browse_requested.connect(self.browse_slot)
            widget.clear_requested.connect(session.clear_slot)
            widget.reroll_requested.connect(session.reroll_slot)
            widget.code_picked.connect(session.pick_code)
            widget.box_edited.connect(session.set_box)
            widget.crop_mode_changed.connect(session.set_crop)
        session.combination_changed.connect(self._on_session_combination_changed)
        session.model_changed.connect(self._on_session_model_changed)
        session.message.connect(self.show_message)
        client.result_arrived.connect(self._on_client_result_arrived)
        client.mix_failed.connect(self._on_client_mix_failed)
        client.busy_changed.connect(self._on_client_busy_changed)
        client.model_load_started.connect(self._on_client_model_load_started)
        client.model_failed.connect(self._on_client_model_failed)
        self.layers_panel.layer_selected.connect(self.result_view.set_layer)
        self.gallery.image_activated.connect(self._on_gallery_image_activated)
        self.recent_strip.combination_chosen.connect(self._on_recent_combination_chosen)
        app = QApplication.instance()
        if app is not None:
            app.focusChanged.connect(self._on_app_focus_changed)

    # -- messages -----------------------------------------------------------------------------
    def show_message(self, text: str, error: bool = False, timeout_ms: int = 8000) -> None:
        self.last_message = text
        self.statusBar().setProperty("error", error)
        self.statusBar().style().unpolish(self.statusBar())
        self.statusBar().style().polish(self.statusBar())
        self.statusBar().showMessage(("⚠  " if error else "") + text, timeout_ms)

    # -- showing the session's state ---------------------------------------------------------
    def _on_session_combination_changed(self, combination: Combination) -> None:
        for slot, widget in self.slots.items():
            widget.set_state(combination[slot])
        self._show_mode(combination.mode)

    def _show_mode(self, mode: str) -> None:
        feature = mode == "feature"
        (self.feature_mode_action if feature else self.code_mode_action).setChecked(True)
        self.slots["pose"].set_disabled_reason(POSE_FROM_SHAPE if feature else "")

    def set_mode(self, mode: str) -> None:
        """The mode actions: the session refuses feature mode for a model without it."""
        self.session.set_mode(mode)
        self._show_mode(self.session.combination.mode)

    def toggle_mode(self) -> None:
        self.set_mode("code" if self.session.combination.mode == "feature" else "feature")

    # -- slots --------------------------------------------------------------------------------
    def focus_slot(self, slot: str) -> None:
        self.slots[slot].setFocus(Qt.FocusReason.ShortcutFocusReason)
        self._set_current_slot(slot)

    def _set_current_slot(self, slot: str | None) -> None:
        self.session.selected_slot = slot
        for name, widget in self.slots.items():
            widget.setProperty("current", name == slot)
            widget.style().unpolish(widget)
            widget.style().polish(widget)

    def browse_slot(self, slot: str) -> None:
        if self.slots[slot].disabled_reason:
            return
        start = self.settings.value("paths/images", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(
            self, f"Open {SLOT_LABELS[slot]} Image", start, IMAGE_FILTER
        )
        if path:
            self.settings.setValue("paths/images", str(Path(path).parent))
            self.session.set_slot_source(slot, path)

    def browse_current_slot(self) -> None:
        self.browse_slot(self.session.target_slot())

    def _with_selected_slot(self, act) -> None:
        """Run ``act(slot)`` on the selected slot, or ask the user to select one."""
        if self.session.selected_slot is None:
            self.show_message("Select a slot first (keys 1–4).")
        else:
            act(self.session.selected_slot)

    def clear_current_slot(self) -> None:
        self._with_selected_slot(self.session.clear_slot)

    def reroll_current_slot(self) -> None:
        self._with_selected_slot(self.session.reroll_slot)

    def paste_into_slot(self) -> None:
        slot = self.session.target_slot()
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not self.slots[slot].accept_mime(mime):
            self.show_message("The clipboard holds no image.", error=True)

    def _on_slot_rejected(self, message: str) -> None:
        self.show_message(message, error=True)

    def _on_gallery_image_activated(self, path: str) -> None:
        self.session.set_slot_source(self.session.target_slot(), path)

    def _on_recent_combination_chosen(self, combination: Combination) -> None:
        self.session.commit(combination, "Restore result")

    def _on_app_focus_changed(self, _old, new) -> None:
        widget = new
        while widget is not None and not isinstance(widget, SlotWidget):
            widget = widget.parentWidget()
        if isinstance(widget, SlotWidget) and widget.window() is self:
            self._set_current_slot(widget.slot)

    # -- worker results -----------------------------------------------------------------------
    def _on_client_result_arrived(self, outcome: MixOutcome) -> None:
        for slot, widget in self.slots.items():
            report = outcome.reports.get(slot)
            widget.set_report(report.top_k if report else (), report.crop if report else None)
        self.result_view.set_outcome(outcome)
        if not outcome.complete:
            return
        self.layers_panel.set_outcome(outcome)
        self.recent_strip.add(outcome)
        if self.show_timing:
            total = time.perf_counter() - self.session.client.last_request_time
            self.time_label.setText(f"mix {outcome.seconds * 1000:.0f} ms")
            self.time_label.setToolTip(
                f"compute {outcome.seconds:.3f} s, request to display {total:.3f} s"
            )

    def _on_client_mix_failed(self, message: str) -> None:
        self.show_message(f"Mix failed: {message}", error=True)

    def _on_client_busy_changed(self, busy: bool) -> None:
        self.busy_indicator.set_busy(busy)
        self.result_view.set_busy(busy)

    # -- window drops (model files, several images) -------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt API)
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt API)
        mime = event.mimeData()
        paths = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        models = [p for p in paths if is_model_file(p)]
        if models:
            self.session.load_model_file(models[0])
        elif len(paths) > 1:
            self.session.fill_empty_slots(paths)
        else:
            kind, payload, name = mime_source(mime)
            if kind in ("file", "image"):
                self.session.set_slot_source(self.session.target_slot(), payload, name)
            elif kind == "remote":
                self.show_message(REMOTE_MESSAGE.format(url=payload), error=True)
            else:
                self.show_message("Drop image files on a slot, or a model file here.", error=True)
                return
        event.acceptProposedAction()

    # -- settings and shutdown ----------------------------------------------------------------
    def _restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(default_window_size(self.screen().availableGeometry().size()))
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        else:
            self.resizeDocks([self.gallery_dock], [190], Qt.Orientation.Horizontal)
        splitter = self.settings.value("window/splitter")
        if isinstance(splitter, QByteArray) and not splitter.isEmpty():
            self.splitter.restoreState(splitter)
        pixel = self.settings.value("view/pixel_exact", False, type=bool)
        self.pixel_action.setChecked(pixel)
        self.result_view.set_pixel_exact(pixel)
        layers = self.settings.value("view/layers", True, type=bool)
        self.layers_action.setChecked(layers)
        self.layers_panel.setVisible(layers)

    def save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.setValue("view/pixel_exact", self.pixel_action.isChecked())
        self.settings.setValue("view/layers", self.layers_action.isChecked())
        self.settings.sync()

    def shutdown(self) -> None:
        """Stop background threads (idempotent)."""
        app = QApplication.instance()
        if app is not None and not self._shut_down:
            app.focusChanged.disconnect(self._on_app_focus_changed)
        self._shut_down = True
        self.session.shutdown()
        self.gallery.wait()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        self.save_settings()
        self.shutdown()
        super().closeEvent(event)
