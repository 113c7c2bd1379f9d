"""Model files: round trip, and one clear refusal for every kind of bad file."""

import json
import pickle

import pytest
import torch
from safetensors.torch import load_file, save_file

from engine import MixNMatch, ModelFileError
from engine.cli.import_official import main as import_main
from engine.model_file import build_networks, clean_state_dict, read_header, save_model


def _one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


def test_round_trip_rebuilds_architecture_from_header(tiny_model_file, tiny_config):
    header = read_header(tiny_model_file)
    assert header["config"] == tiny_config
    assert header["format_version"] == 1 and header["name"] == "tiny"
    a = MixNMatch.load(tiny_model_file, "cpu")
    b = MixNMatch.load(tiny_model_file, "cpu")
    for (ka, va), (kb, vb) in zip(
        a.generator.state_dict().items(), b.generator.state_dict().items()
    ):
        assert ka == kb and torch.equal(va, vb)
    assert a.has_feature_mode and a.config == tiny_config


def test_model_without_extractor_has_no_feature_mode(tmp_path, tiny_config):
    nets = build_networks(tiny_config, with_extractor=False)
    path = save_model(tmp_path / "m.safetensors", tiny_config, nets)
    model = MixNMatch.load(path, "cpu")
    assert not model.has_feature_mode


def test_clean_state_dict_strips_wrapper_prefixes():
    state = {"module.a.weight": 1, "_orig_mod.module.b": 2, "c": 3}
    assert clean_state_dict(state) == {"a.weight": 1, "b": 2, "c": 3}


def _rewrite(path, out, tensors=None, header_update=None, metadata=None):
    tensors = dict(load_file(str(path))) if tensors is None else tensors
    header = json.loads(json.dumps({**read_header(path), "config": None}))
    header["config"] = read_header(path)["config"].to_dict()
    header.update(header_update or {})
    save_file(
        tensors,
        str(out),
        metadata=metadata if metadata is not None else {"mixnmatch": json.dumps(header)},
    )
    return out


@pytest.mark.parametrize(
    "case, expect",
    [
        ("not_a_model", "not a readable"),
        ("truncated", "not a readable"),
        ("wrong_version", "version 99"),
        ("no_header", "without a MixNMatch header"),
        ("missing_key", "missing keys"),
        ("extra_key", "unexpected"),
        ("wrong_shape", "wrong shapes"),
        ("pth_file", "mixnmatch-import-official"),
        ("missing_file", "no such model file"),
    ],
)
def test_bad_model_files_are_refused_with_one_line(tmp_path, tiny_model_file, case, expect):
    bad = tmp_path / "bad.safetensors"
    tensors = dict(load_file(str(tiny_model_file)))
    if case == "not_a_model":
        bad.write_text("hello, I am a text file")
    elif case == "truncated":
        bad.write_bytes(tiny_model_file.read_bytes()[:5000])
    elif case == "wrong_version":
        _rewrite(tiny_model_file, bad, header_update={"format_version": 99})
    elif case == "no_header":
        _rewrite(tiny_model_file, bad, metadata={})
    elif case == "missing_key":
        tensors.pop(next(k for k in tensors if k.startswith("generator.")))
        _rewrite(tiny_model_file, bad, tensors)
    elif case == "extra_key":
        tensors["generator.surprise"] = torch.zeros(1)
        _rewrite(tiny_model_file, bad, tensors)
    elif case == "wrong_shape":
        key = next(k for k in tensors if k.endswith("fc.0.weight"))
        tensors[key] = torch.zeros(3, 3)
        _rewrite(tiny_model_file, bad, tensors)
    elif case == "pth_file":
        bad = tmp_path / "G.pth"
        torch.save({}, bad)
    elif case == "missing_file":
        bad = tmp_path / "nothing.safetensors"
    with pytest.raises(ModelFileError) as err:
        MixNMatch.load(bad, "cpu")
    message = _one_line(err)
    assert expect in message and bad.name in message


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_import_refuses_pickles_that_would_run_code(tmp_path, capsys):
    evil = tmp_path / "G.pth"
    with open(evil, "wb") as f:
        pickle.dump({"weight": _Evil()}, f)
    enc = tmp_path / "E.pth"
    torch.save({}, enc)
    code = import_main(
        ["--generator", str(evil), "--encoder", str(enc), "-o", str(tmp_path / "m.safetensors")]
    )
    captured = capsys.readouterr()
    assert code == 2
    assert "this must never run" not in captured.out
    assert "refused" in captured.err and captured.err.count("\n") == 1


def test_import_official_round_trip_and_shape_validation(tmp_path, tiny_config):
    nets = build_networks(tiny_config)
    for short, part in (("G", "generator"), ("E", "encoders"), ("EX", "extractor")):
        torch.save(
            {f"module.{k}": v for k, v in nets[part].state_dict().items()},
            tmp_path / f"{short}.pth",
        )
    out = tmp_path / "imported.safetensors"
    args = ["--generator", str(tmp_path / "G.pth"), "--encoder", str(tmp_path / "E.pth")]
    assert import_main(args + ["--extractor", str(tmp_path / "EX.pth"), "-o", str(out)]) == 0
    model = MixNMatch.load(out, "cpu")
    assert (model.config.num_parents, model.config.num_children) == (2, 4)
    assert model.has_feature_mode
    assert import_main(args + ["-o", str(tmp_path / "noex.safetensors")]) == 0
    assert not MixNMatch.load(tmp_path / "noex.safetensors", "cpu").has_feature_mode
    broken = {f"module.{k}": v for k, v in nets["encoders"].state_dict().items()}
    broken["module.model_c.4.weight"] = torch.zeros(7, 3, 4, 4)
    torch.save(broken, tmp_path / "E_bad.pth")
    bad_args = ["--generator", str(tmp_path / "G.pth"), "--encoder", str(tmp_path / "E_bad.pth")]
    assert import_main(bad_args + ["-o", str(tmp_path / "x.safetensors")]) == 2
