"""Example images as thumbnails: drag one onto a slot, or double-click to fill a slot."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QObject, QRunnable, QSize, Qt, QThreadPool, QUrl, Signal
from PySide6.QtGui import QIcon, QImage, QImageReader, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QWidget

from .resources import EXAMPLES, example_images, list_images

THUMB = 72
_PATH_ROLE = Qt.ItemDataRole.UserRole


class _ThumbRelay(QObject):
    loaded = Signal(int, int, QImage)  # generation, row, thumbnail


class _ThumbTask(QRunnable):
    def __init__(self, relay: _ThumbRelay, generation: int, paths: list[Path]) -> None:
        super().__init__()
        self._relay, self._generation, self._paths = relay, generation, paths

    def run(self) -> None:
        for row, path in enumerate(self._paths):
            reader = QImageReader(str(path))
            reader.setAutoTransform(True)
            size = reader.size()
            if size.isValid() and max(size.width(), size.height()) > THUMB * 2:
                reader.setScaledSize(
                    size.scaled(THUMB * 2, THUMB * 2, Qt.AspectRatioMode.KeepAspectRatio)
                )
            image = reader.read()
            if not image.isNull():
                self._relay.loaded.emit(self._generation, row, image)


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
        self._relay = _ThumbRelay(self)
        self._relay.loaded.connect(self._on_relay_loaded)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._generation = 0
        self.folder: Path | None = None
        self.itemDoubleClicked.connect(self._on_item_double_clicked)
        self.set_folder(folder)

    def set_folder(self, folder: Path | None) -> None:
        """Show ``folder`` (None = the bundled examples); a missing folder shows a hint."""
        self._generation += 1
        self.folder = Path(folder) if folder is not None else None
        paths = list_images(folder) if folder is not None else example_images()
        self.clear()
        placeholder = QPixmap(THUMB, THUMB)
        placeholder.fill(Qt.GlobalColor.transparent)
        for path in paths:
            item = QListWidgetItem(QIcon(placeholder), "")
            item.setData(_PATH_ROLE, str(path))
            item.setToolTip(path.name)
            self.addItem(item)
        if paths:
            self._pool.start(_ThumbTask(self._relay, self._generation, paths))
        self.viewport().update()

    def paths(self) -> list[str]:
        return [self.item(row).data(_PATH_ROLE) for row in range(self.count())]

    def wait(self, msecs: int = -1) -> bool:
        return self._pool.waitForDone(msecs)

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

    def _on_relay_loaded(self, generation: int, row: int, image: QImage) -> None:
        if generation == self._generation and row < self.count():
            self.item(row).setIcon(QIcon(QPixmap.fromImage(image)))

    def _on_item_double_clicked(self, item: QListWidgetItem) -> None:
        self.image_activated.emit(item.data(_PATH_ROLE))
