"""The app and ``mixnmatch-mix`` describe the composites they write in one schema."""

from __future__ import annotations

import json

from test_app_support import *  # noqa: F403 (fixtures)
from test_app_support import WAIT_MS, fill, wait_for_result

from app.model_spec import ModelSpec
from engine.cli.mix import main as mix_main
from engine.output import read_metadata

SLOTS = ("background", "pose", "shape", "texture")


def test_app_and_cli_write_the_same_metadata(qtbot, window, tiny_model_file, image_files, tmp_path):
    cli_out, app_out = tmp_path / "cli.png", tmp_path / "app.png"
    args = ["--model", str(tiny_model_file), "--out", str(cli_out)]
    for slot, path in zip(SLOTS, image_files):
        args += [f"--{slot}", str(path)]
    assert mix_main(args) == 0

    with qtbot.waitSignal(window.session.client.model_loaded, timeout=WAIT_MS):
        window.session.load_model(ModelSpec.for_path(tiny_model_file))
    fill(qtbot, window, dict(zip(SLOTS, image_files)))
    wait_for_result(qtbot, window)
    assert window.save_image(app_out)

    cli, app = read_metadata(cli_out), read_metadata(app_out)
    assert set(cli) == set(app)
    assert {k: v for k, v in cli.items() if k != "Software"} == {
        k: v for k, v in app.items() if k != "Software"
    }  # same model, same files: the same records, crops included
    shape = json.loads(app["mixnmatch:shape"])
    assert shape["file"] == image_files[2].name and len(shape["crop_rect"]) == 4
