"""Plain data the UI passes around: one slot's reference, a full combination, mix outcomes.

Everything here is immutable, so a snapshot can be sent to the worker thread, stored in the
undo stack or in the recent-results strip without copying.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from PIL import Image
from PySide6.QtGui import QImage

from engine import MODES, SLOT_FACTOR, SLOTS  # noqa: F401 (engine.vocabulary: torch-free)

if TYPE_CHECKING:
    from engine import InputRecord, Reference

SLOT_LABELS = {"background": "Background", "pose": "Pose", "shape": "Shape", "texture": "Texture"}
SLOT_HINTS = {
    "background": "The scene behind the bird comes from this image.",
    "pose": "The bird's pose and position come from this image.",
    "shape": "The bird's body shape comes from this image.",
    "texture": "The bird's colours and markings come from this image.",
}
SLOT_SUBTITLES = {  # what the slot gives, in plain words, shown beside its title
    "background": "the scene",
    "pose": "position and facing",
    "shape": "body shape",
    "texture": "colours",
}
SLOT_CODE_TIPS = {  # the subtitle's tooltip: the model's code behind the slot
    "background": "The model's background code (b): one of its learned background types, plus "
    "the layout of the scene.",
    "pose": "The model's pose code (z): where the bird is, how big, and which way it faces.",
    "shape": "The model's shape code (p): one of its learned body-shape types.",
    "texture": "The model's texture code (c): one of its learned colour-pattern types.",
}
TYPE_NAMES = {"background": "scene type", "shape": "shape type", "texture": "colour type"}
POSE_FROM_SHAPE = "pose comes from the shape image"

Box = tuple[int, int, int, int]  # x, y, w, h in image pixels

_uids = itertools.count(1)


def new_uid() -> int:
    """A process-wide id for one loaded image (lets the worker cache its encoding)."""
    return next(_uids)


@dataclass(frozen=True)
class CodeChoice:
    """An explicit code for a slot instead of the encoded one.

    ``kind`` is "index" (a category picked from the list) or "seed" (a seeded re-roll).
    """

    kind: str
    value: int

    def describe(self, slot: str = "") -> str:
        if self.kind == "index":
            return f"{TYPE_NAMES.get(slot, 'type')} {self.value}"
        return f"random, seed {self.value}"


@dataclass(frozen=True, eq=False)
class SlotState:
    """What one slot holds: a reference (or nothing), the user's crop box and code override."""

    reference: Reference | None = None  # as the engine built it, with the box listed beside it
    preview: QImage | None = None  # display copy (maybe downscaled)
    name: str = ""  # file name, or a description such as "pasted image"
    source: str = ""  # file path when it came from a file
    uid: int = 0  # identity of the image (0 = none)
    box: Box | None = None  # user's box; None = the reference's own box
    code: CodeChoice | None = None
    crop: str = "object"  # "whole": the image resized whole, the released evaluation's way

    @property
    def image(self) -> Image.Image | None:
        """The RGB image, already normalised by the engine."""
        return None if self.reference is None else self.reference.image

    @property
    def default_box(self) -> Box | None:
        """The box the engine uses without the user's: the listed box, else its default."""
        return None if self.reference is None else self.reference.effective_box()

    @property
    def is_empty(self) -> bool:
        return self.reference is None and self.code is None

    @property
    def has_image(self) -> bool:
        return self.reference is not None

    @property
    def effective_box(self) -> Box | None:
        return self.box if self.box is not None else self.default_box

    def model_reference(self) -> Reference | None:
        """The reference the model gets: the engine's, with the user's box and crop mode."""
        reference = self.reference
        if reference is None:
            return None
        if self.box is not None:
            reference = reference.with_box(self.box)
        return reference if reference.crop == self.crop else reference.with_crop(self.crop)

    def with_box(self, box: Box | None) -> SlotState:
        return replace(self, box=None if box == self.default_box else box)

    def with_code(self, code: CodeChoice | None) -> SlotState:
        return replace(self, code=code)

    def with_crop(self, crop: str) -> SlotState:
        return replace(self, crop=crop)

    def key(self) -> tuple:
        """What the worker compares to decide whether to re-encode this slot; the first three
        items say which reference the slot holds, the last its code override."""
        return (self.uid, self.box, self.crop, self.code)


EMPTY = SlotState()


@dataclass(frozen=True)
class Combination:
    """The four slots and the mode: everything one mix depends on."""

    slots: tuple[SlotState, ...] = (EMPTY, EMPTY, EMPTY, EMPTY)
    mode: str = "code"

    def __getitem__(self, slot: str) -> SlotState:
        return self.slots[SLOTS.index(slot)]

    def with_slot(self, slot: str, state: SlotState) -> Combination:
        slots = list(self.slots)
        slots[SLOTS.index(slot)] = state
        return replace(self, slots=tuple(slots))

    def with_mode(self, mode: str) -> Combination:
        return replace(self, mode=mode)

    def items(self) -> list[tuple[str, SlotState]]:
        return list(zip(SLOTS, self.slots))

    def same_as(self, other: Combination) -> bool:
        return self.mode == other.mode and all(
            a.key() == b.key() for a, b in zip(self.slots, other.slots)
        )


@dataclass(frozen=True)
class MixRequest:
    id: int
    combination: Combination


@dataclass(frozen=True)
class SlotReport:
    """What the worker reports back about one slot's input (for metadata and pickers)."""

    record: InputRecord  # the reference as export metadata records it
    top_k: tuple[tuple[int, float], ...] = ()

    @property
    def digest(self) -> str:
        return self.record.sha1

    @property
    def crop(self) -> tuple[int, int, int, int] | None:
        """The effective crop (left, top, right, bottom) in image pixels."""
        return self.record.crop_rect


@dataclass(frozen=True)
class MixOutcome:
    """One finished mix, converted for display on the worker thread."""

    request_id: int
    combination: Combination
    image: QImage | None = None  # None when slots are missing
    array: object = None  # (S, S, 3) uint8 composite, for export
    layers: dict[str, QImage] = field(default_factory=dict)
    layer_arrays: dict[str, object] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    seconds: float = 0.0
    reports: dict[str, SlotReport] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.image is not None


@dataclass(frozen=True)
class ModelInfo:
    name: str
    preset: str
    device: str
    has_feature_mode: bool
    image_size: int
    path: str = ""
    details: dict = field(default_factory=dict)
    threads: int = 0  # CPU threads the engine uses for this model

    @property
    def domain(self) -> str:
        """ "synthbirds" for models trained on SynthBirds, else "real" (photos)."""
        trained_on = f"{self.details.get('trained_on', '')} {self.name}".lower()
        return "synthbirds" if "synthbirds" in trained_on else "real"

    def summary(self) -> str:
        device = "CUDA" if self.device.startswith("cuda") else self.device.upper()
        return f"{self.name} · {self.preset} · {device}"
