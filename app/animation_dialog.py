"""Animate one factor: interpolate between two references, or follow a GIF's frames."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from .export import confirm_overwrite
from .job_dialog import JobDialog
from .resources import IMAGE_SUFFIXES
from .state import SLOT_LABELS, SLOTS
from .worker import JobResult

if TYPE_CHECKING:
    from .session import Session

ANIMATION_FILTER = "Animated GIF (*.gif);;Animated PNG (*.png)"


def write_animation(frames: list, path: Path, fps: int, scale: int = 1) -> None:
    """Write (S, S, 3) uint8 frames as an endlessly looping GIF or APNG (by suffix)."""
    images = [Image.fromarray(f) for f in frames]
    if scale > 1:
        images = [im.resize((im.width * scale, im.height * scale), Image.Resampling.LANCZOS)
                  for im in images]  # fmt: skip
    duration = max(1, round(1000 / fps))
    fmt = "PNG" if path.suffix.lower() == ".png" else "GIF"
    images[0].save(path, format=fmt, save_all=True, append_images=images[1:],
                   duration=duration, loop=0)  # fmt: skip


class AnimationDialog(JobDialog):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, "Animate One Factor", parent)
        self.resize(560, 600)
        self.frames: list = []
        self.target_path: str = ""
        self._shown = 0
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._on_timer_timeout)

        self.kind = QComboBox(self)
        self.kind.addItem("Between the slot's image and another image", "interpolate")
        self.kind.addItem("Follow the frames of an animated GIF", "frames")
        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        self.factor = QComboBox(self)
        for slot in SLOTS:
            self.factor.addItem(SLOT_LABELS[slot], slot)
        self.factor.setCurrentIndex(SLOTS.index(session.selected_slot or "pose"))
        self.pick_button = QPushButton("Choose…", self)
        self.pick_button.clicked.connect(self._choose_target)
        self.target_label = QLabel("no file chosen", self)
        target = QHBoxLayout()
        target.addWidget(self.pick_button)
        target.addWidget(self.target_label, 1)
        self.steps = QSpinBox(self)
        self.steps.setRange(2, 120)
        self.steps.setValue(24)
        self.fps = QSpinBox(self)
        self.fps.setRange(1, 50)
        self.fps.setValue(12)
        self.fps.valueChanged.connect(lambda v: self.timer.setInterval(round(1000 / v)))
        self.bounce = QCheckBox("Play forwards then backwards", self)
        self.bounce.setChecked(True)
        form = QFormLayout()
        form.addRow("Animate", self.kind)
        form.addRow("Factor", self.factor)
        form.addRow("Image or GIF", target)
        form.addRow("Steps", self.steps)
        form.addRow("Frames per second", self.fps)
        form.addRow("", self.bounce)

        self._add_job_controls(
            form, "The other slots stay as they are in the main window.", "Export GIF/APNG…"
        )
        self.preview.setMinimumSize(300, 300)
        self._on_kind_changed()

    def _on_kind_changed(self) -> None:
        frames = self.kind.currentData() == "frames"
        self.steps.setEnabled(not frames)
        feature = self.session.combination.mode == "feature"
        model = self.factor.model()
        for slot in SLOTS:
            allowed = slot in ("pose", "shape") if frames else True
            if feature and slot == "pose":
                allowed = False
            model.item(SLOTS.index(slot)).setEnabled(allowed)
        if not model.item(self.factor.currentIndex()).isEnabled():
            self.factor.setCurrentIndex(SLOTS.index("shape"))

    def _choose_target(self) -> None:
        suffixes = " ".join(f"*{s}" for s in IMAGE_SUFFIXES)
        path, _ = QFileDialog.getOpenFileName(self, "Choose an image", "", f"Images ({suffixes})")
        if path:
            self.target_path = path
            self.target_label.setText(Path(path).name)

    def generate(self) -> None:
        slot, session = self.factor.currentData(), self.session
        if not self.target_path:
            self.preview.setText("Choose an image (or a GIF) first.")
            return
        if session.model_info is None:
            self.preview.setText("No model loaded yet.")
            return
        if self.kind.currentData() == "frames":
            fields = {"kind": "sweep", "frames_of": self.target_path}
        else:
            start = session.combination[slot]
            if start.image is None:
                self.preview.setText(f"Put an image in the {SLOT_LABELS[slot]} slot first.")
                return
            fields = {
                "kind": "interpolate", "sources": (start, self.target_path),  # start keeps its crop
                "names": (start.name, Path(self.target_path).name), "steps": self.steps.value(),
            }  # fmt: skip
        self._start_job(slot=slot, combination=session.combination, **fields)
        self.timer.stop()

    def _show_result(self, result: JobResult) -> None:
        frames = list(result.frames)
        if self.bounce.isChecked() and len(frames) > 2:
            frames += frames[-2:0:-1]
        self.frames = frames
        self.save_button.setEnabled(bool(frames))
        if not frames:
            self.preview.setText("Nothing was generated.")
            return
        self._shown = 0
        self.timer.start(round(1000 / self.fps.value()))
        self._on_timer_timeout()

    def _on_timer_timeout(self) -> None:
        if not self.frames:
            return
        frame = self.frames[self._shown % len(self.frames)]
        self._shown += 1
        side = min(self.preview.width(), self.preview.height()) - 8
        pixmap = QPixmap.fromImage(frame.image).scaled(
            side,
            side,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.preview.setPixmap(pixmap)

    def save_dialog(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export Animation", "animation.gif", ANIMATION_FILTER,
            options=QFileDialog.Option.DontConfirmOverwrite,
        )  # fmt: skip
        if not path:
            return
        path = Path(path)
        if path.suffix.lower() not in (".gif", ".png"):
            path = path.with_name(path.name + (".png" if "PNG" in chosen else ".gif"))
        self.export(path)

    def export(self, path: Path) -> bool:
        if not self.frames or not confirm_overwrite(self, [path]):
            return False
        try:
            write_animation([f.array for f in self.frames], path, self.fps.value(),
                            self.session.export_scale())  # fmt: skip
        except OSError as error:
            self.preview.setText(f"Not saved: {error}")
            return False
        self.session.notify(f"Saved {path}")
        return True

    def done(self, result: int) -> None:  # noqa: D401 (Qt API)
        self.timer.stop()
        super().done(result)
