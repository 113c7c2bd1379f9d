"""Safe file input and output shared by every reader and writer of user files.

* ``open_raster``: Pillow restricted to raster formats, so no file is ever handed to Ghostscript
  (EPS/PS are detected by content, whatever the file's name) or another external program.
* ``check_input_file`` / ``check_output_file`` / ``check_output_dir``: one clear line for a
  missing file, a folder, a FIFO, a symlink loop, a permission problem or an output that would
  replace an input, before any work is done.
* ``atomic_write``: write to a unique temporary file beside the target, then rename; the temporary
  file is removed whatever goes wrong, and the result gets the usual mode (0666 minus the umask).
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from engine.errors import MixNMatchError

# Pillow formats that are decoded in-process by Pillow itself (never EPS, PS, PDF or plugins
# that call external programs).
RASTER_FORMATS = (
    "PNG",
    "JPEG",
    "GIF",
    "BMP",
    "DIB",
    "TIFF",
    "WEBP",
    "PPM",
    "TGA",
    "ICO",
    "PCX",
    "QOI",
)


def open_raster(source):
    """``PIL.Image.open`` restricted to ``RASTER_FORMATS`` (caller closes or uses ``with``)."""
    from PIL import Image

    Image.init()
    return Image.open(source, formats=[f for f in RASTER_FORMATS if f in Image.OPEN])


def _reason(err: OSError) -> str:
    """A short human reason for a file-system error."""
    if err.errno == errno.ELOOP:
        return "symbolic link loop"
    if err.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if err.errno in (errno.ENOENT, errno.ENOTDIR):
        return "no such file"
    return err.strerror or str(err)


def check_input_file(path: str | os.PathLike, error: type[Exception] = MixNMatchError) -> Path:
    """A readable regular file, or ``error`` naming the problem in one line."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError as err:
        raise error(f"{path}: {_reason(err)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{path}: is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{path}: not a regular file (a pipe, socket or device)")
    if not os.access(path, os.R_OK):
        raise error(f"{path}: permission denied")
    return path


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name the same file (existing or not)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def check_output_file(
    path: str | os.PathLike,
    inputs: Iterable[str | os.PathLike | None] = (),
    error: type[Exception] = MixNMatchError,
) -> Path:
    """An output path that can be written and does not replace any of ``inputs``."""
    path = Path(path)
    for source in inputs:
        if source is not None and same_file(path, source):
            raise error(f"{path}: output would overwrite the input {source}; choose another path")
    if path.is_dir():
        raise error(f"{path}: is a folder; give a file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise error(f"{path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise error(f"{path}: cannot write to folder {folder}: permission denied")
    return path


def check_output_dir(path: str | os.PathLike, error: type[Exception] = MixNMatchError) -> Path:
    """A folder that exists and is writable, or can be created (its nearest parent is)."""
    path = Path(path)
    existing = path
    while not existing.exists():
        if existing.is_symlink() or existing.parent == existing:
            raise error(f"{path}: cannot create folder")
        existing = existing.parent
    if not existing.is_dir():
        raise error(f"{path}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise error(f"{path}: cannot write to {existing}: permission denied")
    return path


def file_mode() -> int:
    """Mode of a newly created file under the current umask (0666 minus the umask)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no /proc: read it by setting it back at once
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(
    path: str | os.PathLike,
    write: Callable[[Path], None],
    what: str,
    error: type[Exception] = MixNMatchError,
) -> Path:
    """Call ``write(tmp)`` for a unique temporary file beside ``path``, then rename it over
    ``path``. Any failure (full disk, missing folder, a library's own error type) becomes one
    ``error`` line and leaves neither a partial ``path`` nor a temporary file behind."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as err:
        raise error(f"{path}: cannot write {what}: {_reason(err)}") from None
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except Exception as err:  # noqa: BLE001 - any writer failure is reported in one line
        reason = _reason(err) if isinstance(err, OSError) else str(err).strip().splitlines()
        if isinstance(reason, list):
            reason = reason[-1] if reason else type(err).__name__
        raise error(f"{path}: cannot write {what}: {reason}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def check_outputs(
    paths: Iterable[str | os.PathLike],
    inputs: Iterable[str | os.PathLike | None] = (),
    error: type[Exception] = MixNMatchError,
) -> None:
    """Check every output file up front (folders that do not exist yet must be creatable),
    so nothing is computed or written when one of them would fail or replace an input."""
    inputs = [i for i in inputs if i is not None]
    for path in map(Path, paths):
        if path.parent.is_dir() or not str(path.parent):
            check_output_file(path, inputs, error)
        else:
            check_output_dir(path.parent, error)
