"""Every road to a reference gives the same crop: slots, sheets and animations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from test_app_support import *  # noqa: F403 (fixtures)
from test_app_support import FakeModel, FakeResult, fill, load

import engine
from app.loader import load_slot
from app.state import Combination
from app.worker import Job, MixWorker

BOX = (10, 20, 30, 40)


class RecordingMixer:
    """The Mixer calls a job makes, with the references it receives."""

    def __init__(self) -> None:
        self.swept: list = []
        self.interpolated: tuple = ()

    def set_reference(self, slot, ref):
        pass

    def set_code(self, slot, index=None, z=None):
        pass

    def reroll(self, slot, seed):
        pass

    def _results(self, n: int) -> list[FakeResult]:
        image = np.zeros((16, 16, 3), np.uint8)
        return [FakeResult(image, {"child": image}, "code", 0.0) for _ in range(n)]

    def sweep(self, slot, refs, mode="code"):
        self.swept.extend(refs)
        return self._results(len(refs))

    def interpolate(self, slot, a, b, steps, mode="code"):
        self.interpolated = (a, b)
        return self._results(steps)


@pytest.fixture
def gallery(tmp_path):
    """A folder with two images, one of them listed in a boxes.csv."""
    rng = np.random.default_rng(1)
    for name in ("bird.png", "other.png"):
        Image.fromarray(rng.integers(0, 256, (80, 120, 3), dtype=np.uint8)).save(tmp_path / name)
    (tmp_path / "boxes.csv").write_text("filename,x,y,w,h\nbird.png,10,20,30,40\n")
    return tmp_path


def _worker() -> tuple[MixWorker, RecordingMixer]:
    worker = MixWorker()
    worker._mixer = RecordingMixer()
    return worker, worker._mixer


def _slot_reference(worker: MixWorker, path) -> engine.Reference:
    """The reference a slot holding this file hands the mixer."""
    return worker._reference(load_slot(path, path.name))


def test_slot_references_are_the_engines(gallery):
    """A slot crops a file as ``mixnmatch-mix`` does, and a pasted image as the engine does."""
    for name in ("bird.png", "other.png"):
        state = load_slot(gallery / name, name)
        cli = engine.Reference.from_path(gallery / name)
        assert state.default_box == cli.effective_box()
        assert state.model_reference().crop_rect() == cli.crop_rect()
        assert torch.equal(state.model_reference().to_tensor(64), cli.to_tensor(64))
    pasted = Image.open(gallery / "bird.png")
    assert load_slot(pasted, "pasted image").default_box == engine.default_box(*pasted.size)


def test_a_listed_box_outside_the_image_is_refused_as_by_the_cli(qtbot, window, gallery):
    (gallery / "boxes.csv").write_text("filename,x,y,w,h\nbird.png,500,20,30,40\n")
    with pytest.raises(engine.ImageError) as refused:
        engine.Reference.from_path(gallery / "bird.png")
    window.session.set_slot_source("shape", str(gallery / "bird.png"))
    qtbot.waitUntil(lambda: "unchanged" in window.last_message, timeout=30_000)
    assert str(refused.value) in window.last_message
    assert window.session.combination["shape"].is_empty


def test_sheet_over_a_gallery_crops_like_a_slot(qapp, gallery):
    worker, mixer = _worker()
    paths = (gallery / "bird.png", gallery / "other.png")
    job = Job(1, "sweep", "texture", Combination(), paths, tuple(p.name for p in paths))
    worker._run_job(job)
    assert [r.box for r in mixer.swept] == [BOX, None]
    for path, ref in zip(paths, mixer.swept):
        slot = _slot_reference(worker, path)
        assert ref.crop_rect() == slot.crop_rect()
        assert torch.equal(ref.to_tensor(64), slot.to_tensor(64))


def test_sheet_skips_a_file_with_a_bad_listed_box_with_one_line(qapp, gallery):
    (gallery / "boxes.csv").write_text("filename,x,y,w,h\nbird.png,10,20,0,40\n")
    worker, mixer = _worker()
    job = Job(1, "sweep", "texture", Combination(), (gallery / "bird.png",), ("bird.png",))
    result = worker._run_job(job)
    assert mixer.swept == [] and len(result.skipped) == 1
    assert "boxes.csv:2" in result.skipped[0] and "\n" not in result.skipped[0]


def test_animation_start_frame_keeps_the_drawn_box(qtbot, window, images, gallery):
    from app.animation_dialog import AnimationDialog

    load(qtbot, window, FakeModel())
    fill(qtbot, window, images)
    drawn = (5, 6, 20, 18)
    window.session.set_box("shape", drawn)
    assert window.session.combination["shape"].box == drawn
    dialog = AnimationDialog(window.session, window)
    qtbot.addWidget(dialog)
    started: dict = {}
    dialog._start_job = lambda **fields: started.update(fields)
    dialog.factor.setCurrentIndex(2)  # shape
    dialog.target_path = str(gallery / "bird.png")
    dialog.generate()
    worker, mixer = _worker()
    worker._run_job(Job(1, **started))
    start, end = mixer.interpolated
    assert start.box == drawn
    assert end.box == BOX  # the target file crops like a slot too
    dialog.close()


def test_whole_image_per_slot(qtbot, real_window, images):
    from test_app_support import wait_for_result

    window = real_window
    fill(qtbot, window, images)
    wait_for_result(qtbot, window)
    shape = window.slots["shape"]
    assert shape.whole_button.isEnabled() and not shape.whole_button.isChecked()
    shape.whole_button.click()
    assert window.session.combination["shape"].crop == "whole"
    assert window.session.combination["texture"].crop == "object"
    wait_for_result(qtbot, window)
    width, height = window.session.combination["shape"].image.size
    assert window.session.outcome.reports["shape"].crop == (0, 0, width, height)
    assert window.session.outcome.reports["texture"].crop != (
        0,
        0,
        *window.session.combination["texture"].image.size,
    )
    # a new image keeps the slot's mode
    window.session.set_slot_source("shape", str(images["texture"]))
    qtbot.waitUntil(lambda: window.session.combination["shape"].name == images["texture"].name)
    assert window.session.combination["shape"].crop == "whole" and shape.whole_button.isChecked()
    window.session.undo_stack.undo()
    window.session.undo_stack.undo()
    assert window.session.combination["shape"].crop == "object"
    assert not shape.whole_button.isChecked()
