"""Models, export and tools of the main window (a mixin, to keep main_window.py short)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QMessageBox

from . import APP_NAME, __version__
from .export import confirm_overwrite, layer_paths, with_png_suffix
from .session import NO_FEATURE_TIP
from .state import ModelInfo

MODEL_FILTER = "MixNMatch models (*.safetensors *.pth);;All files (*)"
FEATURE_TIP = (
    "Feature mode: the Shape image gives both the pose and the detailed outline of the bird; "
    "background and colours still come from their own images. Keeps more of the shape's detail."
)


class WindowIOMixin:
    """Needs the MainWindow attributes: session, settings, result_view, model_label,
    feature_mode_action, gallery, show_message."""

    # -- preferences --------------------------------------------------------------------------
    def theme_setting(self) -> str:
        return str(self.settings.value("view/theme", "system"))

    def open_preferences(self) -> None:
        import engine  # engine.threads is light: no torch

        from .preferences import PreferencesDialog

        dialog = PreferencesDialog(
            self.theme_setting(),
            int(self.settings.value("engine/threads", 0) or 0),
            engine.interactive_threads(),
            self,
        )
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.apply_preferences(dialog.theme(), dialog.threads())

    def apply_preferences(self, theme: str, threads: int) -> None:
        """Store and apply a theme ("system", "light", "dark") and thread count (0 = auto)."""
        from .theme import apply_theme

        self.settings.setValue("view/theme", theme)
        app = QApplication.instance()
        if app is not None:
            apply_theme(app, theme)
        self.session.set_thread_preference(threads)

    def show_how_mixing_works(self) -> None:
        from .preferences import HowMixingWorksDialog

        HowMixingWorksDialog(self).exec()

    # -- models -------------------------------------------------------------------------------
    def open_model_dialog(self) -> None:
        start = self.settings.value("paths/models", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Open Model", start, MODEL_FILTER)
        if path:
            self.settings.setValue("paths/models", str(Path(path).parent))
            self.session.load_model_file(path)

    def _on_client_model_load_started(self, label: str) -> None:
        self.model_label.setText(f"Loading {label}…")
        if self.session.model_info is None:
            self.result_view.set_message("Loading the model…")

    def _on_session_model_changed(self, info: ModelInfo) -> None:
        self.model_label.setText(info.summary())
        details = "\n".join(f"{k}: {v}" for k, v in info.details.items())
        self.model_label.setToolTip(f"{info.path or info.name}\n{details}".strip())
        self.feature_mode_action.setEnabled(info.has_feature_mode)
        self.feature_mode_action.setText("Feature" if info.has_feature_mode else "Feature (n/a)")
        self.feature_mode_action.setToolTip(
            FEATURE_TIP if info.has_feature_mode else NO_FEATURE_TIP
        )
        self.gallery.set_domain(info.domain)

    def _on_client_model_failed(self, message: str) -> None:
        info = self.session.model_info
        if info is None:
            self.model_label.setText("No model")
            self.result_view.set_message("No model loaded.\nOpen one with Ctrl+O.")
        else:
            self.model_label.setText(info.summary())
        self.show_message(f"Model not loaded: {message}", error=True, timeout_ms=15000)

    # -- export -------------------------------------------------------------------------------
    def _ask_save_path(self, title: str, what: str) -> Path | None:
        """A PNG path from the save dialog (None when cancelled or nothing to ``what`` yet)."""
        if self.session.outcome is None:
            self.show_message(f"Nothing to {what} yet.", error=True)
            return None
        start = self.session.export_folder() / "mix.png"
        path, _ = QFileDialog.getSaveFileName(
            self, title, str(start), "PNG images (*.png)",
            options=QFileDialog.Option.DontConfirmOverwrite,
        )  # fmt: skip
        return with_png_suffix(path) if path else None

    def save_image_dialog(self) -> None:
        path = self._ask_save_path("Save Image", "save")
        if path is not None:
            self.save_image(path)

    def export_layers_dialog(self) -> None:
        path = self._ask_save_path("Export All Layers (base name)", "export")
        if path is not None:
            self.save_image(path, layers=True)

    def save_image(self, path: Path, layers: bool = False) -> bool:
        """Save the current result (asks before replacing files); True if written."""
        outcome = self.session.outcome
        if outcome is None:
            return False
        targets = list(layer_paths(path, outcome).values()) if layers else [path]
        if not confirm_overwrite(self, targets):
            self.show_message("Not saved.")
            return False
        try:
            written = self.session.save_result(path, layers)
        except Exception as error:  # engine.ImageError (disk full, no permission, ...)
            self.show_message(f"Not saved: {error}", error=True)
            return False
        extra = f" and {len(written) - 1} layers" if len(written) > 1 else ""
        self.show_message(f"Saved {path}{extra}")
        return True

    def copy_result(self) -> None:
        image = self.result_view.image()
        if image is None:
            self.show_message("Nothing to copy yet.", error=True)
            return
        QGuiApplication.clipboard().setImage(image)
        self.show_message("Result copied to the clipboard.")

    # -- tools --------------------------------------------------------------------------------
    def open_sheet_dialog(self) -> None:
        from .sheet_dialog import VarySheetDialog

        VarySheetDialog(self.session, self.gallery.paths(), self).exec()

    def open_animation_dialog(self) -> None:
        from .animation_dialog import AnimationDialog

        AnimationDialog(self.session, self).exec()

    def show_about(self) -> None:
        info = self.session.model_info
        model = info.summary() if info else "no model loaded"
        QMessageBox.about(
            self,
            f"About {APP_NAME}",
            f"<h3>{APP_NAME} {__version__}</h3>"
            "<p>Mix the background, pose, shape and texture of four images into a new one, "
            "with a re-implementation of <i>MixNMatch: Multifactor Disentanglement and Encoding "
            "for Conditional Image Generation</i> (Li, Singh, Ojha, Lee; CVPR 2020).</p>"
            f"<p>Model: {model}</p>",
        )
