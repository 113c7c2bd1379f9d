"""A small, cheap busy indicator (a rotating arc at 10 frames per second)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget


class BusyIndicatorWidget(QWidget):
    """Hidden when idle. Deliberately slow-ticking: an animated QProgressBar repaints so
    often that it starves the worker thread of the interpreter lock."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._angle = 0
        self._timer = QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._on_timer_timeout)
        self.setFixedSize(16, 16)
        self.setToolTip("Working…")
        self.setVisible(False)

    def set_busy(self, busy: bool) -> None:
        self.setVisible(busy)
        if busy:
            self._timer.start()
        else:
            self._timer.stop()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(16, 16)

    def _on_timer_timeout(self) -> None:
        self._angle = (self._angle + 45) % 360
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(self.palette().highlight().color(), 2)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(pen)
        p.drawArc(QRectF(2, 2, 12, 12), -self._angle * 16, 270 * 16)
