"""Split a file into numbered parts with a SHA-256 list, and join them back, verified.

Used to carry large model files through size-limited channels:
``NAME.part000, NAME.part001, ...`` plus ``NAME.sha256`` (``sha256sum -c`` format, one line per
part and one for the whole file). Join and verify by hand with
``cat NAME.part* > NAME && sha256sum -c NAME.sha256``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from engine.errors import MixNMatchError

CHUNK = 1 << 20


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def split_file(path: str | Path, part_mb: float) -> list[Path]:
    """Write ``path``'s parts of at most ``part_mb`` MB (10^6 bytes) and the SHA-256 list."""
    path = Path(path)
    limit = int(part_mb * 1_000_000)
    if limit < 1:
        raise MixNMatchError(f"part size must be positive, got {part_mb} MB")
    for old in path.parent.glob(path.name + ".part*"):
        old.unlink()
    parts = []
    with open(path, "rb") as src:
        while block := src.read(limit):
            part = path.with_name(f"{path.name}.part{len(parts):03d}")
            part.write_bytes(block)
            parts.append(part)
    lines = [f"{_sha256(p)}  {p.name}" for p in parts] + [f"{_sha256(path)}  {path.name}"]
    path.with_name(path.name + ".sha256").write_text("\n".join(lines) + "\n")
    return parts


def join_parts(first_part_or_name: str | Path, out: str | Path | None = None) -> Path:
    """Join ``NAME.part*`` into ``NAME`` (or ``out``) and verify every SHA-256 in the list."""
    name = Path(str(first_part_or_name).split(".part")[0])
    sums = name.with_name(name.name + ".sha256")
    if not sums.is_file():
        raise MixNMatchError(f"{sums}: SHA-256 list not found")
    expected = {}
    for line in sums.read_text().splitlines():
        digest, _, file = line.partition("  ")
        expected[file.strip()] = digest.strip()
    parts = sorted(name.parent.glob(name.name + ".part[0-9][0-9][0-9]"))
    if not parts:
        raise MixNMatchError(f"{name}: no parts found")
    for p in parts:
        if expected.get(p.name) != _sha256(p):
            raise MixNMatchError(f"{p}: SHA-256 does not match {sums.name}")
    target = Path(out) if out else name
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "wb") as dst:
        for p in parts:
            dst.write(p.read_bytes())
    if expected.get(name.name) != _sha256(tmp):
        tmp.unlink()
        raise MixNMatchError(f"{target}: joined file does not match {sums.name}")
    tmp.replace(target)
    return target
