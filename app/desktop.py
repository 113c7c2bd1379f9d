"""``mixnmatch --install-desktop-entry``: a launcher entry and icon for the current user."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from .resources import DESKTOP_FILE, icon_path

ENTRY_NAME = "mixnmatch.desktop"


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def launch_command() -> str:
    """An absolute command line that starts the app, as a desktop-entry Exec value."""
    script = Path(sys.executable).with_name("mixnmatch")
    if script.is_file():
        return _quote(str(script))
    found = shutil.which("mixnmatch")
    if found:
        return _quote(str(Path(found).resolve()))
    main_py = Path(__file__).resolve().parent.parent / "main.py"
    return f"{_quote(sys.executable)} {_quote(str(main_py))}"


def _quote(arg: str) -> str:
    if not any(c in arg for c in " \t\"'\\$`"):
        return arg
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`")
    return f'"{escaped}"'


def install_desktop_entry(target: Path | None = None) -> tuple[Path, Path]:
    """Write the .desktop entry and icon under ``target`` (default $XDG_DATA_HOME)."""
    root = target if target is not None else data_home()
    icon_dir = root / "icons" / "hicolor" / "scalable" / "apps"
    app_dir = root / "applications"
    icon_dir.mkdir(parents=True, exist_ok=True)
    app_dir.mkdir(parents=True, exist_ok=True)
    icon = icon_dir / "mixnmatch.svg"
    shutil.copyfile(icon_path("mixnmatch"), icon)
    lines = []
    for line in DESKTOP_FILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("Exec="):
            line = f"Exec={launch_command()} %F"
        elif line.startswith("Icon="):
            line = f"Icon={icon}"
        lines.append(line)
    entry = app_dir / ENTRY_NAME
    entry.write_text("\n".join(lines) + "\n", encoding="utf-8")
    entry.chmod(0o755)
    return entry, icon
