"""Desktop app: slots (drops, paste, crop, codes), mode toggle, mixing, undo, export."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog, QMessageBox
from test_app_support import *  # noqa: F403 (fixtures)
from test_app_support import WAIT_MS, fill, wait_for_result

from app.qt_image import array_to_qimage
from app.slot_widget import SLOT_MIME
from app.state import POSE_FROM_SHAPE, SLOTS


def drop(widget, mime: QMimeData, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    """Deliver a drop as Qt would at the widget's centre."""
    event = QDropEvent(
        QPointF(widget.rect().center()),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        modifiers,
    )
    widget.dropEvent(event)


def url_mime(path: Path | str) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    return mime


def noise_qimage(seed: int = 1) -> QImage:
    import numpy as np

    array = np.random.default_rng(seed).integers(0, 255, (40, 50, 3), dtype=np.uint8)
    return array_to_qimage(array)


def test_app_slots_match_engine():
    import engine
    from app import state

    assert state.SLOTS == engine.SLOTS
    assert state.MODES == engine.MODES
    assert state.SLOT_FACTOR == engine.SLOT_FACTOR


def test_drop_file_url_fills_slot(qtbot, window, images):
    drop(window.slots["shape"], url_mime(images["shape"]))
    qtbot.waitUntil(lambda: window.session.combination["shape"].has_image, timeout=WAIT_MS)
    state = window.session.combination["shape"]
    assert state.name == "shape.png"
    assert state.image.size == (64, 64)
    assert state.default_box is not None
    assert window.slots["shape"].view.box() == state.default_box


def test_drop_image_data_fills_slot(qtbot, window):
    mime = QMimeData()
    mime.setImageData(noise_qimage())
    drop(window.slots["texture"], mime)
    qtbot.waitUntil(lambda: window.session.combination["texture"].has_image, timeout=WAIT_MS)
    assert window.session.combination["texture"].name == "pasted image"
    assert window.session.combination["texture"].image.size == (50, 40)


def test_slot_to_slot_drag_copies_and_shift_swaps(qtbot, window, images):
    fill(qtbot, window, {"background": images["background"], "pose": images["pose"]})
    bg, pose = window.session.combination["background"], window.session.combination["pose"]
    mime = QMimeData()
    mime.setData(SLOT_MIME, b"background")
    drop(window.slots["texture"], mime)
    assert window.session.combination["texture"].uid == bg.uid
    assert window.session.combination["background"].uid == bg.uid  # a copy

    mime = QMimeData()
    mime.setData(SLOT_MIME, b"background")
    drop(window.slots["pose"], mime, Qt.KeyboardModifier.ShiftModifier)
    assert window.session.combination["pose"].uid == bg.uid
    assert window.session.combination["background"].uid == pose.uid  # swapped


def test_paste_into_focused_slot(qtbot, window):
    QGuiApplication.clipboard().setImage(noise_qimage(2))
    window.focus_slot("pose")
    assert window.session.selected_slot == "pose"
    window.paste_action.trigger()
    qtbot.waitUntil(lambda: window.session.combination["pose"].has_image, timeout=WAIT_MS)
    assert window.session.combination["background"].is_empty


def test_mode_toggle_disables_pose(window):
    pose = window.slots["pose"]
    assert pose.view.isEnabled()
    window.toggle_mode_action.trigger()  # the M shortcut
    assert window.session.combination.mode == "feature"
    assert window.feature_mode_action.isChecked()
    assert not pose.view.isEnabled()
    assert pose.disabled_reason == POSE_FROM_SHAPE
    assert pose.view._placeholder == POSE_FROM_SHAPE  # painted over the pose image
    assert pose.factor.text() == "not used"
    window.toggle_mode_action.trigger()
    assert window.session.combination.mode == "code"
    assert pose.view.isEnabled()


def test_full_mix_reaches_result_view(qtbot, real_window, images):
    window = real_window
    assert "demo" in window.model_label.text()
    fill(qtbot, window, images)
    wait_for_result(qtbot, window)
    outcome = window.result_view.outcome
    assert outcome.complete and outcome.image.width() == 64
    assert set(outcome.layers) >= {"background", "parent", "child", "child_mask"}
    assert window.result_view.image() is not None
    assert window.recent_strip.count() >= 1
    assert window.time_label.text() == ""  # timings only with --verbose
    shape_report = outcome.reports["shape"]
    assert len(shape_report.digest) == 40 and len(shape_report.top_k) == 5
    assert window.slots["shape"].picker.count() == 6  # encoded + top-5

    # a picked category and a re-roll both re-mix; the seed is shown
    window.slots["shape"].picker.setCurrentIndex(2)
    window.slots["shape"].picker.activated.emit(2)
    wait_for_result(qtbot, window)
    assert window.session.combination["shape"].code.kind == "index"
    window.session.reroll_slot("texture", seed=1234)
    wait_for_result(qtbot, window)
    assert window.slots["texture"].seed_label.text() == "seed 1234"
    assert window.result_view.outcome.combination["texture"].code.value == 1234

    # feature mode mixes too (the demo model has an extractor)
    window.set_mode("feature")
    wait_for_result(qtbot, window)
    assert window.result_view.outcome.combination.mode == "feature"


def test_crop_box_edit_and_undo_redo(qtbot, window, images):
    fill(qtbot, window, {"background": images["background"]})
    default = window.session.combination["background"].effective_box
    window.slots["background"].box_edited.emit("background", (2, 3, 30, 20))
    assert window.session.combination["background"].box == (2, 3, 30, 20)
    window.session.clear_slot("background")
    assert window.session.combination["background"].is_empty

    window.undo_action.trigger()
    assert window.session.combination["background"].box == (2, 3, 30, 20)
    window.undo_action.trigger()
    assert window.session.combination["background"].effective_box == default
    window.undo_action.trigger()
    assert window.session.combination["background"].is_empty  # before the image was loaded
    window.redo_action.trigger()
    window.redo_action.trigger()
    assert window.session.combination["background"].box == (2, 3, 30, 20)
    assert window.slots["background"].view.box() == (2, 3, 30, 20)
    assert window.redo_action.shortcuts()[0].toString() == "Ctrl+Shift+Z"


def test_recent_strip_restores_a_combination(qtbot, real_window, images):
    window = real_window
    fill(qtbot, window, images)
    wait_for_result(qtbot, window)
    first = window.session.combination
    window.session.reroll_slot("background", seed=7)
    wait_for_result(qtbot, window)
    assert window.recent_strip.count() == 2
    window.recent_strip.combination_chosen.emit(window.recent_strip.combinations()[1])
    assert window.session.combination.same_as(first)


def test_export_png_with_metadata_asks_before_overwrite(
    qtbot, real_window, images, tmp_path, monkeypatch
):
    window = real_window
    fill(qtbot, window, images)
    window.session.reroll_slot("pose", seed=99)
    wait_for_result(qtbot, window)
    target = tmp_path / "out" / "mix"
    target.parent.mkdir()
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "PNG"))
    )
    asked = []

    def answer(reply):
        def question(*args, **kwargs):
            asked.append(args[2])
            return reply

        return staticmethod(question)

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Cancel))
    window.save_action.trigger()  # Ctrl+S
    saved = target.with_suffix(".png")
    assert saved.is_file() and not asked
    with Image.open(saved) as image:
        assert image.size == (64, 64)
        meta = dict(image.text)
    assert meta["mixnmatch:mode"] == "code" and meta["mixnmatch:layer"] == "composite"
    assert meta["mixnmatch:model"] == "random-0"
    slots = {slot: json.loads(meta[f"mixnmatch:{slot}"]) for slot in SLOTS}
    assert slots["background"]["file"] == "background.png"
    assert len(slots["texture"]["sha1"]) == 40
    assert len(slots["shape"]["box"]) == 4 and slots["shape"]["crop"] == "object"
    assert slots["pose"]["code"] == "seed 99" and slots["shape"]["code"] == "encoded"

    before = saved.stat().st_mtime_ns
    saved.write_bytes(b"keep me")
    window.save_action.trigger()
    assert len(asked) == 1 and "mix.png" in asked[0]
    assert saved.read_bytes() == b"keep me"  # the user said no
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    window.session.set_export_scale(2)
    assert window.save_image(saved, layers=True)
    with Image.open(saved) as image:
        assert image.size == (128, 128)
    assert (saved.parent / "mix_child_mask.png").is_file()
    assert before  # written before

    window.copy_action.trigger()
    assert QGuiApplication.clipboard().image().width() == 64


def test_gallery_handles_missing_folder_and_double_click(qtbot, window, images, tmp_path):
    from app.gallery import GalleryWidget

    empty = GalleryWidget(tmp_path / "does-not-exist")
    qtbot.addWidget(empty)
    assert empty.count() == 0
    empty.grab()  # paints the hint without errors

    window.gallery.set_folder(images["shape"].parent)
    assert window.gallery.count() == 4
    assert window.gallery.wait(5000)
    mime = window.gallery.mimeData([window.gallery.item(0)])
    assert mime.urls()[0].isLocalFile()
    window.focus_slot("texture")
    window.gallery.itemDoubleClicked.emit(window.gallery.item(1))
    qtbot.waitUntil(lambda: window.session.combination["texture"].has_image, timeout=WAIT_MS)


def test_keyboard_focus_slots_and_reroll(qtbot, window):
    for i, slot in enumerate(SLOTS):
        window.focus_actions[i].trigger()
        assert window.session.selected_slot == slot
    assert [a.shortcut().toString() for a in window.focus_actions] == ["1", "2", "3", "4"]
    window.reroll_action.trigger()  # R on the focused texture slot
    assert window.session.combination["texture"].code.kind == "seed"
    window.clear_action.trigger()
    assert window.session.combination["texture"].is_empty


def test_settings_are_remembered(qtbot, settings):
    from app.main_window import MainWindow

    first = MainWindow(settings=settings)
    qtbot.addWidget(first)
    first.pixel_action.trigger()
    first.close()
    second = MainWindow(settings=settings)
    qtbot.addWidget(second)
    assert second.pixel_action.isChecked()
    second.close()


def _mouse(widget, kind, pos, buttons=Qt.MouseButton.LeftButton):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent

    types = {
        "press": QEvent.Type.MouseButtonPress,
        "move": QEvent.Type.MouseMove,
        "release": QEvent.Type.MouseButtonRelease,
    }
    button = Qt.MouseButton.NoButton if kind == "move" else Qt.MouseButton.LeftButton
    held = Qt.MouseButton.NoButton if kind == "release" else buttons
    point = QPointF(*pos)
    event = QMouseEvent(
        types[kind], point, widget.mapToGlobal(point), button, held, Qt.KeyboardModifier.NoModifier
    )
    QGuiApplication.sendEvent(widget, event)


def test_crop_box_draw_move_and_resize_with_the_mouse(qtbot, window, tmp_path):
    path = tmp_path / "square.png"
    Image.new("RGB", (100, 100), "white").save(path)
    fill(qtbot, window, {"shape": path})
    view = window.slots["shape"].view
    view.resize(208, 208)  # 4 px margin: image 200x200 at (4, 4), 2 widget px per image px
    start = window.session.combination["shape"].effective_box
    assert start == (17, 17, 66, 66)

    def to_widget(x, y):
        return 4 + 2 * x, 4 + 2 * y

    # draw a new box outside the current one
    for kind, xy in (("press", (2, 2)), ("move", (40, 30)), ("release", (40, 30))):
        _mouse(view, kind, to_widget(*xy))
    assert window.session.combination["shape"].box == (2, 2, 38, 28)
    # move it by its inside
    for kind, xy in (("press", (20, 15)), ("move", (30, 25)), ("release", (30, 25))):
        _mouse(view, kind, to_widget(*xy))
    assert window.session.combination["shape"].box == (12, 12, 38, 28)
    # resize by the bottom-right handle
    for kind, xy in (("press", (50, 40)), ("move", (70, 60)), ("release", (70, 60))):
        _mouse(view, kind, to_widget(*xy))
    assert window.session.combination["shape"].box == (12, 12, 58, 48)
    # a click is not a box
    for kind, xy in (("press", (90, 90)), ("release", (90, 90))):
        _mouse(view, kind, to_widget(*xy))
    assert window.session.combination["shape"].box == (12, 12, 58, 48)
    window.undo_action.trigger()
    assert window.session.combination["shape"].box == (12, 12, 38, 28)


def test_layers_panel_and_pixel_exact_toggle(qtbot, real_window, images):
    window = real_window
    fill(qtbot, window, images)
    wait_for_result(qtbot, window)
    outcome = window.result_view.outcome
    names = [
        window.layers_panel.item(i).data(Qt.ItemDataRole.UserRole)
        for i in range(window.layers_panel.count())
    ]
    window.layers_panel.setCurrentRow(names.index("child_mask"))
    assert window.result_view.layer == "child_mask"
    assert window.result_view.image() is outcome.layers["child_mask"]
    window.pixel_action.trigger()
    assert window.result_view._pixel_exact
    window.result_view.grab()  # paints pixel-exact without errors
    window.layers_action.trigger()
    assert window.layers_panel.isHidden()
