"""Decode reference images off the UI thread (the engine's Reference does the checks)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from .off_thread import BackgroundRunner, one_line
from .qt_image import preview_qimage
from .state import SlotState, new_uid


def load_reference(source, name: str):
    """The engine Reference for ``source``, as ``mixnmatch-mix`` makes it: a path with the box
    listed beside it (``boxes.csv``), bytes or a PIL image with the engine's default box.

    Every slot, sheet and animation gets its references here, so they all crop alike."""
    import engine

    if isinstance(source, (str, Path)):
        return engine.Reference.from_path(source)
    return engine.Reference(engine.load_image(source), name=name)


def load_slot(source, name: str) -> SlotState:
    """A slot holding ``source``; slow (decodes and hashes): call it off the UI thread."""
    reference = load_reference(source, name)
    reference.digest  # noqa: B018 (computed once here, shared by every box and crop mode)
    return SlotState(
        reference=reference,
        preview=preview_qimage(reference.image),
        name=name,
        source=str(source) if isinstance(source, (str, Path)) else "",
        uid=new_uid(),
    )


class ImageLoader(QObject):
    """Loads images in the background; ``loaded``/``failed`` carry the caller's key.

    A newer load for the same key makes older ones stale: their results are dropped.
    """

    loaded = Signal(str, object)  # key, SlotState
    failed = Signal(str, str)  # key, message

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = BackgroundRunner(self)
        self._runner.finished.connect(self._on_runner_finished)
        self._runner.failed.connect(self._on_runner_failed)
        self._keys: dict[int, tuple[str, object]] = {}  # token -> (key, source)
        self._latest: dict[str, int] = {}

    def load(self, key: str, source, name: str) -> None:
        """``source``: a path, bytes or a PIL image; ``name`` is shown and stored in metadata."""
        token = self._runner.run(load_slot, source, name)
        self._keys[token] = (key, source)
        self._latest[key] = token

    def pending(self, key: str | None = None) -> bool:
        return any(key is None or k == key for k, _ in self._keys.values())

    def wait(self, msecs: int = -1) -> bool:
        return self._runner.wait(msecs)

    def _take(self, token: int) -> tuple[str, object] | None:
        """The key and source of a finished load, None when a newer one replaced it."""
        entry = self._keys.pop(token, None)
        if entry is None or self._latest.get(entry[0]) != token:
            return None
        return entry

    def _on_runner_finished(self, token: int, state: SlotState) -> None:
        entry = self._take(token)
        if entry is not None:
            self.loaded.emit(entry[0], state)

    def _on_runner_failed(self, token: int, error: Exception) -> None:
        entry = self._take(token)
        if entry is None:
            return
        key, source = entry
        message = one_line(error)
        if isinstance(source, (str, Path)):  # the status bar has room for a name only
            message = message.replace(str(source), Path(source).name)
        self.failed.emit(key, message)
