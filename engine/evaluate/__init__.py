"""Evaluation of MixNMatch models on labelled SynthBirds folders.

An *oracle* (a small CNN trained on independent SynthBirds images) reads background, shape,
texture and pose from a composite; ``evaluate`` measures factor transfer, reconstruction and
realism with it and ``write_report`` writes report.json, summary.md and the report images.
"""

from engine.evaluate.labels import LabelledSet, load_labelled
from engine.evaluate.oracle import Oracle, OracleConfig, TrainSettings, train_oracle
from engine.evaluate.run import EvalSettings, evaluate
from engine.evaluate.summary import summary_markdown
from engine.evaluate.writing import write_report

__all__ = [
    "EvalSettings",
    "LabelledSet",
    "Oracle",
    "OracleConfig",
    "TrainSettings",
    "evaluate",
    "load_labelled",
    "summary_markdown",
    "train_oracle",
    "write_report",
]
