"""Base of the dialogs that run one background job: a preview over Generate / Cancel / Save."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from .worker import JobResult, JobWatcher

if TYPE_CHECKING:
    from .session import Session


class JobDialog(QDialog):
    """Runs one job of the session's worker at a time and shows its progress.

    A subclass builds its options, then calls `_add_job_controls`, and implements
    `generate` (which calls `_start_job`), `_show_result` and `save_dialog`.
    """

    def __init__(self, session: Session, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle(title)
        self.watcher = JobWatcher(session.client, self)
        self.watcher.progressed.connect(self._on_watcher_progressed)
        self.watcher.finished.connect(self._on_watcher_finished)
        self.watcher.failed.connect(self._on_watcher_failed)

    def _add_job_controls(
        self, form: QFormLayout, hint: str, save_text: str, scrollable: bool = False
    ) -> None:
        """The preview (under `form`) and the row of buttons below it; lays out the dialog."""
        self.preview = QLabel(hint, self)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        body = self.preview
        if scrollable:
            body = QScrollArea(self)
            body.setWidget(self.preview)
            body.setWidgetResizable(True)
        self.progress = QProgressBar(self)
        self.progress.setVisible(False)
        self.generate_button = QPushButton("Generate", self)
        self.generate_button.setDefault(True)
        self.generate_button.clicked.connect(self.generate)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.watcher.cancel)
        self.save_button = QPushButton(save_text, self)
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save_dialog)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        for widget in (self.generate_button, self.cancel_button, self.progress):
            row.addWidget(widget)
        row.addStretch(1)
        row.addWidget(self.save_button)
        row.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(body, 1)
        layout.addLayout(row)

    # -- to implement -------------------------------------------------------------------------
    def generate(self) -> None:
        raise NotImplementedError

    def _show_result(self, result: JobResult) -> None:
        raise NotImplementedError

    def save_dialog(self) -> None:
        raise NotImplementedError

    # -- the job ------------------------------------------------------------------------------
    def _start_job(self, total: int = 0, **fields) -> None:
        """Start a job of the client; `total` steps, or 0 for a busy indicator."""
        self.watcher.start(**fields)
        self.progress.setRange(0, total)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.generate_button.setEnabled(False)
        self.cancel_button.setEnabled(True)

    def _done(self) -> None:
        self.progress.setVisible(False)
        self.generate_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _on_watcher_progressed(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _on_watcher_finished(self, result: JobResult) -> None:
        self._done()
        self._show_result(result)

    def _on_watcher_failed(self, message: str) -> None:
        self._done()
        self.preview.setText(f"Failed: {message}")

    def done(self, result: int) -> None:  # noqa: D401 (Qt API)
        self.watcher.cancel()
        super().done(result)
