"""The model lives on one worker thread; the UI talks to it through ``MixClient``.

Latest request wins (as in stylegan3's async renderer and ndv's generation counter):
every request carries an increasing id, the worker only runs the newest pending one, and
the client drops any result older than the newest request it sent.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from .loader import load_reference
from .model_spec import ModelSpec, describe_model
from .off_thread import one_line
from .qt_image import array_to_qimage
from .state import Combination, MixOutcome, MixRequest, ModelInfo, SlotReport, SlotState

SWEEP_CHUNK = 8  # references per batched sweep call (progress and cancel granularity)


@dataclass
class Job:
    """A batch of mixes where one slot varies (sheet or animation). Cancel between chunks."""

    id: int
    kind: str  # "sweep": one mix per source; "interpolate": between sources[0] and sources[1]
    slot: str
    combination: Combination
    sources: tuple = ()  # file paths, PIL images or slot states (which keep their crop)
    names: tuple = ()
    steps: int = 8
    frames_of: str = ""  # "sweep" over the frames of this animated file instead
    cancel_event: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()


@dataclass(frozen=True)
class JobFrame:
    label: str
    image: object  # QImage
    array: object  # (S, S, 3) uint8
    source: object = None  # QImage of the varying reference, if any


@dataclass(frozen=True)
class JobResult:
    job_id: int
    frames: tuple[JobFrame, ...]
    skipped: tuple[str, ...] = ()
    cancelled: bool = False
    records: dict = field(default_factory=dict)  # a sweep's fixed slots -> engine.InputRecord


class MixWorker(QObject):
    """Owns the model and its Mixer; every slot here runs on the worker thread."""

    model_loaded = Signal(object)  # ModelInfo
    model_failed = Signal(str)
    mixed = Signal(object)  # MixOutcome
    failed = Signal(int, str)  # request id, one-line message
    job_progressed = Signal(int, int, int)  # job id, done, total
    job_finished = Signal(object)  # JobResult
    job_failed = Signal(int, str)
    _kicked = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._model = None
        self._mixer = None
        self._info: ModelInfo | None = None
        self._applied: dict[str, tuple] = {}  # slot -> SlotState.key() set on the mixer
        self._references: dict[tuple, object] = {}  # (uid, box, crop) -> engine.Reference
        self._reports: dict[tuple, SlotReport] = {}
        self._pending: MixRequest | None = None
        self._scheduled = False
        self._kicked.connect(self._on_kicked, Qt.ConnectionType.QueuedConnection)

    # -- model -------------------------------------------------------------------------------
    @Slot(object)
    def load_model(self, spec: ModelSpec) -> None:
        try:
            model = spec.load()
            info = describe_model(model, spec)
            mixer = model.mixer()
        except Exception as error:  # keep the previous model
            self._log(error)
            self.model_failed.emit(one_line(error))
            return
        self._model, self._mixer, self._info = model, mixer, info
        self._applied.clear()
        self._reports.clear()
        self.model_loaded.emit(info)
        self._schedule()

    @Slot(object)
    def set_threads(self, threads: int | None) -> None:
        """CPU threads for the current model (None: the engine's policy); next mix uses it."""
        if self._model is not None:
            import engine

            self._model.threads = engine.resolve_threads(threads)

    # -- live mixing -------------------------------------------------------------------------
    @Slot(object)
    def request_mix(self, request: MixRequest) -> None:
        if self._pending is None or request.id > self._pending.id:
            self._pending = request
        self._schedule()

    def _schedule(self) -> None:
        if self._pending is not None and self._mixer is not None and not self._scheduled:
            self._scheduled = True
            self._kicked.emit()  # queued: requests already posted are drained first

    @Slot()
    def _on_kicked(self) -> None:
        self._scheduled = False
        request, self._pending = self._pending, None
        if request is None:
            return
        try:
            outcome = self._mix(request)
        except Exception as error:
            self._log(error)
            self.failed.emit(request.id, one_line(error))
            return
        self.mixed.emit(outcome)

    def _mix(self, request: MixRequest) -> MixOutcome:
        combination = request.combination
        self._apply(combination)
        missing = tuple(self._mixer.missing(combination.mode))
        reports = self._slot_reports(combination)
        if missing:
            return MixOutcome(request.id, combination, missing=missing, reports=reports)
        result = self._mixer.mix(combination.mode)
        return MixOutcome(
            request_id=request.id,
            combination=combination,
            image=array_to_qimage(result.image),
            array=result.image,
            layers={name: array_to_qimage(a) for name, a in result.layers.items()},
            layer_arrays=dict(result.layers),
            seconds=float(result.seconds),
            reports=reports,
        )

    def _apply(self, combination: Combination) -> None:
        """Hand the mixer only the slots whose image, box or code changed."""
        for slot, state in combination.items():
            key, before = state.key(), self._applied.get(slot)
            if before == key:
                continue
            self._applied.pop(slot, None)  # stays unset if the engine raises below
            same_image = before is not None and before[:3] == key[:3]
            if not (same_image and state.code is not None):  # a new code alone keeps the image
                self._mixer.set_reference(slot, self._reference(state))
            if state.code is not None:
                if state.code.kind == "seed":
                    self._mixer.reroll(slot, state.code.value)
                else:
                    self._mixer.set_code(slot, index=state.code.value)
            self._applied[slot] = key

    def _reference(self, state: SlotState):
        if state.reference is None:
            return None
        key = (state.uid, state.box, state.crop)
        reference = self._references.get(key)
        if reference is None:
            if len(self._references) > 64:
                self._references.clear()
            reference = state.model_reference()
            self._references[key] = reference
        return reference

    def _slot_reports(self, combination: Combination) -> dict[str, SlotReport]:
        reports = {}
        for slot, state in combination.items():
            if state.image is None:
                continue
            key = (slot, state.uid, state.box, state.crop)
            if key not in self._reports:
                from engine import InputRecord

                reference = self._reference(state)
                top_k = () if slot == "pose" else tuple(self._mixer.top_k(slot, 5))
                self._reports[key] = SlotReport(
                    record=InputRecord.of(reference),
                    top_k=tuple((int(i), float(p)) for i, p in top_k),
                )
            reports[slot] = self._reports[key]
        return reports

    # -- batch jobs (sheets, animations) -----------------------------------------------------
    @Slot(object)
    def run_job(self, job: Job) -> None:
        try:
            if self._mixer is None:
                raise RuntimeError("no model loaded yet")
            result = self._run_job(job)
        except Exception as error:
            self._log(error)
            self.job_failed.emit(job.id, one_line(error))
            return
        finally:
            self._applied.pop(job.slot, None)  # re-apply the live reference next mix
        self.job_finished.emit(result)

    def _run_job(self, job: Job) -> JobResult:
        import engine

        self._apply(job.combination)
        mode = job.combination.mode
        skipped: list[str] = []
        frames: list[JobFrame] = []
        if job.kind == "interpolate":
            a, b = (self._load_reference(s, n, skipped) for s, n in zip(job.sources, job.names))
            if a is None or b is None:
                raise engine.ImageError(skipped[0] if skipped else "two references needed")
            self.job_progressed.emit(job.id, 0, job.steps)
            results = self._mixer.interpolate(job.slot, a, b, job.steps, mode=mode)
            for i, result in enumerate(results):
                label = f"{i + 1}/{len(results)}"
                frames.append(JobFrame(label, array_to_qimage(result.image), result.image))
            self.job_progressed.emit(job.id, job.steps, job.steps)
            return JobResult(job.id, tuple(frames))
        if job.frames_of:
            images = engine.load_frames(job.frames_of)
            items = [(img, f"frame {i + 1}") for i, img in enumerate(images)]
        else:
            items = list(zip(job.sources, job.names))
        total = len(items)
        for start in range(0, total, SWEEP_CHUNK):
            if job.cancelled:
                break
            chunk = [
                (ref, name)
                for ref, name in (
                    (self._load_reference(s, n, skipped), n)
                    for s, n in items[start : start + SWEEP_CHUNK]
                )
                if ref is not None
            ]
            if chunk:
                results = self._mixer.sweep(job.slot, [r for r, _ in chunk], mode=mode)
                for (ref, name), result in zip(chunk, results):
                    source = array_to_qimage(_as_array(ref.image))
                    frames.append(
                        JobFrame(name, array_to_qimage(result.image), result.image, source)
                    )
            self.job_progressed.emit(job.id, min(start + SWEEP_CHUNK, total), total)
        records = self._fixed_records(job)
        return JobResult(job.id, tuple(frames), tuple(skipped), job.cancelled, records)

    def _fixed_records(self, job: Job) -> dict:
        """The InputRecord of every slot with an image that the job leaves as it is."""
        from engine import InputRecord

        return {
            slot: InputRecord.of(self._reference(state))
            for slot, state in job.combination.items()
            if state.has_image and slot != job.slot
        }

    def _load_reference(self, source, name: str, skipped: list[str]):
        """A job's reference, cropped as a slot would crop it: a slot's state keeps its box and
        crop mode, a file or image is loaded as a slot would load it."""
        import engine

        if isinstance(source, SlotState):
            return self._reference(source)
        try:
            return load_reference(source, name)
        except engine.MixNMatchError as error:
            skipped.append(one_line(error))
            return None

    @staticmethod
    def _log(error: BaseException) -> None:
        if not type(error).__module__.startswith("engine"):  # unexpected: keep the traceback
            traceback.print_exception(error, file=sys.stderr)


def _as_array(image):
    import numpy as np

    return np.asarray(image.convert("RGB"))


class MixClient(QObject):
    """UI-thread side: numbers requests, drops stale results, tracks busy state."""

    result_arrived = Signal(object)  # MixOutcome of the newest request
    mix_failed = Signal(str)
    busy_changed = Signal(bool)
    model_load_started = Signal(str)
    model_loaded = Signal(object)  # ModelInfo
    model_failed = Signal(str)
    job_progressed = Signal(int, int, int)
    job_finished = Signal(object)
    job_failed = Signal(int, str)

    _mix_requested = Signal(object)
    _model_requested = Signal(object)
    _job_requested = Signal(object)
    _threads_requested = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._latest_id = 0
        self._answered_id = 0
        self._loading = 0
        self._job_ids = 0
        self._busy = False
        self.dropped_stale = 0  # results that arrived after a newer request was sent
        self.last_request_time = 0.0
        self.model_info: ModelInfo | None = None
        self._thread = QThread()
        self._thread.setObjectName("mix-worker")
        self.worker = MixWorker()
        self.worker.moveToThread(self._thread)
        self._thread.finished.connect(self.worker.deleteLater)
        self._mix_requested.connect(self.worker.request_mix)
        self._model_requested.connect(self.worker.load_model)
        self._job_requested.connect(self.worker.run_job)
        self._threads_requested.connect(self.worker.set_threads)
        self.worker.mixed.connect(self._on_worker_mixed)
        self.worker.failed.connect(self._on_worker_failed)
        self.worker.model_loaded.connect(self._on_worker_model_loaded)
        self.worker.model_failed.connect(self._on_worker_model_failed)
        self.worker.job_progressed.connect(self.job_progressed)
        self.worker.job_finished.connect(self.job_finished)
        self.worker.job_failed.connect(self.job_failed)
        self._thread.start()

    @property
    def latest_id(self) -> int:
        return self._latest_id

    @property
    def busy(self) -> bool:
        return self._busy

    def submit(self, combination: Combination) -> int:
        self._latest_id += 1
        self.last_request_time = time.perf_counter()
        self._mix_requested.emit(MixRequest(self._latest_id, combination))
        self._update_busy()
        return self._latest_id

    def load_model(self, spec: ModelSpec) -> None:
        self._loading += 1
        self.model_load_started.emit(spec.label())
        self._update_busy()
        self._model_requested.emit(spec)

    def set_threads(self, threads: int | None) -> None:
        """Change the loaded model's CPU threads (the worker applies it before its next mix)."""
        self._threads_requested.emit(threads)

    def start_job(self, **fields) -> Job:
        self._job_ids += 1
        job = Job(id=self._job_ids, **fields)
        self._job_requested.emit(job)
        return job

    def shutdown(self) -> None:
        """Stop the worker thread (waits for the running mix to finish)."""
        if self._thread.isRunning():
            self._thread.quit()
            self._thread.wait()

    def _is_stale(self, request_id: int) -> bool:
        return request_id < self._latest_id

    def _on_worker_mixed(self, outcome: MixOutcome) -> None:
        if self._is_stale(outcome.request_id):
            self.dropped_stale += 1
            return
        self._answered_id = outcome.request_id
        self._update_busy()
        self.result_arrived.emit(outcome)

    def _on_worker_failed(self, request_id: int, message: str) -> None:
        if self._is_stale(request_id):
            return
        self._answered_id = request_id
        self._update_busy()
        self.mix_failed.emit(message)

    def _on_worker_model_loaded(self, info: ModelInfo) -> None:
        self._loading -= 1
        self.model_info = info
        self._update_busy()
        self.model_loaded.emit(info)

    def _on_worker_model_failed(self, message: str) -> None:
        self._loading -= 1
        self._update_busy()
        self.model_failed.emit(message)

    def _update_busy(self) -> None:
        busy = self._loading > 0 or (
            self._answered_id < self._latest_id and self.model_info is not None
        )
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)


class JobWatcher(QObject):
    """Follows one job of a MixClient: progress, result or error (others are ignored)."""

    progressed = Signal(int, int)
    finished = Signal(object)  # JobResult
    failed = Signal(str)

    def __init__(self, client: MixClient, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.job: Job | None = None
        client.job_progressed.connect(self._on_client_job_progressed)
        client.job_finished.connect(self._on_client_job_finished)
        client.job_failed.connect(self._on_client_job_failed)

    @property
    def running(self) -> bool:
        return self.job is not None

    def start(self, **fields) -> Job:
        self.cancel()
        self.job = self.client.start_job(**fields)
        return self.job

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _on_client_job_progressed(self, job_id: int, done: int, total: int) -> None:
        if self.job is not None and job_id == self.job.id:
            self.progressed.emit(done, total)

    def _on_client_job_finished(self, result: JobResult) -> None:
        if self.job is not None and result.job_id == self.job.id:
            self.job = None
            self.finished.emit(result)

    def _on_client_job_failed(self, job_id: int, message: str) -> None:
        if self.job is not None and job_id == self.job.id:
            self.job = None
            self.failed.emit(message)
