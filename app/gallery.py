"""Image thumbnails (the examples or the user's folders): drag one onto a slot, or double-click.

With a model trained on SynthBirds, SynthBirds examples come first and the real photos are
marked as out of domain (and the other way round for a model trained on photos).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QSettings, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QImageReader, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QListView,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .icons import icon
from .off_thread import BackgroundRunner
from .resources import EXAMPLES, example_images, list_images

THUMB = 72
_PATH_ROLE = Qt.ItemDataRole.UserRole
_FOREIGN_ROLE = Qt.ItemDataRole.UserRole + 1  # True: out of the model's domain
DOMAIN_PREFIXES = {"synth_": "synthbirds", "cub_": "real"}  # example file name -> domain
FOREIGN_TIPS = {
    "real": "Real photo: out of domain for this model, which has only seen SynthBirds renders",
    "synthbirds": "SynthBirds render: out of domain for this model, which was trained on photos",
}


def image_domain(path: Path) -> str:
    """ "synthbirds" or "real" for the bundled examples, "" for other images."""
    return next((d for p, d in DOMAIN_PREFIXES.items() if path.name.startswith(p)), "")


def in_domain_first(paths: list[Path], domain: str) -> list[Path]:
    """Images of ``domain`` (or unknown) first, the others after; each group keeps its order."""
    return sorted(paths, key=lambda p: image_domain(p) not in ("", domain))


def _marked(image: QImage, text: str) -> QImage:
    """The thumbnail with a dark band and ``text`` along its bottom edge."""
    marked = image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
    p = QPainter(marked)
    band = max(14, marked.height() // 5)
    p.fillRect(0, marked.height() - band, marked.width(), band, QColor(0, 0, 0, 170))
    font = p.font()
    font.setPixelSize(int(band * 0.7))
    p.setFont(font)
    p.setPen(QColor("#ffffff"))
    p.drawText(0, marked.height() - band, marked.width(), band, Qt.AlignmentFlag.AlignCenter, text)
    p.end()
    return marked


def read_thumbnail(path: Path) -> QImage | None:
    """The image at ``path`` decoded at about twice the thumbnail size; None if unreadable."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > THUMB * 2:
        reader.setScaledSize(size.scaled(THUMB * 2, THUMB * 2, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    return None if image.isNull() else image


class GalleryWidget(QListWidget):
    """Thumbnails of the images in a folder (resources/examples by default)."""

    image_activated = Signal(str)  # path of a double-clicked image

    def __init__(self, folder: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setGridSize(QSize(THUMB + 14, THUMB + 14))
        self.setUniformItemSizes(True)
        self.setSpacing(2)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setToolTip("Drag an example onto a slot, or double-click it to fill the selected slot")
        self._runner = BackgroundRunner(self)
        self._runner.finished.connect(self._on_runner_finished)
        self._rows: dict[int, int] = {}  # token of a thumbnail being read -> its row
        self.folder: Path | None = None
        self.domain = "synthbirds"  # the bundled model's, until a model says otherwise
        self.itemDoubleClicked.connect(self._on_item_double_clicked)
        self.set_folder(folder)

    def set_domain(self, domain: str) -> None:
        """The loaded model's domain ("synthbirds" or "real"): reorder and mark the images."""
        if domain != self.domain:
            self.domain = domain
            self.set_folder(self.folder)

    def set_folder(self, folder: Path | None) -> None:
        """Show ``folder`` (None = the bundled examples); a missing folder shows a hint."""
        self._runner.drop_queued()
        self._rows = {}
        self.folder = Path(folder) if folder is not None else None
        paths = list_images(folder) if folder is not None else example_images()
        paths = in_domain_first(paths, self.domain)
        self.clear()
        placeholder = QPixmap(THUMB, THUMB)
        placeholder.fill(Qt.GlobalColor.transparent)
        for path in paths:
            item = QListWidgetItem(QIcon(placeholder), "")
            item.setData(_PATH_ROLE, str(path))
            foreign = image_domain(path) not in ("", self.domain)
            item.setData(_FOREIGN_ROLE, foreign)
            tip = f"{path.name}\n{FOREIGN_TIPS[image_domain(path)]}" if foreign else path.name
            item.setToolTip(tip)
            self.addItem(item)
        for row, path in enumerate(paths):
            self._rows[self._runner.run(read_thumbnail, path)] = row
        self.viewport().update()

    def paths(self) -> list[str]:
        return [self.item(row).data(_PATH_ROLE) for row in range(self.count())]

    def out_of_domain(self) -> list[str]:
        """Paths marked as out of the model's domain."""
        return [p for row, p in enumerate(self.paths()) if self.item(row).data(_FOREIGN_ROLE)]

    def wait(self, msecs: int = -1) -> bool:
        return self._runner.wait(msecs)

    def mimeData(self, items: list[QListWidgetItem]) -> QMimeData:  # noqa: N802 (Qt API)
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(item.data(_PATH_ROLE)) for item in items])
        return mime

    def mimeTypes(self) -> list[str]:  # noqa: N802 (Qt API)
        return ["text/uri-list"]

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
        super().paintEvent(event)
        if self.count():
            return
        where = self.folder if self.folder is not None else EXAMPLES
        p = QPainter(self.viewport())
        p.setPen(self.palette().placeholderText().color())
        p.drawText(
            self.viewport().rect().adjusted(8, 8, -8, -8),
            Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
            f"No images in\n{where.name or where}",
        )

    def _on_runner_finished(self, token: int, image: QImage | None) -> None:
        row = self._rows.pop(token, None)
        if image is not None and row is not None and row < self.count():
            item = self.item(row)
            if item.data(_FOREIGN_ROLE):
                image = _marked(image, "real photo" if self.domain != "real" else "synthetic")
            item.setIcon(QIcon(QPixmap.fromImage(image)))

    def _on_item_double_clicked(self, item: QListWidgetItem) -> None:
        self.image_activated.emit(item.data(_PATH_ROLE))


class GalleryPanel(QWidget):
    """The gallery with a folder picker: the examples or one of the user's folders.

    The user's folders and the one on show are remembered in ``settings``.
    """

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.folder_box = QComboBox(self)
        self.folder_box.setToolTip("Which images to show: the examples or one of your folders")
        self.folder_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.folder_box.setMinimumContentsLength(10)
        self.add_button = self._button("open", "Add a folder of your own images")
        self.add_button.clicked.connect(self.add_folder_dialog)
        self.remove_button = self._button("clear", "Remove this folder from the list")
        self.remove_button.clicked.connect(self.remove_current_folder)
        self.gallery = GalleryWidget(parent=self)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        row.addWidget(self.folder_box, 1)
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(row)
        layout.addWidget(self.gallery, 1)
        self._fill(self.settings.value("gallery/current", "") or "")
        self.folder_box.currentIndexChanged.connect(self._on_folder_box_changed)

    def _button(self, name: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setIcon(icon(name))
        button.setToolTip(tip)
        button.setAutoRaise(True)
        return button

    def folders(self) -> list[str]:
        value = self.settings.value("gallery/folders", [])
        return [str(v) for v in ([value] if isinstance(value, str) else value or [])]

    def _fill(self, current: str) -> None:
        self.folder_box.blockSignals(True)
        self.folder_box.clear()
        self.folder_box.addItem("Examples", "")
        for folder in self.folders():
            self.folder_box.addItem(Path(folder).name or folder, folder)
            self.folder_box.setItemData(
                self.folder_box.count() - 1, folder, Qt.ItemDataRole.ToolTipRole
            )
        index = max(0, self.folder_box.findData(current))
        self.folder_box.setCurrentIndex(index)
        self.folder_box.blockSignals(False)
        self._show(self.folder_box.currentData())

    def _show(self, folder: str) -> None:
        self.settings.setValue("gallery/current", folder)
        self.remove_button.setEnabled(bool(folder))
        self.gallery.set_folder(Path(folder) if folder else None)

    def add_folder(self, folder: str | Path) -> None:
        """Add ``folder`` to the list (once) and show it."""
        folder = str(Path(folder).expanduser())
        folders = self.folders()
        if folder not in folders:
            self.settings.setValue("gallery/folders", folders + [folder])
        self._fill(folder)

    def add_folder_dialog(self) -> None:
        start = self.settings.value("paths/images", str(Path.home()))
        folder = QFileDialog.getExistingDirectory(self, "Add Image Folder", start)
        if folder:
            self.add_folder(folder)

    def remove_current_folder(self) -> None:
        folder = self.folder_box.currentData()
        if folder:
            self.settings.setValue("gallery/folders", [f for f in self.folders() if f != folder])
            self._fill("")

    def _on_folder_box_changed(self, _index: int) -> None:
        self._show(self.folder_box.currentData())
