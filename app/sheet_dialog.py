"""Vary one factor: one slot takes each image of a folder (or the gallery) in turn."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QRect
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QSpinBox,
    QWidget,
)

from .export import build_metadata, confirm_overwrite, with_png_suffix
from .job_dialog import JobDialog
from .qt_image import qimage_to_array
from .resources import list_images
from .state import SLOT_LABELS, SLOTS, Combination
from .worker import JobResult

if TYPE_CHECKING:
    from .session import Session

MAX_IMAGES = 64
CELL = 128


def compose_sheet(result: JobResult, columns: int, cell: int = CELL) -> QImage:
    """Grid of results; each carries its varying reference as an inset in the corner."""
    frames = result.frames
    rows = max(1, -(-len(frames) // columns))
    gap = 4
    sheet = QImage(
        columns * (cell + gap) + gap, rows * (cell + gap) + gap, QImage.Format.Format_RGB32
    )
    sheet.fill(QColor("#15181d"))
    p = QPainter(sheet)
    p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    inset = cell // 3
    for i, frame in enumerate(frames):
        x, y = gap + (i % columns) * (cell + gap), gap + (i // columns) * (cell + gap)
        p.drawImage(QRect(x, y, cell, cell), frame.image)
        if frame.source is not None:
            src = frame.source
            scale = inset / max(src.width(), src.height())
            w, h = max(1, round(src.width() * scale)), max(1, round(src.height() * scale))
            box = QRect(x + 3, y + cell - h - 3, w, h)
            p.fillRect(box.adjusted(-1, -1, 1, 1), QColor("white"))
            p.drawImage(box, src)
    p.end()
    return sheet


class VarySheetDialog(JobDialog):
    """``gallery_paths``: the images the "Example gallery" choice varies over."""

    def __init__(
        self, session: Session, gallery_paths: list[str], parent: QWidget | None = None
    ) -> None:
        super().__init__(session, "Vary One Factor", parent)
        self.resize(760, 620)
        self.gallery_paths = list(gallery_paths)
        self.sheet: QImage | None = None
        self.records: dict = {}  # the fixed slots' engine.InputRecord, for the metadata
        self._job: tuple[Combination, str] | None = None  # what the sheet was made from
        self.folder: Path | None = None

        self.factor = QComboBox(self)
        for slot in SLOTS:
            self.factor.addItem(SLOT_LABELS[slot], slot)
        if session.combination.mode == "feature":
            self.factor.model().item(SLOTS.index("pose")).setEnabled(False)
        self.factor.setCurrentIndex(SLOTS.index(session.selected_slot or "texture"))
        self.from_gallery = QRadioButton("Example gallery", self)
        self.from_folder = QRadioButton("Folder…", self)
        self.from_gallery.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.from_gallery)
        group.addButton(self.from_folder)
        self.from_folder.clicked.connect(self._choose_folder)
        self.folder_label = QLabel("", self)
        self.columns = QSpinBox(self)
        self.columns.setRange(1, 16)
        self.columns.setValue(6)
        source = QHBoxLayout()
        source.addWidget(self.from_gallery)
        source.addWidget(self.from_folder)
        source.addWidget(self.folder_label, 1)
        form = QFormLayout()
        form.addRow("Factor that changes", self.factor)
        form.addRow("Images", source)
        form.addRow("Columns", self.columns)

        self._add_job_controls(
            form,
            "The other three slots stay as they are in the main window.",
            "Save Sheet…",
            scrollable=True,
        )

    def slot(self) -> str:
        return self.factor.currentData()

    def paths(self) -> list[str]:
        if self.from_folder.isChecked() and self.folder is not None:
            return [str(p) for p in list_images(self.folder)][:MAX_IMAGES]
        return self.gallery_paths[:MAX_IMAGES]

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Images to vary over")
        if folder:
            self.folder = Path(folder)
            self.folder_label.setText(self.folder.name)
        elif self.folder is None:
            self.from_gallery.setChecked(True)

    def generate(self) -> None:
        paths = self.paths()
        if not paths:
            self.preview.setText("No images found there.")
            return
        if self.session.model_info is None:
            self.preview.setText("No model loaded yet.")
            return
        self._job = (self.session.combination, self.slot())
        self._start_job(
            len(paths), kind="sweep", slot=self.slot(), combination=self.session.combination,
            sources=tuple(paths), names=tuple(Path(p).name for p in paths),
        )  # fmt: skip

    def _show_result(self, result: JobResult) -> None:
        if not result.frames:
            self.preview.setText("Nothing was generated." + _skipped(result))
            return
        self.sheet = compose_sheet(result, self.columns.value())
        self.records = result.records
        self.preview.setPixmap(QPixmap.fromImage(self.sheet))
        self.save_button.setEnabled(True)
        note = " (cancelled)" if result.cancelled else ""
        self.setWindowTitle(f"Vary One Factor: {len(result.frames)} images{note}{_skipped(result)}")

    def save_dialog(self) -> None:
        if self.sheet is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Save Sheet", "sheet.png", "PNG images (*.png)",
            options=QFileDialog.Option.DontConfirmOverwrite,
        )  # fmt: skip
        if path:
            self.save(with_png_suffix(path))

    def save(self, path: Path) -> bool:
        if self.sheet is None or not confirm_overwrite(self, [path]):
            return False
        from engine import MixNMatchError, save_png

        combination, slot = self._job
        meta = build_metadata(combination, self.records, self.session.model_info, varying=slot)
        try:
            save_png(qimage_to_array(self.sheet), path, meta)
        except MixNMatchError as error:
            self.preview.setText(str(error))
            return False
        return True


def _skipped(result: JobResult) -> str:
    return f"; skipped {len(result.skipped)}" if result.skipped else ""
