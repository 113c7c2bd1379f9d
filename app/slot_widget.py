"""One input slot (Background / Pose / Shape / Texture): image, crop box, code controls.

The widget only reports what the user asked for (signals); the window decides what changes,
so every change goes through the undo stack.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl, Signal
from PySide6.QtGui import (
    QDrag,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QMouseEvent,
    QPixmap,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .crop_view import CropView
from .icons import icon
from .qt_image import qimage_to_pil
from .resources import is_model_file
from .state import (
    SLOT_CODE_TIPS,
    SLOT_HINTS,
    SLOT_LABELS,
    SLOT_SUBTITLES,
    SLOTS,
    TYPE_NAMES,
    CodeChoice,
    SlotState,
)

SLOT_MIME = "application/x-mixnmatch-slot"
REMOTE_MESSAGE = (
    "{url}: images from the web cannot be fetched. Save the image to disk, then drop the file."
)


def mime_source(mime: QMimeData) -> tuple[str, object, str]:
    """Classify dropped or pasted data.

    Returns (kind, payload, name) with kind one of "slot", "file", "model", "image",
    "remote", "none".
    """
    if mime.hasFormat(SLOT_MIME):
        return "slot", bytes(mime.data(SLOT_MIME).data()).decode(), ""
    urls = mime.urls() if mime.hasUrls() else []
    local = [u for u in urls if u.isLocalFile()]
    if local:
        path = local[0].toLocalFile()
        return ("model" if is_model_file(path) else "file"), path, Path(path).name
    if mime.hasImage():
        image = mime.imageData()
        if isinstance(image, QImage) and not image.isNull():
            return "image", qimage_to_pil(image), "pasted image"
    if urls:
        return "remote", urls[0].toString(), ""
    if mime.hasText():
        text = mime.text().strip()
        url = QUrl(text)
        if url.isLocalFile():
            text = url.toLocalFile()
        if text.startswith(("http://", "https://", "ftp://")):
            return "remote", text, ""
        if text and "\n" not in text and Path(text).expanduser().exists():
            path = str(Path(text).expanduser())
            return ("model" if is_model_file(path) else "file"), path, Path(path).name
    return "none", None, ""


class _ElidedLabelWidget(QLabel):
    """A one-line label that elides its text in the middle instead of clipping it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""

    def setText(self, text: str) -> None:  # noqa: N802 (Qt API)
        self._full = text
        self._elide()

    def text(self) -> str:
        return self._full

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        elided = self.fontMetrics().elidedText(
            self._full, Qt.TextElideMode.ElideMiddle, self.width()
        )
        super().setText(elided)


class _HeaderWidget(QFrame):
    """The slot's title bar; dragging it drags the slot's reference to another slot."""

    drag_started = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._press: QPoint | None = None
        self.setCursor(Qt.CursorShape.OpenHandCursor)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position().toPoint()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        start = self._press
        if start is not None and (
            (event.position().toPoint() - start).manhattanLength()
            >= QGuiApplication.styleHints().startDragDistance()
        ):
            self._press = None
            self.drag_started.emit()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        self._press = None
        super().mouseReleaseEvent(event)


class SlotWidget(QFrame):
    """A labelled drop target showing one reference and its crop box."""

    image_offered = Signal(str, object, str)  # slot, path | PIL image, display name
    model_offered = Signal(str)  # a model file was dropped here
    slot_dropped = Signal(str, str, bool)  # source slot, target slot, swap
    rejected = Signal(str)  # a message for the user
    browse_requested = Signal(str)
    clear_requested = Signal(str)
    reroll_requested = Signal(str)
    code_picked = Signal(str, object)  # slot, CodeChoice | None
    box_edited = Signal(str, object)  # slot, (x, y, w, h)
    crop_mode_changed = Signal(str, str)  # slot, "object" | "whole"

    def __init__(self, slot: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slot = slot
        self.state = SlotState()
        self._top_k: tuple[tuple[int, float], ...] = ()
        self._disabled_reason = ""
        self.setObjectName(f"slot_{slot}")
        self.setProperty("slotCard", True)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip(SLOT_HINTS[slot])
        self._build()
        self.set_state(self.state)

    def _build(self) -> None:
        number = SLOTS.index(self.slot) + 1
        self.header = _HeaderWidget(self)
        self.header.setObjectName("slotHeader")
        self.header.setToolTip(
            "Drag this bar onto another slot to copy the image there "
            "(hold Shift or Alt to swap the two slots)."
        )
        self.header.drag_started.connect(self._on_header_drag_started)
        self.title = QLabel(f"<b>{SLOT_LABELS[self.slot]}</b>", self.header)
        badge = QLabel(str(number), self.header)
        badge.setObjectName("slotBadge")
        badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        badge.setToolTip(f"Press {number} to select this slot")
        self.factor = QLabel(SLOT_SUBTITLES[self.slot], self.header)
        self.factor.setObjectName("slotFactor")
        self.factor.setToolTip(SLOT_CODE_TIPS[self.slot])
        self.factor.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.factor.setMinimumWidth(0)
        self.open_button = self._tool_button("open", "Open an image file (double-click the image)")
        self.open_button.clicked.connect(lambda: self.browse_requested.emit(self.slot))
        self.whole_button = QToolButton(self)
        self.whole_button.setText("Whole")
        self.whole_button.setCheckable(True)
        self.whole_button.setAutoRaise(True)
        self.whole_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.whole_button.setToolTip(
            "Whole image: feed the whole image resized to the model's resolution (aspect not "
            "kept, nothing cut), the released evaluation's preprocessing; the box is ignored."
        )
        self.whole_button.toggled.connect(
            lambda on: self.crop_mode_changed.emit(self.slot, "whole" if on else "object")
        )
        self.clear_button = self._tool_button("clear", "Clear this slot (Delete)")
        self.clear_button.clicked.connect(lambda: self.clear_requested.emit(self.slot))
        head = QHBoxLayout(self.header)
        head.setContentsMargins(6, 4, 4, 4)
        head.setSpacing(6)
        head.addWidget(badge)
        head.addWidget(self.title)
        head.addWidget(self.factor, 1)
        head.addWidget(self.open_button)
        head.addWidget(self.clear_button)

        self.view = CropView(self)
        self.view.clicked.connect(lambda: self.browse_requested.emit(self.slot))
        self.view.double_clicked.connect(lambda: self.browse_requested.emit(self.slot))
        self.view.box_edited.connect(lambda box: self.box_edited.emit(self.slot, box))
        self.view.setToolTip(
            "Drag on the image to draw the box around the bird; drag the box or its handles "
            "to adjust it."
        )
        self.name_label = _ElidedLabelWidget(self)
        self.name_label.setObjectName("slotName")
        self.name_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self.picker = QComboBox(self)
        kind = TYPE_NAMES.get(self.slot, "pose")
        self.picker.setToolTip(
            f"What this slot gives: what the model reads from the image, or one of the {kind}s "
            "it found most likely (the model learned these types by itself; their numbers "
            "have no meaning beyond this model)."
        )
        self.picker.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.picker.setMinimumContentsLength(10)
        self.picker.activated.connect(self._on_picker_activated)
        self.dice = self._tool_button("dice", "Re-roll: replace this factor with a random one (R)")
        self.dice.clicked.connect(lambda: self.reroll_requested.emit(self.slot))
        self.seed_label = QLabel(self)
        self.seed_label.setObjectName("seedLabel")
        self.seed_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.seed_label.setToolTip("Seed of the last re-roll (select to copy)")
        foot = QHBoxLayout()
        foot.setSpacing(4)
        foot.addWidget(self.picker, 1)
        foot.addWidget(self.whole_button)
        foot.addWidget(self.seed_label)
        foot.addWidget(self.dice)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(1, 1, 1, 6)
        layout.setSpacing(4)
        layout.addWidget(self.header)
        body = QVBoxLayout()
        body.setContentsMargins(6, 0, 6, 0)
        body.setSpacing(4)
        body.addWidget(self.view, 1)
        body.addWidget(self.name_label)
        body.addLayout(foot)
        layout.addLayout(body, 1)

    def _tool_button(self, name: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setIcon(icon(name))
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return button

    # -- view updates (never change the model) ------------------------------------------------
    def set_state(self, state: SlotState) -> None:
        image_changed = state.uid != self.state.uid or self.view._preview is None
        self.state = state
        if image_changed or state.image is None:
            size = state.image.size if state.image is not None else (0, 0)
            self.view.set_image(state.preview, size, state.effective_box)
        else:
            self.view.set_box(state.effective_box)
        if state.image is not None:
            w, h = state.image.size
            self.name_label.setText(f"{w}×{h}  ·  {state.name}")
            self.name_label.setToolTip(state.source or state.name)
        else:
            self.name_label.setText("")
            self.name_label.setToolTip("")
        self.view.set_placeholder(self._placeholder_text())
        self.clear_button.setEnabled(not state.is_empty)
        self.whole_button.blockSignals(True)
        self.whole_button.setChecked(state.crop == "whole")
        self.whole_button.blockSignals(False)
        self.whole_button.setEnabled(state.image is not None)
        if state.image is None:
            self._top_k = ()
        self._refresh_picker()

    def set_report(self, top_k: tuple[tuple[int, float], ...], crop) -> None:
        """Encoder predictions and the effective crop for the current image."""
        self.view.set_crop(crop)
        if tuple(top_k) != self._top_k:
            self._top_k = tuple(top_k)
            self._refresh_picker()

    def set_disabled_reason(self, reason: str) -> None:
        """Grey the slot out with ``reason`` (empty string re-enables it)."""
        self._disabled_reason = reason
        enabled = not reason
        for child in (self.view, self.picker, self.dice, self.seed_label, self.name_label):
            child.setEnabled(enabled)
        self.setProperty("disabledSlot", not enabled)
        self.factor.setText("not used" if reason else SLOT_SUBTITLES[self.slot])
        self.view.set_placeholder(self._placeholder_text())
        self.style().unpolish(self)
        self.style().polish(self)
        self.update()

    def _placeholder_text(self) -> str:
        if self._disabled_reason:
            return self._disabled_reason
        if self.state.code is not None:
            return f"No image\n{self.state.code.describe(self.slot)}"
        return "Drop an image here\nor click to open one\n\nCtrl+V pastes"

    @property
    def disabled_reason(self) -> str:
        return self._disabled_reason

    def _refresh_picker(self) -> None:
        picker, code = self.picker, self.state.code
        picker.blockSignals(True)
        picker.clear()
        if self.slot == "pose":
            picker.addItem("Pose from image" if self.state.image is not None else "No pose", None)
        else:
            kind = TYPE_NAMES[self.slot].capitalize()
            picker.addItem("From image" if self.state.image is not None else "—", None)
            if self._top_k:
                index, prob = self._top_k[0]
                picker.setItemData(
                    0, f"Read from the image: most like {kind.lower()} {index} ({prob:.0%})",
                    Qt.ItemDataRole.ToolTipRole,
                )  # fmt: skip
            for index, prob in self._top_k:
                picker.addItem(f"{kind} {index} · {prob:.0%}", CodeChoice("index", index))
        if code is not None:
            found = next(
                (i for i in range(picker.count()) if picker.itemData(i) == code),
                -1,
            )
            if found < 0:
                label = (
                    f"Random · seed {code.value}"
                    if code.kind == "seed"
                    else code.describe(self.slot).capitalize()
                )
                picker.addItem(label, code)
                found = picker.count() - 1
            picker.setCurrentIndex(found)
        picker.setEnabled(picker.count() > 1 and not self._disabled_reason)
        picker.blockSignals(False)
        self.seed_label.setText(f"seed {code.value}" if code and code.kind == "seed" else "")

    def _on_picker_activated(self, index: int) -> None:
        choice = self.picker.itemData(index)
        if choice != self.state.code:
            self.code_picked.emit(self.slot, choice)

    # -- drag and drop -------------------------------------------------------------------------
    def _on_header_drag_started(self) -> None:
        if self.state.is_empty:
            return
        mime = QMimeData()
        mime.setData(SLOT_MIME, self.slot.encode())
        if self.state.source:
            mime.setUrls([QUrl.fromLocalFile(self.state.source)])
        drag = QDrag(self)
        drag.setMimeData(mime)
        if self.state.preview is not None:
            drag.setPixmap(QPixmap.fromImage(self.state.preview).scaled(
                72, 72, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            ))  # fmt: skip
        drag.exec(Qt.DropAction.CopyAction | Qt.DropAction.MoveAction)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt API)
        mime = event.mimeData()
        if self._disabled_reason or not (
            mime.hasUrls() or mime.hasImage() or mime.hasText() or mime.hasFormat(SLOT_MIME)
        ):
            event.ignore()
            return
        if mime.hasFormat(SLOT_MIME) and bytes(mime.data(SLOT_MIME).data()).decode() == self.slot:
            event.ignore()
            return
        event.acceptProposedAction()
        self._set_drop_highlight(True)

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:  # noqa: N802 (Qt API)
        self._set_drop_highlight(False)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt API)
        self._set_drop_highlight(False)
        swap = bool(
            event.modifiers()
            & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.AltModifier)
        )
        if self.accept_mime(event.mimeData(), swap=swap):
            event.acceptProposedAction()
        else:
            event.ignore()

    def accept_mime(self, mime: QMimeData, swap: bool = False) -> bool:
        """Handle dropped or pasted data; returns False if there was nothing usable."""
        kind, payload, name = mime_source(mime)
        if kind == "slot":
            if payload in SLOTS and payload != self.slot:
                self.slot_dropped.emit(payload, self.slot, swap)
            return True
        if kind == "file":
            self.image_offered.emit(self.slot, payload, name)
        elif kind == "image":
            self.image_offered.emit(self.slot, payload, name)
        elif kind == "model":
            self.model_offered.emit(payload)
        elif kind == "remote":
            self.rejected.emit(REMOTE_MESSAGE.format(url=_short(payload)))
        else:
            self.rejected.emit("Nothing to use here: drop or paste an image or an image file.")
            return False
        return True

    def _set_drop_highlight(self, on: bool) -> None:
        self.setProperty("dropTarget", on)
        self.style().unpolish(self)
        self.style().polish(self)


def _short(url: str, limit: int = 60) -> str:
    return url if len(url) <= limit else url[: limit - 1] + "…"
