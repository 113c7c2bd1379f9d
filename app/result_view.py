"""The mixed image, large, plus a panel of the generator's layers."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QDrag,
    QFont,
    QIcon,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPixmap,
)
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem, QSizePolicy, QWidget

from .state import SLOT_LABELS, MixOutcome

LAYER_LABELS = {  # name -> (short label, description)
    "composite": ("Composite", "The final image"),
    "background": ("Background", "The background stage alone"),
    "parent": ("Parent", "Background plus the parent (shape) stage"),
    "child": ("Child", "Background, shape and the child (texture) stage: the result"),
    "parent_foreground": ("Parent fg", "The parent stage's foreground, masked"),
    "child_foreground": ("Child fg", "The child stage's foreground, masked"),
    "parent_mask": ("Parent mask", "Where the parent stage draws (white)"),
    "child_mask": ("Child mask", "Where the child stage draws (white)"),
}


class ResultView(QWidget):
    """Paints one image scaled to fit: smooth, or pixel-exact (integer zoom, nearest)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(260, 260)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._outcome: MixOutcome | None = None
        self._layer = "composite"
        self._pixel_exact = False
        self._busy = False
        self._message = "Loading the model…"
        self._press: QPoint | None = None
        self.setToolTip("The mixed image. Drag it onto a slot or into another application.")

    # -- state --------------------------------------------------------------------------------
    @property
    def outcome(self) -> MixOutcome | None:
        return self._outcome

    @property
    def layer(self) -> str:
        return self._layer

    def image(self) -> QImage | None:
        """The image on display (the composite or the selected layer)."""
        if self._outcome is None or not self._outcome.complete:
            return None
        if self._layer == "composite":
            return self._outcome.image
        return self._outcome.layers.get(self._layer, self._outcome.image)

    def set_outcome(self, outcome: MixOutcome) -> None:
        if outcome.complete:
            self._outcome = outcome
            self._message = ""
        else:
            names = [SLOT_LABELS[s] for s in outcome.missing]
            needed = ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]
            self._message = f"Add {needed} to mix"
            self._outcome = None
        self.update()

    def set_message(self, text: str) -> None:
        """Shown when there is no image to display."""
        self._message = text
        self.update()

    def set_layer(self, name: str) -> None:
        self._layer = name
        self.update()

    def set_pixel_exact(self, on: bool) -> None:
        self._pixel_exact = on
        self.update()

    def set_busy(self, on: bool) -> None:
        self._busy = on
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(520, 520)

    # -- painting -----------------------------------------------------------------------------
    def _target(self, image: QImage) -> QRectF:
        area = QRectF(self.rect()).adjusted(12, 12, -12, -12)
        w, h = image.width(), image.height()
        scale = min(area.width() / w, area.height() / h)
        if self._pixel_exact:
            dpr = self.devicePixelRatioF()
            scale = max(1, int(scale * dpr)) / dpr if scale * dpr >= 1 else scale
        tw, th = w * scale, h * scale
        return QRectF(
            round(area.x() + (area.width() - tw) / 2), round(area.y() + (area.height() - th) / 2),
            tw, th,
        )  # fmt: skip

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().base())
        image = self.image()
        if image is None:
            p.setPen(self.palette().placeholderText().color())
            font = QFont(self.font())
            font.setPointSizeF(font.pointSizeF() * 1.25)
            p.setFont(font)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._message)
        else:
            target = self._target(image)
            smooth = not self._pixel_exact
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
            p.fillRect(target.adjusted(-1, -1, 1, 1), QColor(0, 0, 0, 90))
            p.drawImage(target, image)
        if self._busy:
            self._paint_busy(p)

    def _paint_busy(self, p: QPainter) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        text = "Mixing…" if self._message == "" or self._outcome else self._message
        metrics = p.fontMetrics()
        w, h = metrics.horizontalAdvance(text) + 24, metrics.height() + 10
        pill = QRectF(self.width() - w - 18, 18, w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(20, 24, 32, 200))
        p.drawRoundedRect(pill, h / 2, h / 2)
        p.setPen(QColor("#e6edf3"))
        p.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)

    # -- drag out -----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position().toPoint()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        image = self.image()
        if self._press is None or image is None:
            return
        if (event.position().toPoint() - self._press).manhattanLength() < 8:
            return
        self._press = None
        mime = QMimeData()
        mime.setImageData(image)
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.setPixmap(QPixmap.fromImage(image).scaled(96, 96, Qt.AspectRatioMode.KeepAspectRatio))
        drag.exec(Qt.DropAction.CopyAction)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        self._press = None


class LayersPanelWidget(QListWidget):
    """A column of the composite and each layer; selecting one shows it in the result view."""

    layer_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.TopToBottom)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(44, 44))
        self.setGridSize(QSize(96, 74))
        self.setFixedWidth(108)
        self.setSpacing(0)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setUniformItemSizes(True)
        self.setToolTip("Layers of the generator: click one to view it large")
        for name, (label, tip) in LAYER_LABELS.items():
            item = QListWidgetItem(label)
            item.setToolTip(tip)
            item.setSizeHint(QSize(92, 70))
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            self.addItem(item)
            item.setHidden(True)  # until there is a result to show
        self.setCurrentRow(0)
        self.currentItemChanged.connect(self._on_current_item_changed)

    def set_outcome(self, outcome: MixOutcome) -> None:
        for row in range(self.count()):
            item = self.item(row)
            name = item.data(Qt.ItemDataRole.UserRole)
            image = outcome.image if name == "composite" else outcome.layers.get(name)
            item.setIcon(QIcon(QPixmap.fromImage(image)) if image is not None else QIcon())
            item.setHidden(image is None)

    def has_layers(self) -> bool:
        return any(not self.item(row).isHidden() for row in range(self.count()))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
        super().paintEvent(event)
        if self.has_layers():
            return
        p = QPainter(self.viewport())
        p.setPen(self.palette().placeholderText().color())
        p.drawText(
            self.viewport().rect().adjusted(6, 6, -6, -6),
            Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
            "Layers appear here after the first mix",
        )

    def current_layer(self) -> str:
        item = self.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else "composite"

    def _on_current_item_changed(self, item: QListWidgetItem | None, _previous) -> None:
        if item is not None:
            self.layer_selected.emit(item.data(Qt.ItemDataRole.UserRole))
