"""Helpers for the desktop-app tests: fake mixers, windows, images.

(No tests here; the test_app*.py modules import these fixtures. ``demo_model``, a real tiny
engine model shared by all of them, is in conftest.py.)
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings

WAIT_MS = 30_000


@dataclass
class ReadySpec:
    """A model spec that hands the worker an already built model (or a fake)."""

    model: object
    path: str = ""
    fail: str = ""

    def label(self) -> str:
        return "test model"

    def load(self):
        if self.fail:
            from engine import ModelFileError

            raise ModelFileError(self.fail)
        return self.model


# -- a fake engine model with the Mixer interface ------------------------------------------------
@dataclass
class FakeConfig:
    image_size: int = 16


@dataclass
class FakeResult:
    image: np.ndarray
    layers: dict
    mode: str
    seconds: float


class FakeMixer:
    """Records calls; ``delay`` slows each mix; ``fail_next`` makes the next mix raise."""

    def __init__(self, model: FakeModel) -> None:
        self.model = model
        self.refs: dict[str, object] = {}
        self.calls: list[tuple] = []
        self.started = threading.Event()
        self.fail_next = ""

    def set_reference(self, slot, ref):
        self.calls.append(("set_reference", slot))
        self.refs[slot] = ref

    def set_code(self, slot, index=None, z=None):
        self.calls.append(("set_code", slot, index))

    def reroll(self, slot, seed):
        self.calls.append(("reroll", slot, seed))

    def top_k(self, slot, k=5):
        return [(1, 0.5), (2, 0.25)] if self.refs.get(slot) is not None else []

    def missing(self, mode="code"):
        needed = ("background", "shape", "texture") if mode == "feature" else tuple(self.refs)
        return [s for s in needed if self.refs.get(s) is None] if self.refs else ["background"]

    def mix(self, mode="code"):
        self.started.set()
        time.sleep(self.model.delay)
        if self.fail_next:
            message, self.fail_next = self.fail_next, ""
            raise RuntimeError(message)
        self.model.mixes += 1
        value = (self.model.mixes * 40) % 256
        image = np.full((16, 16, 3), value, np.uint8)
        return FakeResult(image, {"background": image, "child": image}, mode, self.model.delay)


@dataclass
class FakeModel:
    delay: float = 0.0
    has_feature_mode: bool = True
    name: str = "fake"
    device: str = "cpu"
    path: object = None
    config: FakeConfig = field(default_factory=FakeConfig)
    info: dict = field(default_factory=lambda: {"name": "fake", "preset": "fake"})
    mixes: int = 0
    last_mixer: FakeMixer | None = None

    def mixer(self) -> FakeMixer:
        self.last_mixer = FakeMixer(self)
        for slot in ("background", "pose", "shape", "texture"):
            self.last_mixer.refs[slot] = None
        return self.last_mixer


# -- windows -------------------------------------------------------------------------------------
@pytest.fixture
def settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    """A main window with no model yet (threads stopped at teardown)."""
    from app.main_window import MainWindow

    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


def load(qtbot, win, model, path: str = "") -> None:
    with qtbot.waitSignal(win.session.client.model_loaded, timeout=WAIT_MS):
        win.session.load_model(ReadySpec(model, path=path))


@pytest.fixture
def real_window(qtbot, window, demo_model):
    load(qtbot, window, demo_model)
    return window


def fill(qtbot, win, paths: dict[str, Path]) -> None:
    """Load images into slots and wait until every slot holds its image."""
    for slot, path in paths.items():
        win.session.set_slot_source(slot, str(path))
    qtbot.waitUntil(
        lambda: all(win.session.combination[s].name == Path(p).name for s, p in paths.items()),
        timeout=WAIT_MS,
    )


def wait_for_result(qtbot, win) -> None:
    qtbot.waitUntil(
        lambda: (
            win.session.outcome is not None
            and win.result_view.outcome is not None
            and win.result_view.outcome.request_id == win.session.client.latest_id
        ),
        timeout=WAIT_MS,
    )


# -- images --------------------------------------------------------------------------------------
@pytest.fixture
def images(tmp_path) -> dict[str, Path]:
    """Four small distinct RGB images, one per slot."""
    rng = np.random.default_rng(0)
    paths = {}
    for i, slot in enumerate(("background", "pose", "shape", "texture")):
        array = rng.integers(0, 255, (48 + 8 * i, 64, 3), dtype=np.uint8)
        path = tmp_path / f"{slot}.png"
        Image.fromarray(array).save(path)
        paths[slot] = path
    return paths


__all__ = ["images", "real_window", "settings", "window"]  # fixtures
