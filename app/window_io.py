"""Models, export and tools of the main window (a mixin, to keep main_window.py short)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QMessageBox

from . import APP_NAME, __version__
from .export import confirm_overwrite, layer_paths, save_outcome, with_png_suffix
from .model_spec import ModelSpec
from .state import ModelInfo

MODEL_FILTER = "MixNMatch models (*.safetensors *.pth);;All files (*)"
MAX_RECENT_MODELS = 8
FEATURE_TIP = (
    "Feature mode: the Shape image gives both the pose and the detailed outline of the bird; "
    "background and colours still come from their own images. Keeps more of the shape's detail."
)
NO_FEATURE_TIP = "This model has no feature extractor, so only code mode is available."


class WindowIOMixin:
    """Needs the MainWindow attributes: settings, client, outcome, model_info, combination,
    result_view, model_label, feature_mode_action, device, show_message, request_mix."""

    # -- models -------------------------------------------------------------------------------
    def load_model(self, spec) -> None:
        """Load a model on the worker thread; the current one stays until it succeeds."""
        if isinstance(spec, ModelSpec) and spec.threads is None:
            spec = dataclasses.replace(spec, threads=self.thread_setting())
        self.client.load_model(spec)

    # -- preferences --------------------------------------------------------------------------
    def thread_setting(self) -> int | None:
        """CPU threads for models: --threads, else the preference; None = automatic."""
        if self.threads_override:
            return self.threads_override
        return int(self.settings.value("engine/threads", 0) or 0) or None

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
        self.settings.setValue("engine/threads", int(threads))
        app = QApplication.instance()
        if app is not None:
            apply_theme(app, theme)
        self.client.set_threads(self.thread_setting())

    def show_how_mixing_works(self) -> None:
        from .preferences import HowMixingWorksDialog

        HowMixingWorksDialog(self).exec()

    def open_model_dialog(self) -> None:
        start = self.settings.value("paths/models", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Open Model", start, MODEL_FILTER)
        if path:
            self.settings.setValue("paths/models", str(Path(path).parent))
            self.load_model(ModelSpec.for_path(path, self.device))

    def recent_models(self) -> list[str]:
        value = self.settings.value("models/recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in value or []]

    def _remember_model(self, path: str) -> None:
        recent = [path] + [p for p in self.recent_models() if p != path]
        self.settings.setValue("models/recent", recent[:MAX_RECENT_MODELS])

    def _on_client_model_load_started(self, label: str) -> None:
        self.model_label.setText(f"Loading {label}…")
        if self.model_info is None:
            self.result_view.set_message("Loading the model…")

    def _on_client_model_loaded(self, info: ModelInfo) -> None:
        self.model_info = info
        self.model_label.setText(info.summary())
        details = "\n".join(f"{k}: {v}" for k, v in info.details.items())
        self.model_label.setToolTip(f"{info.path or info.name}\n{details}".strip())
        self.feature_mode_action.setEnabled(info.has_feature_mode)
        self.feature_mode_action.setText("Feature" if info.has_feature_mode else "Feature (n/a)")
        self.feature_mode_action.setToolTip(
            FEATURE_TIP if info.has_feature_mode else NO_FEATURE_TIP
        )
        if info.path:
            self._remember_model(info.path)
        self.gallery.set_domain(info.domain)
        self.show_message(f"Model loaded: {info.name} ({info.preset}, {info.device})")
        if self.combination.mode == "feature" and not info.has_feature_mode:
            self._apply_combination(self.combination.with_mode("code"))
        else:
            self.request_mix()

    def _on_client_model_failed(self, message: str) -> None:
        if self.model_info is None:
            self.model_label.setText("No model")
            self.result_view.set_message("No model loaded.\nOpen one with Ctrl+O.")
        else:
            self.model_label.setText(self.model_info.summary())
        self.show_message(f"Model not loaded: {message}", error=True, timeout_ms=15000)

    # -- export -------------------------------------------------------------------------------
    def _export_scale(self) -> int:
        return int(self.settings.value("export/scale", 1))

    def set_export_scale(self, scale: int) -> None:
        self.settings.setValue("export/scale", int(scale))

    def save_image_dialog(self) -> None:
        if self.outcome is None:
            self.show_message("Nothing to save yet.", error=True)
            return
        start = Path(self.settings.value("paths/export", str(Path.home()))) / "mix.png"
        path, _ = QFileDialog.getSaveFileName(
            self, "Save Image", str(start), "PNG images (*.png)",
            options=QFileDialog.Option.DontConfirmOverwrite,
        )  # fmt: skip
        if path:
            self.save_image(with_png_suffix(path))

    def save_image(self, path: Path, layers: bool = False) -> bool:
        """Save the current result (asks before replacing files); True if written."""
        outcome = self.outcome
        if outcome is None:
            return False
        targets = list(layer_paths(path, outcome).values()) if layers else [path]
        if not confirm_overwrite(self, targets):
            self.show_message("Not saved.")
            return False
        try:
            written = save_outcome(path, outcome, self.model_info, self._export_scale(), layers)
        except Exception as error:  # engine.ImageError (disk full, no permission, ...)
            self.show_message(f"Not saved: {error}", error=True)
            return False
        self.settings.setValue("paths/export", str(path.parent))
        extra = f" and {len(written) - 1} layers" if len(written) > 1 else ""
        self.show_message(f"Saved {path}{extra}")
        return True

    def export_layers_dialog(self) -> None:
        if self.outcome is None:
            self.show_message("Nothing to export yet.", error=True)
            return
        start = Path(self.settings.value("paths/export", str(Path.home()))) / "mix.png"
        path, _ = QFileDialog.getSaveFileName(
            self, "Export All Layers (base name)", str(start), "PNG images (*.png)",
            options=QFileDialog.Option.DontConfirmOverwrite,
        )  # fmt: skip
        if path:
            self.save_image(with_png_suffix(path), layers=True)

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

        VarySheetDialog(self).exec()

    def open_animation_dialog(self) -> None:
        from .animation_dialog import AnimationDialog

        AnimationDialog(self).exec()

    def show_about(self) -> None:
        model = self.model_info.summary() if self.model_info else "no model loaded"
        QMessageBox.about(
            self,
            f"About {APP_NAME}",
            f"<h3>{APP_NAME} {__version__}</h3>"
            "<p>Mix the background, pose, shape and texture of four images into a new one, "
            "with a re-implementation of <i>MixNMatch: Multifactor Disentanglement and Encoding "
            "for Conditional Image Generation</i> (Li, Singh, Ojha, Lee; CVPR 2020).</p>"
            f"<p>Model: {model}</p>",
        )
