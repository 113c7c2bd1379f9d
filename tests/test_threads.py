"""The interactive thread policy of the inference layer and the ``--threads`` option."""

import threading

import pytest
import torch

from engine import MixNMatch, MixNMatchError
from engine.threads import interactive_threads, resolve_threads


def test_policy_leaves_half_the_cpus_free():
    assert [interactive_threads(n) for n in (1, 2, 3, 4, 8, 16, 64)] == [1, 1, 1, 2, 4, 4, 4]


def test_caller_then_environment_then_policy(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert resolve_threads() == interactive_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert resolve_threads() == 3
    assert resolve_threads(5) == 5
    monkeypatch.setenv("OMP_NUM_THREADS", "junk")
    assert resolve_threads() == interactive_threads()
    with pytest.raises(MixNMatchError, match="at least 1"):
        resolve_threads(0)


def test_model_applies_its_thread_count_in_the_computing_thread(
    tiny_config, image_files, monkeypatch
):
    """The GUI mixes on a worker thread: the count must hold there, not only where it loaded."""
    from engine import Reference

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    model = MixNMatch.from_random(tiny_config, threads=3)
    assert model.threads == 3
    assert MixNMatch.from_random(tiny_config).threads == interactive_threads()
    seen = {}

    def work():
        mixer = model.mixer()
        for slot, path in zip(("background", "pose", "shape", "texture"), image_files):
            mixer.set_reference(slot, Reference.from_path(path))
        mixer.mix("code")
        seen["threads"] = torch.get_num_threads()

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert seen["threads"] == 3
    torch.set_num_threads(before)


def test_mix_cli_threads_option(tmp_path, tiny_model_file, image_files, capsys):
    from engine.cli.mix import main

    before = torch.get_num_threads()
    args = ["--model", str(tiny_model_file), "--out", str(tmp_path / "m.png")]
    for slot, path in zip(("background", "pose", "shape", "texture"), image_files):
        args += [f"--{slot}", str(path)]
    try:
        assert main(args + ["--threads", "1"]) == 0
        assert torch.get_num_threads() == 1
        assert main(args + ["--threads", "0"]) == 2
        err = capsys.readouterr().err
        assert "--threads" in err and "at least 1" in err and err.count("\n") == 1
    finally:
        torch.set_num_threads(before)
