"""A new user's first minutes: start-up checks, layout, theme, preferences, gallery, help."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from PySide6.QtCore import QSettings, QSize
from PySide6.QtWidgets import QApplication
from test_app_support import *  # noqa: F403 (fixtures)
from test_app_support import WAIT_MS, fill, wait_for_result

from app import platform_check


def test_missing_xcb_libraries_give_one_line_before_qt_starts(monkeypatch, capsys):
    from app.main import main

    missing = {"libxcb-icccm.so.4", "libxcb-keysyms.so.1"}
    monkeypatch.setattr(platform_check, "_loads", lambda name: name not in missing)
    monkeypatch.setattr(platform_check.sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", ":0")
    assert main(["--check"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mixnmatch: error:")
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in err
    assert "apt install libxcb-icccm4 libxcb-keysyms1" in err
    assert "dnf install xcb-util-wm xcb-util-keysyms" in err
    assert "libxcb-cursor0" not in err  # only what is missing


def test_platform_check_only_applies_to_x11():
    everything = platform_check.platform_problem
    never = lambda _name: False  # noqa: E731 (every library missing)
    assert everything({"QT_QPA_PLATFORM": "offscreen"}, never) == ""
    wayland = {"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}
    assert everything(wayland, never) == ""
    assert "libxcb-cursor0" in everything({"DISPLAY": ":0"}, never)
    assert "DISPLAY is not set" in everything({}, lambda _name: True)
    assert not platform_check.uses_xcb({}, platform="darwin")


def test_first_window_fits_a_1366x768_screen(window):
    from app.main_window import default_window_size

    free = QSize(1366, 768 - 40)  # a panel takes some of the height
    size = default_window_size(free)
    assert size.width() <= free.width() and size.height() <= free.height()
    hint = window.minimumSizeHint()
    assert hint.width() <= free.width() and hint.height() <= free.height(), hint


def test_no_developer_timing_and_one_loading_message(window):
    window.show_message("")  # what main() shows after the window appears: nothing
    window._on_client_model_load_started("bundled model")
    assert window.result_view._message == "Loading the model…"
    assert "Loading" not in window.last_message and "ready in" not in window.last_message


def test_layers_column_is_empty_until_a_result(qtbot, real_window, images):
    window = real_window
    assert not window.layers_panel.has_layers()
    fill(qtbot, window, images)
    wait_for_result(qtbot, window)
    assert window.layers_panel.has_layers()


def test_plain_labels_and_picker_text_fits(qtbot, real_window, images):
    window = real_window
    window.resize(1350, 700)
    fill(qtbot, window, images)
    wait_for_result(qtbot, window)
    qtbot.waitUntil(lambda: window.slots["shape"].picker.count() > 1, timeout=WAIT_MS)
    QApplication.processEvents()
    for slot, widget in window.slots.items():
        assert "·" not in widget.factor.text() and widget.factor.toolTip()
        picker = widget.picker
        for i in range(picker.count()):
            assert "category" not in picker.itemText(i).lower()
        text_width = picker.fontMetrics().horizontalAdvance(picker.currentText())
        assert text_width + 24 <= picker.width(), (slot, picker.currentText(), picker.width())
    assert window.slots["shape"].picker.itemText(1).startswith("Shape type ")


def test_theme_follows_the_system_and_the_preference(monkeypatch, window):
    from app import theme

    app = QApplication.instance()
    monkeypatch.setattr(theme, "system_is_dark", lambda: True)
    assert theme.apply_theme(app, "system") == "dark"
    monkeypatch.setattr(theme, "system_is_dark", lambda: False)
    assert theme.apply_theme(app, "system") == "light"
    assert app.palette().window().color().lightness() > 200
    window.apply_preferences("dark", 0)
    assert window.settings.value("view/theme") == "dark"
    assert app.palette().window().color().lightness() < 60
    window.apply_preferences("system", 0)


def test_thread_preference_reaches_the_worker(qtbot, real_window, images):
    window = real_window
    window.apply_preferences("system", 3)
    assert window.session.thread_setting() == 3
    qtbot.waitUntil(lambda: window.session.client.worker._model.threads == 3, timeout=WAIT_MS)
    fill(qtbot, window, images)
    wait_for_result(qtbot, window)
    window.apply_preferences("system", 0)
    assert window.session.thread_setting() is None


def test_user_gallery_folders_are_remembered(qtbot, window, tmp_path):
    from app.gallery import GalleryPanel

    folder = tmp_path / "mine"
    folder.mkdir()
    for name in ("a.png", "b.jpg"):
        Image.new("RGB", (40, 30), "red").save(folder / name)
    panel = window.gallery_panel
    panel.add_folder(folder)
    assert [Path(p).name for p in window.gallery.paths()] == ["a.png", "b.jpg"]
    again = GalleryPanel(window.settings)
    qtbot.addWidget(again)
    assert again.folder_box.currentData() == str(folder)
    assert [Path(p).name for p in again.gallery.paths()] == ["a.png", "b.jpg"]
    again.remove_current_folder()
    assert again.folders() == [] and again.folder_box.currentData() == ""
    assert any(Path(p).name.startswith("synth_") for p in again.gallery.paths())
    again.gallery.wait()
    window.gallery.wait()


def test_examples_in_domain_first_and_real_photos_marked(window):
    gallery = window.gallery
    names = [Path(p).name for p in gallery.paths()]
    first_real = next(i for i, n in enumerate(names) if n.startswith("cub_"))
    assert all(n.startswith("synth_") for n in names[:first_real])
    marked = {Path(p).name for p in gallery.out_of_domain()}
    assert marked == {n for n in names if n.startswith("cub_")} and marked
    assert "out of domain" in gallery.item(first_real).toolTip()
    gallery.set_domain("real")
    names = [Path(p).name for p in gallery.paths()]
    assert names[0].startswith("cub_")
    assert all(Path(p).name.startswith("synth_") for p in gallery.out_of_domain())
    gallery.wait()


def test_duplicate_example_photo_is_gone():
    from app.resources import example_images

    digests = {}
    for path in example_images():
        digests.setdefault(path.read_bytes(), []).append(path.name)
    assert [names for names in digests.values() if len(names) > 1] == []


def test_how_mixing_works_page(window):
    from app.preferences import how_mixing_works_html

    text = how_mixing_works_html()
    for word in ("Background", "Pose", "Shape", "Texture", "Code mode", "Feature mode"):
        assert word in text
    assert "README" in text
    assert window.help_action in window.menuBar().actions()[-1].menu().actions()


def test_settings_scratch_file_is_used(settings):
    assert isinstance(settings, QSettings)
