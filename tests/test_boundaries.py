"""The engine never imports Qt; light engine modules don't even import torch."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_engine_does_not_import_qt():
    code = (
        "import sys, engine, engine.infer, engine.train, engine.cli.mix, engine.cli.train, "
        "engine.cli.data, engine.model_file, engine.data\n"
        "from engine import MixNMatch, Mixer\n"
        "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken', "
        "'qimage2ndarray', 'app'))))"
    )
    assert _run(code) == "[]"


def test_engine_sources_never_mention_qt():
    for path in (ROOT / "engine").rglob("*.py"):
        text = path.read_text()
        assert "PySide6" not in text and "from app" not in text, path


def test_config_and_synth_import_without_torch():
    assert _run("import sys, engine.config, engine.synth; print('torch' in sys.modules)") == "False"
