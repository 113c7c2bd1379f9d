"""Bad input never crashes the app: a message, and the previous state is kept."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QUrl
from test_app_support import *  # noqa: F403 (fixtures)
from test_app_support import WAIT_MS, fill


def _png_with_size(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""
    Image.new("RGB", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = data[12:29]  # chunk type + 13 bytes of IHDR data
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    path.write_bytes(bytes(data))
    return path


def _bad_sources(tmp_path: Path) -> dict[str, tuple[QMimeData, str]]:
    text = tmp_path / "notes.png"
    text.write_text("this is not an image")
    good = tmp_path / "good.png"
    Image.new("RGB", (64, 64), "red").save(good)
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(good.read_bytes()[:60])
    huge = _png_with_size(tmp_path / "huge.png", 9000, 9000)
    folder = tmp_path / "folder"
    folder.mkdir()
    cases = {}
    for name, path, expected in (
        ("non-image", text, "not an image"),
        ("corrupt", corrupt, "corrupt"),
        ("huge", huge, "too large"),
        ("folder", folder, "folder"),
    ):
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        cases[name] = (mime, expected)
    remote = QMimeData()
    remote.setUrls([QUrl("https://example.com/bird.jpg")])
    cases["remote"] = (remote, "cannot be fetched")
    return cases


@pytest.mark.parametrize("case", ["non-image", "corrupt", "huge", "folder", "remote"])
def test_bad_image_input_keeps_previous_state(qtbot, window, images, tmp_path, case):
    fill(qtbot, window, {"shape": images["shape"]})
    before = window.session.combination["shape"]
    mime, expected = _bad_sources(tmp_path)[case]
    window.last_message = ""
    window.slots["shape"].accept_mime(mime)
    bar = window.statusBar()
    qtbot.waitUntil(lambda: bar.currentMessage().startswith("⚠"), timeout=WAIT_MS)
    assert expected in window.last_message
    assert not window.session.loader.pending()
    assert window.session.combination["shape"] is before
    assert window.slots["shape"].state is before


def test_paste_with_empty_clipboard_says_so(window):
    from PySide6.QtGui import QGuiApplication

    QGuiApplication.clipboard().clear()
    window.focus_slot("shape")
    window.paste_action.trigger()
    assert "no image" in window.last_message
    assert window.session.combination["shape"].is_empty


def test_model_file_dropped_on_a_slot_opens_it_as_a_model(qtbot, window, tmp_path):
    path = tmp_path / "weights.safetensors"
    path.write_bytes(b"nonsense")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    with qtbot.waitSignal(window.session.client.model_failed, timeout=WAIT_MS):
        window.slots["texture"].accept_mime(mime)
    assert "weights.safetensors" in window.last_message
    assert window.session.combination["texture"].is_empty
    assert "No model loaded" in window.result_view._message
