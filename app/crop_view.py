"""A reference image with an editable crop box (draw, move, resize with eight handles)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from .state import Box

HANDLE = 7.0  # handle size in widget pixels
MIN_BOX = 8  # smallest box side in image pixels
ACCENT = QColor("#4da3ff")
_CURSORS = {
    "tl": Qt.CursorShape.SizeFDiagCursor,
    "br": Qt.CursorShape.SizeFDiagCursor,
    "tr": Qt.CursorShape.SizeBDiagCursor,
    "bl": Qt.CursorShape.SizeBDiagCursor,
    "t": Qt.CursorShape.SizeVerCursor,
    "b": Qt.CursorShape.SizeVerCursor,
    "l": Qt.CursorShape.SizeHorCursor,
    "r": Qt.CursorShape.SizeHorCursor,
    "move": Qt.CursorShape.SizeAllCursor,
    "draw": Qt.CursorShape.CrossCursor,
}


class CropView(QWidget):
    """Shows ``preview`` scaled to fit; the box is kept in full-image pixel coordinates."""

    box_edited = Signal(object)  # (x, y, w, h) after a drag ends
    clicked = Signal()  # click on an empty view
    double_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setMinimumSize(150, 150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._preview: QImage | None = None
        self._image_size = (0, 0)
        self._box: QRectF | None = None  # image coordinates
        self._crop: QRectF | None = None  # effective square crop reported by the engine
        self._placeholder = ""
        self._drag: tuple[str, QPointF, QRectF] | None = None  # mode, start (image), box
        self._pressed_empty = False

    # -- state --------------------------------------------------------------------------------
    def set_image(self, preview: QImage | None, size: tuple[int, int], box: Box | None) -> None:
        self._preview = preview
        self._image_size = size if preview is not None else (0, 0)
        self._box = QRectF(*box) if box and preview is not None else None
        self._crop = None
        self._drag = None
        self.update()

    def set_box(self, box: Box | None) -> None:
        self._box = QRectF(*box) if box and self._preview is not None else None
        self.update()

    def set_crop(self, crop: tuple[int, int, int, int] | None) -> None:
        """The square the engine actually feeds the encoder (left, top, right, bottom)."""
        self._crop = (
            QRectF(crop[0], crop[1], crop[2] - crop[0], crop[3] - crop[1]) if crop else None
        )
        self.update()

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    def box(self) -> Box | None:
        if self._box is None:
            return None
        r = self._box
        return (round(r.x()), round(r.y()), round(r.width()), round(r.height()))

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(240, 240)

    # -- geometry -----------------------------------------------------------------------------
    def _target(self) -> QRectF:
        w, h = self._image_size
        if not w or not h:
            return QRectF()
        area = QRectF(self.rect()).adjusted(4, 4, -4, -4)
        scale = min(area.width() / w, area.height() / h)
        tw, th = w * scale, h * scale
        return QRectF(
            area.x() + (area.width() - tw) / 2, area.y() + (area.height() - th) / 2, tw, th
        )

    def _scale(self) -> float:
        target = self._target()
        return target.width() / self._image_size[0] if self._image_size[0] else 1.0

    def _to_widget(self, rect: QRectF) -> QRectF:
        t, s = self._target(), self._scale()
        return QRectF(
            t.x() + rect.x() * s, t.y() + rect.y() * s, rect.width() * s, rect.height() * s
        )

    def _to_image(self, pos: QPointF) -> QPointF:
        t, s = self._target(), self._scale()
        w, h = self._image_size
        x = min(max((pos.x() - t.x()) / s, 0.0), float(w))
        y = min(max((pos.y() - t.y()) / s, 0.0), float(h))
        return QPointF(x, y)

    def _handle_rects(self) -> dict[str, QRectF]:
        if self._box is None:
            return {}
        r = self._to_widget(self._box)
        xs = {"l": r.left(), "c": r.center().x(), "r": r.right()}
        ys = {"t": r.top(), "c": r.center().y(), "b": r.bottom()}
        spots = {
            "tl": ("l", "t"), "t": ("c", "t"), "tr": ("r", "t"), "r": ("r", "c"),
            "br": ("r", "b"), "b": ("c", "b"), "bl": ("l", "b"), "l": ("l", "c"),
        }  # fmt: skip
        half = HANDLE / 2 + 2
        return {
            name: QRectF(xs[sx] - half, ys[sy] - half, 2 * half, 2 * half)
            for name, (sx, sy) in spots.items()
        }

    def _hit(self, pos: QPointF) -> str:
        for name, rect in self._handle_rects().items():
            if rect.contains(pos):
                return name
        if self._box is not None and self._to_widget(self._box).contains(pos):
            return "move"
        return "draw"

    # -- painting -----------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        if self._preview is None:
            self._paint_placeholder(p)
            return
        target = self._target()
        p.drawImage(target, self._preview)
        if not self.isEnabled() and self._placeholder:  # e.g. pose unused in feature mode
            p.fillRect(target, QColor(20, 24, 30, 190))
            p.setPen(QColor("#e6edf3"))
            flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
            p.drawText(target.adjusted(8, 8, -8, -8), flags, self._placeholder)
            return
        if self._box is None:
            return
        box = self._to_widget(self._box)
        shade = QPainterPath()
        shade.addRect(target)
        inner = QPainterPath()
        inner.addRect(box)
        p.fillPath(shade.subtracted(inner), QColor(0, 0, 0, 110 if self.isEnabled() else 40))
        if self._crop is not None:
            p.setPen(QPen(QColor(255, 255, 255, 150), 1, Qt.PenStyle.DashLine))
            p.drawRect(self._to_widget(self._crop).intersected(target))
        if not self.isEnabled():
            return
        p.setPen(QPen(QColor(0, 0, 0, 160), 3))
        p.drawRect(box)
        p.setPen(QPen(ACCENT, 1.5))
        p.drawRect(box)
        p.setPen(QPen(QColor(0, 0, 0, 180), 1))
        p.setBrush(QColor("white"))
        for rect in self._handle_rects().values():
            c = rect.center()
            p.drawRect(QRectF(c.x() - HANDLE / 2, c.y() - HANDLE / 2, HANDLE, HANDLE))

    def _paint_placeholder(self, p: QPainter) -> None:
        rect = QRectF(self.rect()).adjusted(6, 6, -6, -6)
        color = self.palette().placeholderText().color()
        p.setPen(QPen(color, 1.5, Qt.PenStyle.DashLine))
        p.drawRoundedRect(rect, 10, 10)
        p.setPen(color)
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._placeholder)

    # -- mouse --------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        if self._preview is None:
            self._pressed_empty = True
            return
        pos = event.position()
        if not self._target().contains(pos) and self._hit(pos) == "draw":
            return
        box = QRectF(self._box) if self._box is not None else QRectF()
        self._drag = (self._hit(pos), self._to_image(pos), box)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        pos = event.position()
        if self._drag is None:
            cursor = _CURSORS[self._hit(pos)] if self._preview is not None else None
            if cursor is None:
                self.unsetCursor()
            else:
                self.setCursor(cursor)
            return
        mode, start, box = self._drag
        now = self._to_image(pos)
        self._box = self._dragged_box(mode, start, box, now)
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mouseReleaseEvent(event)
        if self._pressed_empty:
            self._pressed_empty = False
            if self._preview is None and self.rect().contains(event.position().toPoint()):
                self.clicked.emit()
            return
        if self._drag is None:
            return
        _, _, before = self._drag
        self._drag = None
        box = self.box()
        if box is not None and (box[2] < MIN_BOX or box[3] < MIN_BOX):
            self._box = before if not before.isNull() else None  # a click, not a drag
            self.update()
            return
        if self._box is not None and self._box != before:
            self.box_edited.emit(box)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag = None
            self.double_clicked.emit()

    def _dragged_box(self, mode: str, start: QPointF, box: QRectF, now: QPointF) -> QRectF:
        w, h = self._image_size
        if mode == "draw":
            return QRectF(start, now).normalized()
        if mode == "move":
            dx = min(max(now.x() - start.x(), -box.left()), w - box.right())
            dy = min(max(now.y() - start.y(), -box.top()), h - box.bottom())
            return box.translated(dx, dy)
        left, top, right, bottom = box.left(), box.top(), box.right(), box.bottom()
        if "l" in mode:
            left = min(now.x(), right - MIN_BOX)
        if "r" in mode:
            right = max(now.x(), left + MIN_BOX)
        if mode in ("t", "tl", "tr"):
            top = min(now.y(), bottom - MIN_BOX)
        if mode in ("b", "bl", "br"):
            bottom = max(now.y(), top + MIN_BOX)
        return QRectF(QPointF(left, top), QPointF(right, bottom))
