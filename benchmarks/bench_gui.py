"""GUI responsiveness: time to first window, and the longest UI-thread stall during a burst.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py [--model PATH] [--changes 20]
    xvfb-run -s "-screen 0 1400x900x24" python benchmarks/bench_gui.py --screenshot shot.png \
        --images BG POSE SHAPE TEXTURE --gallery FOLDER

A 5 ms QTimer heartbeat on the UI thread records the largest gap between ticks while the
model loads and while a burst of slot changes (new images, re-rolls, crop edits) is mixed on
the worker thread. Without --model it uses the bundled model, else an untrained demo model.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.main import seconds_since_start  # noqa: E402  (first: marks the start)


class Heartbeat:
    """Records the longest interval between 5 ms timer ticks on the UI thread."""

    def __init__(self, interval_ms: int = 5) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.interval = interval_ms / 1000
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.reset()

    def reset(self) -> None:
        self.last = time.perf_counter()
        self.max_gap = 0.0
        self.ticks = 0

    def _tick(self) -> None:
        now = time.perf_counter()
        self.max_gap = max(self.max_gap, now - self.last)
        self.last = now
        self.ticks += 1

    def start(self) -> None:
        self.reset()
        self.timer.start()


def wait_until(condition, timeout: float = 300.0) -> None:
    """Run the event loop (as the app would) until ``condition()`` holds."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    end = time.perf_counter() + timeout

    def check() -> None:
        if condition() or time.perf_counter() > end:
            loop.quit()

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(check)
    timer.start()
    check()
    if loop.isRunning() or not condition():
        loop.exec()
    timer.stop()
    if not condition():
        raise TimeoutError("timed out")


def sample_images(folder: Path) -> list[Path]:
    from app.resources import example_images

    found = example_images()
    if len(found) >= 8:
        return found[:24]
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(8):
        path = folder / f"bench-{i}.png"
        Image.fromarray(rng.integers(0, 255, (200, 260, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model file (default: bundled, else untrained demo)")
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--interval-ms", type=int, default=10, help="time between changes")
    parser.add_argument("--images", nargs=4, metavar="IMAGE", help="the four starting images")
    parser.add_argument("--gallery", metavar="FOLDER", help="show this folder in the gallery")
    parser.add_argument("--screenshot", metavar="PNG", help="afterwards, save the window here")
    args = parser.parse_args()

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    from app.main_window import MainWindow
    from app.model_spec import ModelSpec
    from app.theme import apply_theme

    apply_theme(app)
    scratch = Path(os.environ.get("TMPDIR", "/tmp")) / "mixnmatch-bench"
    settings = QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat)
    settings.clear()  # a first start: default layout
    window = MainWindow(settings=settings)
    window.show()
    app.processEvents()
    first_window = seconds_since_start()

    heartbeat = Heartbeat()
    heartbeat.start()
    if args.model:
        spec = ModelSpec.for_path(args.model)
    else:
        from app.resources import ROOT

        bundled = any((ROOT / "models").glob("*.safetensors"))
        spec = ModelSpec(kind="bundled") if bundled else ModelSpec(kind="random", preset="demo")
    started = time.perf_counter()
    window.session.load_model(spec)
    wait_until(lambda: window.session.model_info is not None or "not loaded" in window.last_message)
    if window.session.model_info is None:
        print(f"model failed: {window.last_message}", file=sys.stderr)
        return 1
    model_seconds = time.perf_counter() - started
    load_stall = heartbeat.max_gap

    images = sample_images(scratch / "images")
    slots = ("background", "pose", "shape", "texture")
    start = [Path(p) for p in args.images] if args.images else images[:4]
    for slot, path in zip(slots, start):
        window.session.set_slot_source(slot, str(path))
    wait_until(lambda: all(window.session.combination[s].has_image for s in slots))
    wait_until(lambda: window.session.outcome is not None and not window.session.client.busy)

    heartbeat.reset()  # baseline: the same heartbeat while the app is idle
    pause = time.perf_counter() + 1.0
    wait_until(lambda: time.perf_counter() >= pause)
    idle_stall, idle_ticks = heartbeat.max_gap, heartbeat.ticks

    dropped_before = window.session.client.dropped_stale
    undo_index = window.session.undo_stack.index()
    heartbeat.reset()
    burst_start = time.perf_counter()
    for i in range(args.changes):
        slot = slots[i % 4]
        kind = i % 3
        if kind == 0:
            window.session.set_slot_source(slot, str(images[(i + 4) % len(images)]))
        elif kind == 1:
            window.session.reroll_slot(slot, seed=1000 + i)
        else:
            box = window.session.combination[slot].effective_box
            if box is not None:
                x, y, w, h = box
                window.session.set_box(slot, (x + 1, y + 1, max(8, w - 2), max(8, h - 2)))
        pause = time.perf_counter() + args.interval_ms / 1000
        wait_until(lambda pause=pause: time.perf_counter() >= pause)
    issued = time.perf_counter()
    wait_until(lambda: not window.session.loader.pending() and not window.session.client.busy)
    settled = time.perf_counter()
    burst_stall = heartbeat.max_gap

    info = window.session.model_info
    print(f"model: {info.name} ({info.preset}, {info.device})")
    print(f"time to first window: {first_window:.2f} s (from process start)")
    print(f"model loaded after: {model_seconds:.2f} s; longest UI stall meanwhile: "
          f"{load_stall * 1000:.0f} ms")  # fmt: skip
    dropped = window.session.client.dropped_stale - dropped_before
    print(f"burst: {args.changes} slot changes over {issued - burst_start:.2f} s; "
          f"result settled {settled - issued:.2f} s after the last change; "
          f"{dropped} stale results dropped")  # fmt: skip
    print(f"longest UI-thread stall during the burst: {burst_stall * 1000:.1f} ms "
          f"({heartbeat.ticks} heartbeats at 5 ms in {settled - burst_start:.2f} s)")  # fmt: skip
    print(f"idle baseline (1 s, no work): longest gap {idle_stall * 1000:.1f} ms "
          f"({idle_ticks} heartbeats)")  # fmt: skip
    if args.screenshot:
        if args.gallery:
            window.gallery.set_folder(Path(args.gallery))
            window.gallery.wait(5000)
        window.session.undo_stack.setIndex(undo_index)  # back to the four starting images
        window.resize(1400, 880)
        window.focus_slot("shape")
        wait_until(lambda: not window.session.client.busy)
        window.statusBar().clearMessage()
        pause = time.perf_counter() + 0.5
        wait_until(lambda: time.perf_counter() >= pause)
        window.grab().save(args.screenshot)
        print(f"screenshot: {args.screenshot}")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
