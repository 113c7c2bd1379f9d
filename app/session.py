"""The work of one window: the combination, its undo stack, the worker, the model, export settings.

The main window and the dialogs depend on the Session, never on each other. Every change builds
a new ``Combination`` and goes through ``commit`` (one undo step); applying a combination emits
``combination_changed`` and sends one mix request to the worker.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QUndoStack

from .export import save_outcome
from .history import ChangeCommand
from .loader import ImageLoader
from .model_spec import ModelSpec
from .state import (
    EMPTY,
    POSE_FROM_SHAPE,
    SLOT_LABELS,
    SLOTS,
    CodeChoice,
    Combination,
    MixOutcome,
    ModelInfo,
    SlotState,
)
from .worker import MixClient

MAX_RECENT_MODELS = 8
NO_FEATURE_TIP = "This model has no feature extractor, so only code mode is available."


class Session(QObject):
    """The current combination and everything that acts on it, without any widget.

    ``settings``: where recent models, export choices and preferences live; ``device``:
    "auto", "cpu" or "cuda" for models opened by file; ``threads``: --threads for this run.
    """

    combination_changed = Signal(object)  # Combination, now current (undo and redo too)
    model_changed = Signal(object)  # ModelInfo of the model just loaded
    message = Signal(str, bool, int)  # text for the user, is an error, timeout in ms

    def __init__(
        self,
        settings: QSettings,
        device: str = "auto",
        threads: int | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.device = device
        self.threads_override = threads
        self.combination = Combination()
        self.model_info: ModelInfo | None = None
        self.outcome: MixOutcome | None = None  # the newest complete result
        self.selected_slot: str | None = None
        self.undo_stack = QUndoStack(self)
        self.client = MixClient(self)
        self.loader = ImageLoader(self)
        self.loader.loaded.connect(self._on_loader_loaded)
        self.loader.failed.connect(self._on_loader_failed)
        self.client.result_arrived.connect(self._on_client_result_arrived)
        self.client.model_loaded.connect(self._on_client_model_loaded)

    def notify(self, text: str, error: bool = False, timeout_ms: int = 8000) -> None:
        self.message.emit(text, error, timeout_ms)

    # -- the one way the combination changes -------------------------------------------------
    def commit(self, after: Combination, text: str) -> None:
        """Make ``after`` current as one undoable step (no-op if nothing changes)."""
        if after.same_as(self.combination):
            return
        self.undo_stack.push(ChangeCommand(self.apply, self.combination, after, text))

    def apply(self, combination: Combination) -> None:
        """Make ``combination`` current without an undo step (undo and redo use this)."""
        self.combination = combination
        self.combination_changed.emit(combination)
        self.request_mix()

    def request_mix(self) -> int:
        return self.client.submit(self.combination)

    # -- slot edits ---------------------------------------------------------------------------
    def target_slot(self) -> str:
        """The selected slot, else the first empty one, else Background."""
        if self.selected_slot is not None:
            return self.selected_slot
        return next((s for s in SLOTS if self.combination[s].is_empty), SLOTS[0])

    def set_slot_source(self, slot: str, source, name: str = "") -> None:
        """Load ``source`` (path or PIL image) into ``slot`` in the background."""
        name = name or (Path(source).name if isinstance(source, (str, Path)) else "image")
        self.loader.load(slot, source, name)
        self.notify(f"Loading {name}…", timeout_ms=3000)

    def fill_empty_slots(self, paths: list[str]) -> None:
        """Load ``paths`` into the empty slots in order (into all slots when none is empty)."""
        empty = [s for s in SLOTS if self.combination[s].is_empty] or list(SLOTS)
        for slot, path in zip(empty, paths):
            self.set_slot_source(slot, path)

    def _edit(self, slot: str, state: SlotState, text: str) -> None:
        self.commit(self.combination.with_slot(slot, state), f"{text} {SLOT_LABELS[slot]}")

    def clear_slot(self, slot: str) -> None:
        self._edit(slot, EMPTY, "Clear")

    def reroll_slot(self, slot: str, seed: int | None = None) -> None:
        if self.combination.mode == "feature" and slot == "pose":
            self.notify(f"In feature mode {POSE_FROM_SHAPE}.")
            return
        seed = random.randrange(1, 2**31 - 1) if seed is None else seed
        self._edit(slot, self.combination[slot].with_code(CodeChoice("seed", seed)), "Re-roll")
        self.notify(f"{SLOT_LABELS[slot]}: random code, seed {seed}")

    def pick_code(self, slot: str, choice: CodeChoice | None) -> None:
        state = self.combination[slot].with_code(choice)
        self.commit(self.combination.with_slot(slot, state), f"Pick {SLOT_LABELS[slot]} code")

    def set_box(self, slot: str, box) -> None:
        self._edit(slot, self.combination[slot].with_box(tuple(box)), "Crop")

    def set_crop(self, slot: str, crop: str) -> None:
        """``crop``: "object" or "whole" (only for a slot with an image)."""
        state = self.combination[slot]
        if state.image is None or state.crop == crop:
            return
        self._edit(slot, state.with_crop(crop), "Whole image" if crop == "whole" else "Object crop")

    def move_slot(self, source: str, target: str, swap: bool) -> None:
        """Copy ``source`` onto ``target``, or swap the two."""
        combination = self.combination.with_slot(target, self.combination[source])
        if swap:
            combination = combination.with_slot(source, self.combination[target])
            text = f"Swap {SLOT_LABELS[source]} and {SLOT_LABELS[target]}"
        else:
            text = f"Copy {SLOT_LABELS[source]} to {SLOT_LABELS[target]}"
        self.commit(combination, text)

    def set_mode(self, mode: str) -> bool:
        """Switch to "code" or "feature" mode; False (and a message) when the model has none."""
        if (
            mode == "feature"
            and self.model_info is not None
            and not self.model_info.has_feature_mode
        ):
            self.notify(NO_FEATURE_TIP)
            return False
        self.commit(self.combination.with_mode(mode), f"{mode.capitalize()} mode")
        return True

    def _on_loader_loaded(self, slot: str, state: SlotState) -> None:
        state = state.with_crop(self.combination[slot].crop)  # the slot keeps its crop mode
        self._edit(slot, state, "Set")
        self.notify(f"{SLOT_LABELS[slot]}: {state.name}", timeout_ms=3000)

    def _on_loader_failed(self, slot: str, message: str) -> None:
        self.notify(f"{SLOT_LABELS[slot]} unchanged: {message}", error=True)

    def _on_client_result_arrived(self, outcome: MixOutcome) -> None:
        if outcome.complete:
            self.outcome = outcome

    # -- models -------------------------------------------------------------------------------
    def load_model(self, spec) -> None:
        """Load a model on the worker thread; the current one stays until it succeeds."""
        if isinstance(spec, ModelSpec) and spec.threads is None:
            spec = dataclasses.replace(spec, threads=self.thread_setting())
        self.client.load_model(spec)

    def load_model_file(self, path: str | Path) -> None:
        self.load_model(ModelSpec.for_path(path, self.device))

    def thread_setting(self) -> int | None:
        """CPU threads for models: --threads, else the preference; None = automatic."""
        if self.threads_override:
            return self.threads_override
        return int(self.settings.value("engine/threads", 0) or 0) or None

    def set_thread_preference(self, threads: int) -> None:
        """Store the preferred CPU threads (0 = automatic) and apply them to the model."""
        self.settings.setValue("engine/threads", int(threads))
        self.client.set_threads(self.thread_setting())

    def recent_models(self) -> list[str]:
        value = self.settings.value("models/recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in value or []]

    def _remember_model(self, path: str) -> None:
        recent = [path] + [p for p in self.recent_models() if p != path]
        self.settings.setValue("models/recent", recent[:MAX_RECENT_MODELS])

    def _on_client_model_loaded(self, info: ModelInfo) -> None:
        self.model_info = info
        if info.path:
            self._remember_model(info.path)
        self.model_changed.emit(info)
        self.notify(f"Model loaded: {info.name} ({info.preset}, {info.device})")
        if self.combination.mode == "feature" and not info.has_feature_mode:
            self.apply(self.combination.with_mode("code"))
        else:
            self.request_mix()

    # -- export -------------------------------------------------------------------------------
    def export_scale(self) -> int:
        return int(self.settings.value("export/scale", 1))

    def set_export_scale(self, scale: int) -> None:
        self.settings.setValue("export/scale", int(scale))

    def export_folder(self) -> Path:
        """Where the last export went (the home folder at first)."""
        return Path(self.settings.value("paths/export", str(Path.home())))

    def save_result(self, path: Path, layers: bool = False) -> list[Path]:
        """Write the newest result (and its layers) without asking; returns the files written.

        Raises engine.ImageError when a file cannot be written."""
        written = save_outcome(path, self.outcome, self.model_info, self.export_scale(), layers)
        self.settings.setValue("paths/export", str(path.parent))
        return written

    def shutdown(self) -> None:
        """Stop the worker and the image loader (idempotent)."""
        self.client.shutdown()
        self.loader.wait()
