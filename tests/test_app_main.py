"""Entry point, desktop entry, the engine boundary, and the sheet / animation tools."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from test_app_support import *  # noqa: F403 (fixtures)
from test_app_support import WAIT_MS, fill, wait_for_result

ROOT = Path(__file__).resolve().parent.parent


def test_app_uses_only_the_engine_api():
    """app/ imports the ``engine`` package's public names, never its modules or torch."""
    for path in (ROOT / "app").glob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(from|import)\s+engine\.", text, re.M), path.name
        assert not re.search(r"^\s*(from|import)\s+torch\b", text, re.M), path.name


def test_app_modules_import_without_torch():
    code = "import sys, app.main_window, app.main; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_install_desktop_entry(tmp_path, monkeypatch, capsys):
    from app.main import main

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert main(["--install-desktop-entry"]) == 0
    entry = tmp_path / "applications" / "mixnmatch.desktop"
    icon = tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "mixnmatch.svg"
    assert entry.is_file() and icon.is_file()
    text = entry.read_text()
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert exec_line.lstrip('Exec="').startswith("/") and exec_line.endswith("%F")
    assert f"Icon={icon}" in text
    assert str(entry) in capsys.readouterr().out


def test_main_shows_window_and_loads_model_in_background(
    qtbot, tmp_path, monkeypatch, images, capsys
):
    from app.main import main
    from app.main_window import MainWindow

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # QSettings go to a scratch folder
    seen = {}

    def close_when_mixed():
        windows = [
            w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()
        ]
        if not windows or windows[0].session.outcome is None:
            return QTimer.singleShot(50, close_when_mixed)
        seen["model"] = windows[0].session.model_info.name
        windows[0].close()

    QTimer.singleShot(0, close_when_mixed)
    argv = ["--verbose", "--untrained", "demo", *(str(images[s]) for s in images)]
    assert main(argv) == 0
    assert seen["model"] == "random-0"
    err = capsys.readouterr().err
    assert "first window after" in err and "model random-0 (demo, cpu) ready after" in err


def test_vary_one_factor_sheet(qtbot, real_window, images, tmp_path):
    from app.sheet_dialog import VarySheetDialog

    window = real_window
    fill(qtbot, window, images)
    wait_for_result(qtbot, window)
    dialog = VarySheetDialog(window.session, window.gallery.paths(), window)
    qtbot.addWidget(dialog)
    dialog.factor.setCurrentIndex(3)  # texture
    dialog.folder = images["texture"].parent
    dialog.from_folder.setChecked(True)
    dialog.columns.setValue(2)
    with qtbot.waitSignal(dialog.watcher.finished, timeout=WAIT_MS):
        dialog.generate()
    assert dialog.sheet is not None and dialog.save_button.isEnabled()
    assert dialog.sheet.width() == 2 * (128 + 4) + 4
    assert dialog.sheet.height() == 2 * (128 + 4) + 4
    out = tmp_path / "sheet.png"
    assert dialog.save(out)
    with Image.open(out) as sheet:
        meta = dict(sheet.text)
    assert meta["mixnmatch:varying"] == "texture" and "mixnmatch:texture" not in meta
    assert json.loads(meta["mixnmatch:shape"])["file"] == "shape.png"
    dialog.close()


def test_animation_between_two_images_and_from_gif_frames(qtbot, real_window, images, tmp_path):
    from app.animation_dialog import AnimationDialog

    window = real_window
    fill(qtbot, window, images)
    wait_for_result(qtbot, window)
    dialog = AnimationDialog(window.session, window)
    qtbot.addWidget(dialog)
    dialog.factor.setCurrentIndex(2)  # shape
    dialog.target_path = str(images["texture"])
    dialog.steps.setValue(4)
    with qtbot.waitSignal(dialog.watcher.finished, timeout=WAIT_MS):
        dialog.generate()
    assert len(dialog.frames) == 6  # 4 steps, then back
    out = tmp_path / "anim.gif"
    assert dialog.export(out)
    with Image.open(out) as gif:
        assert gif.n_frames == 6

    frames = [Image.new("RGB", (40, 40), c) for c in ("red", "green", "blue")]
    source = tmp_path / "walk.gif"
    frames[0].save(source, save_all=True, append_images=frames[1:], duration=100)
    dialog.kind.setCurrentIndex(1)
    dialog.factor.setCurrentIndex(1)  # pose
    dialog.bounce.setChecked(False)
    dialog.target_path = str(source)
    with qtbot.waitSignal(dialog.watcher.finished, timeout=WAIT_MS):
        dialog.generate()
    assert len(dialog.frames) == 3
    apng = tmp_path / "anim.png"
    assert dialog.export(apng)
    with Image.open(apng) as image:
        assert image.n_frames == 3
    dialog.close()
