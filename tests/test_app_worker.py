"""Worker thread: stale results dropped, bursts coalesced, errors reported, model loading."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from test_app_support import *  # noqa: F403 (fixtures)
from test_app_support import WAIT_MS, FakeModel, ReadySpec, fill, load, wait_for_result

from app.state import MixOutcome


def test_stale_results_are_dropped_and_bursts_coalesced(qtbot, window, images):
    model = FakeModel(delay=0.4)
    load(qtbot, window, model)
    fill(qtbot, window, images)
    wait_for_result(qtbot, window)
    mixer = model.last_mixer
    mixer.calls.clear()
    mixes = model.mixes

    mixer.started.clear()
    window.session.reroll_slot("texture", seed=1)
    qtbot.waitUntil(mixer.started.is_set, timeout=WAIT_MS)  # the worker is busy with seed 1
    assert window.session.client.busy
    window.session.reroll_slot("texture", seed=2)
    window.session.reroll_slot("texture", seed=3)
    latest = window.session.client.latest_id
    wait_for_result(qtbot, window)

    shown = window.result_view.outcome
    assert shown.request_id == latest
    assert shown.combination["texture"].code.value == 3
    assert window.session.client.dropped_stale >= 1  # seed 1 finished after newer requests
    assert model.mixes - mixes == 2  # seed 2 was coalesced away
    # only the changed slot was touched; the other slots kept their encodings
    assert {call[1] for call in mixer.calls} == {"texture"}
    assert ("set_reference", "texture") not in mixer.calls
    qtbot.waitUntil(lambda: not window.session.client.busy, timeout=WAIT_MS)


def test_result_with_old_id_is_ignored(qtbot, window, images):
    model = FakeModel()
    load(qtbot, window, model)
    fill(qtbot, window, images)
    wait_for_result(qtbot, window)
    shown = window.result_view.outcome
    old = MixOutcome(request_id=1, combination=shown.combination, image=shown.image)
    window.session.client.worker.mixed.emit(old)
    assert window.result_view.outcome is shown


def test_worker_error_is_shown_and_worker_keeps_serving(qtbot, window, images):
    model = FakeModel()
    load(qtbot, window, model)
    fill(qtbot, window, images)
    wait_for_result(qtbot, window)
    shown = window.result_view.outcome
    model.last_mixer.fail_next = "out of memory\nsecond line"
    window.session.reroll_slot("shape", seed=5)
    qtbot.waitUntil(lambda: window.last_message.startswith("Mix failed"), timeout=WAIT_MS)
    assert window.last_message == "Mix failed: RuntimeError: out of memory"
    assert window.result_view.outcome is shown  # previous result kept
    window.session.reroll_slot("shape", seed=6)
    wait_for_result(qtbot, window)
    assert window.result_view.outcome.combination["shape"].code.value == 6


def test_engine_error_is_shown_and_worker_keeps_serving(qtbot, real_window, images):
    from app.state import CodeChoice

    window = real_window
    fill(qtbot, window, images)
    wait_for_result(qtbot, window)
    window.session.pick_code("shape", CodeChoice("index", 999))
    qtbot.waitUntil(lambda: "Mix failed" in window.last_message, timeout=WAIT_MS)
    assert "category must be in" in window.last_message
    window.session.pick_code("shape", CodeChoice("index", 1))
    wait_for_result(qtbot, window)
    assert window.result_view.outcome.combination["shape"].code.value == 1


def test_model_without_feature_mode_stays_in_code_mode(qtbot, window):
    load(qtbot, window, FakeModel(has_feature_mode=False))
    assert not window.feature_mode_action.isEnabled()
    assert "only code mode" in window.feature_mode_action.toolTip()
    window.toggle_mode_action.trigger()
    assert window.session.combination.mode == "code"
    assert "only code mode" in window.last_message
    assert window.slots["pose"].view.isEnabled()


def test_failed_model_load_keeps_the_previous_model(qtbot, window):
    load(qtbot, window, FakeModel(name="first"))
    label = window.model_label.text()
    with qtbot.waitSignal(window.session.client.model_failed, timeout=WAIT_MS):
        window.session.load_model(ReadySpec(None, fail="broken.safetensors: not a model"))
    assert window.session.model_info.name == "first"
    assert window.model_label.text() == label
    assert "broken.safetensors: not a model" in window.last_message


def test_wrong_model_files_dropped_on_window(qtbot, window, tmp_path, demo_model):
    load(qtbot, window, demo_model)
    for name, data in (("bad.safetensors", b"\x00garbage"), ("G.pth", b"not a checkpoint")):
        path = tmp_path / name
        path.write_bytes(data)
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        event = QDropEvent(
            QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )  # fmt: skip
        with qtbot.waitSignal(window.session.client.model_failed, timeout=WAIT_MS):
            window.dropEvent(event)
        assert "Model not loaded" in window.last_message
        assert window.session.model_info.name == "random-0"
    assert "E.pth not found" in window.last_message


def test_open_our_model_file_and_recent_list(qtbot, window, tmp_path, demo_model):
    from app.model_spec import ModelSpec
    from engine.model_file import save_model

    nets = {"generator": demo_model.generator, "encoders": demo_model.encoders}
    path = save_model(tmp_path / "tiny.safetensors", demo_model.config, nets, {"name": "tiny"})
    with qtbot.waitSignal(window.session.client.model_loaded, timeout=WAIT_MS):
        window.session.load_model(ModelSpec.for_path(path))
    assert window.session.model_info.name == "tiny"
    assert window.session.model_info.preset == "demo"
    assert window.model_label.text() == "tiny · demo · CPU"
    assert not window.feature_mode_action.isEnabled()  # saved without the extractor
    assert window.session.recent_models()[0] == str(path)


def test_released_model_files_are_found_by_the_engine(tmp_path):
    import engine

    for name in ("G_3.pth", "E_3.pth", "G.pth", "E.pth", "EX.pth"):
        (tmp_path / name).write_bytes(b"")
    found = engine.official_files(tmp_path / "E_3.pth")
    assert found == (tmp_path / "G_3.pth", tmp_path / "E_3.pth", None)
    assert engine.official_files(tmp_path)[2] == tmp_path / "EX.pth"
    with pytest.raises(engine.ModelFileError, match="not a MixNMatch model"):
        engine.official_files(tmp_path / "weights.pth")
