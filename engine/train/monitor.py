"""Quick evaluations during training (``--eval-every K --eval-data DIR``).

Every K stage-1 steps, at the end of stage 1 and at the end of the run, the EMA generator (with
standing BatchNorm statistics) and the encoders are probed on a validation folder by the
SynthBirds oracle (``engine.evaluate.probes``). Every figure goes to ``metrics.jsonl`` as an
``event: eval`` row and the learning-curve figure ``learning_curves.png`` is redrawn. Probes use
their own random generators, so a run with evaluations trains exactly as one without.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from engine.errors import MixNMatchError
from engine.train.trainer import Trainer

log = logging.getLogger(__name__)


class Monitor:
    """Owns the validation crops and the oracle; ``run`` evaluates the trainer's model."""

    def __init__(self, trainer: Trainer, run_dir: Path, data_dir: str, pairs: int) -> None:
        from engine.evaluate.labels import load_labelled
        from engine.evaluate.oracle import DEFAULT_FILE, Oracle
        from engine.evaluate.probes import QuickEval
        from engine.resources import resources_dir

        try:
            data = load_labelled(data_dir, require_independent=True)
        except MixNMatchError as err:
            raise MixNMatchError(f"--eval-data: {err}") from None
        oracle = Oracle.load(resources_dir() / "oracle" / DEFAULT_FILE, trainer.device)
        size = trainer.cfg.model.image_size
        self.quick = QuickEval.prepare(data, oracle, size, pairs)
        self.trainer, self.run_dir = trainer, run_dir
        self.seconds = 0.0
        self.best: float | None = None

    def run(self, stage: int, step: int, images_seen: int, with_extractor: bool) -> dict:
        """Evaluate now; append the row to metrics.jsonl and redraw the learning curves."""
        from engine.evaluate.curves import write_learning_curves
        from engine.evaluate.probes import flat_metrics

        start = time.perf_counter()
        t = self.trainer
        nets = {
            "generator": t.generator_ema if t.ema_calibrated else t.recalibrate_ema(),
            "encoders": t.encoders,
        }
        if with_extractor:
            nets["extractor"] = t.extractor
        was = {k: n.training for k, n in nets.items()}
        try:
            result = self.quick.evaluate_networks(t.cfg.model, nets, t.device)
        finally:
            for k, n in nets.items():
                n.train(was[k])
        seconds = time.perf_counter() - start
        self.seconds += seconds
        row = {
            "event": "eval",
            "stage": stage,
            "step": step,
            "images_seen": images_seen,
            "eval_seconds": round(seconds, 2),
            **flat_metrics(result),
        }
        with open(self.run_dir / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps(row) + "\n")
        write_learning_curves(self.run_dir / "metrics.jsonl", self.run_dir / "learning_curves.png")
        code = result["transfer"]["code"]
        log.info(
            "eval at stage %d step %d (%d images): code bg %.0f%% shape %.0f%% texture %.0f%% "
            "facing %.0f%%; p-shape NMI %.2f, p-background %.2f; %.1f s",
            stage, step, images_seen, *(100 * code[f]["accuracy"] for f in
            ("background", "shape", "texture", "facing")),
            result["generator"]["nmi"]["p"]["shape"], result["generator"]["nmi"]["p"]["background"],
            seconds,
        )  # fmt: skip
        return row
