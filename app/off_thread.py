"""Running work off the UI thread: one background thread, results back on the UI thread."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


def one_line(error: BaseException) -> str:
    """A one-line message for the status bar; engine errors already are one line."""
    text = str(error).strip().splitlines()
    message = text[0] if text else ""
    if type(error).__module__.startswith("engine"):
        return message or type(error).__name__
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


class _Call(QRunnable):
    def __init__(self, runner: BackgroundRunner, token: int, function: Callable, args) -> None:
        super().__init__()
        self._runner, self._token, self._function, self._args = runner, token, function, args

    def run(self) -> None:
        try:
            result = self._function(*self._args)
        except Exception as error:  # reported to the caller, who words it
            self._runner.failed.emit(self._token, error)
            return
        self._runner.finished.emit(self._token, result)


class BackgroundRunner(QObject):
    """Runs calls one at a time, in order, on its own thread.

    ``run`` returns a token; ``finished(token, result)`` or ``failed(token, error)`` arrive
    later on the thread the runner lives in (the UI thread).
    """

    finished = Signal(int, object)
    failed = Signal(int, object)  # the exception the call raised

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._tokens = 0

    def run(self, function: Callable, *args) -> int:
        """Queue ``function(*args)``; returns its token."""
        self._tokens += 1
        self._pool.start(_Call(self, self._tokens, function, args))
        return self._tokens

    def drop_queued(self) -> None:
        """Forget the calls that have not started yet (they never report)."""
        self._pool.clear()

    def wait(self, msecs: int = -1) -> bool:
        """Wait for the running and queued calls; False on timeout."""
        return self._pool.waitForDone(msecs)
