"""Decode reference images off the UI thread (engine.load_image does the checks)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from .qt_image import preview_qimage
from .state import SlotState, new_uid
from .worker import one_line


class _Relay(QObject):
    finished = Signal(int, object)  # token, SlotState
    failed = Signal(int, str)  # token, one-line message


def _default_box(engine, source, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A box listed beside the file (example images), else the engine's default box."""
    known = engine.known_box(source) if isinstance(source, (str, Path)) else None
    if known is not None and known[0] < size[0] and known[1] < size[1]:
        return known
    return tuple(int(v) for v in engine.default_box(*size))


class _LoadTask(QRunnable):
    def __init__(self, relay: _Relay, token: int, source, name: str) -> None:
        super().__init__()
        self._relay, self._token, self._source, self._name = relay, token, source, name

    def run(self) -> None:
        try:
            import engine

            image = engine.load_image(self._source)
            state = SlotState(
                image=image,
                preview=preview_qimage(image),
                name=self._name,
                source=str(self._source) if isinstance(self._source, (str, Path)) else "",
                uid=new_uid(),
                default_box=_default_box(engine, self._source, image.size),
            )
        except Exception as error:  # engine.ImageError for bad files; anything else is a bug
            message = one_line(error)
            if isinstance(self._source, (str, Path)):  # the status bar has room for a name only
                message = message.replace(str(self._source), Path(self._source).name)
            self._relay.failed.emit(self._token, message)
            return
        self._relay.finished.emit(self._token, state)


class ImageLoader(QObject):
    """Loads images on a thread pool; ``loaded``/``failed`` carry the caller's key.

    A newer load for the same key makes older ones stale: their results are dropped.
    """

    loaded = Signal(str, object)  # key, SlotState
    failed = Signal(str, str)  # key, message

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._relay = _Relay(self)
        self._relay.finished.connect(self._on_relay_finished)
        self._relay.failed.connect(self._on_relay_failed)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._token = 0
        self._keys: dict[int, str] = {}
        self._latest: dict[str, int] = {}

    def load(self, key: str, source, name: str) -> None:
        """``source``: a path, bytes or a PIL image; ``name`` is shown and stored in metadata."""
        self._token += 1
        self._keys[self._token] = key
        self._latest[key] = self._token
        self._pool.start(_LoadTask(self._relay, self._token, source, name))

    def pending(self, key: str | None = None) -> bool:
        return any(key is None or k == key for k in self._keys.values())

    def wait(self, msecs: int = -1) -> bool:
        return self._pool.waitForDone(msecs)

    def _take(self, token: int) -> str | None:
        key = self._keys.pop(token, None)
        if key is None or self._latest.get(key) != token:
            return None
        return key

    def _on_relay_finished(self, token: int, state: SlotState) -> None:
        key = self._take(token)
        if key is not None:
            self.loaded.emit(key, state)

    def _on_relay_failed(self, token: int, message: str) -> None:
        key = self._take(token)
        if key is not None:
            self.failed.emit(key, message)
