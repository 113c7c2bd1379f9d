"""Entry point of the ``mixnmatch`` command: parse options, show the window, load the model.

Qt widgets are imported after the arguments are parsed and torch only on the worker thread,
so the first window appears before the model has loaded.
"""

from __future__ import annotations

import time

_STARTED = time.perf_counter()

import argparse  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from . import APP_NAME, ORG_NAME, __version__  # noqa: E402


def seconds_since_start() -> float:
    """Seconds since the process started (Linux), else since this module was imported."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        with open("/proc/self/stat") as f:
            started = int(f.read().rsplit(")", 1)[1].split()[19]) / ticks
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return max(uptime - started, time.perf_counter() - _STARTED)
    except (OSError, ValueError, IndexError, AttributeError):
        return time.perf_counter() - _STARTED


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="mixnmatch",
        description=f"{APP_NAME}: mix the background, pose, shape and texture of four images.",
    )
    parser.add_argument(
        "images", nargs="*", help="up to four images for Background, Pose, Shape, Texture"
    )
    parser.add_argument(
        "--model", metavar="PATH",
        help="model to open: our .safetensors, or a released G.pth (E.pth, EX.pth beside it); "
        "default: the bundled model",
    )  # fmt: skip
    parser.add_argument(
        "--untrained", metavar="PRESET",
        help="use a randomly initialised model of this preset (to try the interface)",
    )  # fmt: skip
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto",
        help="where the model runs (auto: CUDA when available)",
    )  # fmt: skip
    parser.add_argument(
        "--install-desktop-entry", action="store_true",
        help="install a launcher entry and icon for the current user, then exit",
    )  # fmt: skip
    parser.add_argument(
        "--threads", type=int, metavar="N",
        help="CPU threads per mix (default: the preference, else half the CPUs, at most 4)",
    )  # fmt: skip
    parser.add_argument(
        "--check", action="store_true",
        help="start offscreen-friendly: load the model, mix four examples, print one line "
        "and exit (checks an installation)",
    )  # fmt: skip
    parser.add_argument(
        "--verbose", action="store_true", help="print timings to stderr and show them in the window"
    )  # fmt: skip
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.threads is not None and args.threads < 1:
        print(
            f"mixnmatch: error: --threads must be at least 1, got {args.threads}", file=sys.stderr
        )
        return 2
    if args.install_desktop_entry:
        from .desktop import install_desktop_entry

        entry, icon = install_desktop_entry()
        print(f"installed {entry}\ninstalled {icon}")
        return 0

    from .platform_check import platform_problem

    problem = platform_problem()
    if problem:
        print(f"mixnmatch: error: {problem}", file=sys.stderr)
        return 1

    from PySide6.QtCore import QCoreApplication, QTimer
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    QCoreApplication.setOrganizationName(ORG_NAME)
    QCoreApplication.setApplicationName(APP_NAME)
    QCoreApplication.setApplicationVersion(__version__)
    QGuiApplication.setDesktopFileName("mixnmatch")
    app = QApplication.instance() or QApplication([sys.argv[0]])

    from .icons import app_icon
    from .main_window import MainWindow
    from .model_spec import ModelSpec
    from .theme import apply_theme, follow_system

    window = MainWindow(device=args.device, threads=args.threads, show_timing=args.verbose)
    apply_theme(app, window.theme_setting())
    follow_system(app, window.theme_setting)
    app.setWindowIcon(app_icon())
    window.show()
    app.processEvents()  # let the window map and paint before anything slow starts
    shown = seconds_since_start()
    if args.check:
        _check_when_mixed(app, window)
    if args.verbose:
        print(f"first window after {shown:.2f} s", file=sys.stderr)
        window.session.client.model_loaded.connect(
            lambda info: print(
                f"model {info.name} ({info.preset}, {info.device}) ready after "
                f"{seconds_since_start():.2f} s",
                file=sys.stderr,
            )
        )

    if args.model:
        spec = ModelSpec.for_path(Path(args.model).expanduser(), args.device)
    elif args.untrained:
        spec = ModelSpec(kind="random", preset=args.untrained, device=args.device)
    else:
        spec = ModelSpec(kind="bundled", device=args.device)
    QTimer.singleShot(0, lambda: window.session.load_model(spec))
    images = args.images or (window.gallery.paths()[:4] if args.check else [])
    for slot, image in zip(("background", "pose", "shape", "texture"), images):
        window.session.set_slot_source(slot, str(Path(image).expanduser()))
    code = app.exec()
    window.shutdown()  # in case the loop ended without closing the window
    return code


def _check_when_mixed(app, window, timeout_s: int = 120) -> None:
    """For --check: print one line and quit on the first result or failure (or timeout)."""
    from PySide6.QtCore import QTimer

    def finish(code: int, line: str) -> None:
        print(line, file=sys.stdout if code == 0 else sys.stderr, flush=True)
        app.exit(code)

    def on_result(outcome) -> None:
        if outcome.complete:
            info = window.session.model_info
            finish(0, f"ok: {info.name} ({info.preset}, {info.device}, {info.threads} threads), "
                      f"{outcome.array.shape[1]}x{outcome.array.shape[0]} composite")  # fmt: skip

    session = window.session
    session.client.result_arrived.connect(on_result)
    session.client.model_failed.connect(lambda m: finish(1, f"mixnmatch: error: {m}"))
    session.client.mix_failed.connect(lambda m: finish(1, f"mixnmatch: error: {m}"))
    session.loader.failed.connect(lambda _s, m: finish(1, f"mixnmatch: error: {m}"))
    QTimer.singleShot(timeout_s * 1000, lambda: finish(1, "mixnmatch: error: no result in time"))


if __name__ == "__main__":
    sys.exit(main())
