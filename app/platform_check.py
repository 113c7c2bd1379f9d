"""Catch a Linux desktop that lacks the system libraries of Qt's X11 plugin before Qt aborts.

Without them Qt prints a long message naming only one library (often the wrong one) and the
process aborts (exit 134); we print one line naming every missing package instead.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable

# What Qt's xcb platform plugin (libqxcb.so, libQt6XcbQpa.so.6) links against:
# soname -> (Debian/Ubuntu package, Fedora package)
XCB_LIBRARIES = {
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
}


def _loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def uses_xcb(environ=None, platform: str | None = None) -> bool:
    """True when Qt will pick its X11 plugin: Linux, and no other platform chosen."""
    environ = os.environ if environ is None else environ
    if not (platform or sys.platform).startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        return chosen.split(";")[0].split(":")[0] == "xcb"
    wayland = environ.get("WAYLAND_DISPLAY") and environ.get("XDG_SESSION_TYPE") == "wayland"
    return not wayland


def missing_xcb_libraries(loads: Callable[[str], bool] | None = None) -> list[str]:
    """The sonames of ``XCB_LIBRARIES`` that cannot be loaded."""
    loads = loads or _loads
    return [name for name in XCB_LIBRARIES if not loads(name)]


def install_hint(missing: list[str]) -> str:
    """One line: what is missing and the commands that install it."""

    def packages(column: int) -> str:
        return " ".join(dict.fromkeys(XCB_LIBRARIES[name][column] for name in missing))

    return (
        f"Qt's X11 platform plugin needs system libraries that are missing "
        f"({', '.join(missing)}); install them with: sudo apt install {packages(0)} "
        f"(Debian/Ubuntu) or sudo dnf install {packages(1)} (Fedora)"
    )


def platform_problem(environ=None, loads: Callable[[str], bool] | None = None) -> str:
    """A one-line message when Qt cannot start on this desktop, else ""."""
    environ = os.environ if environ is None else environ
    if not uses_xcb(environ):
        return ""
    missing = missing_xcb_libraries(loads)
    if missing:
        return install_hint(missing)
    if not environ.get("DISPLAY"):
        return (
            "no display to open a window on (DISPLAY is not set); start it from a desktop "
            "session, or set QT_QPA_PLATFORM=offscreen for a run without a window"
        )
    return ""
