"""Evaluate panoptic grounded captioning on PanoCaps with the official metrics (and more).

``evaluate(root, split, predictions)`` returns an :class:`EvaluationResult` whose ``metrics``
use the official names (``AP50``, ``Mean IoU (mIoU)``, ``Recall@0.5``, ``Precision@0.5``,
``F1@0.5``, ``gPQ@0.5``), plus TP/FP/FN counts, breakdowns by data source, thing/stuff and
single/plural entities, caption metrics, problems and per-image details.
See ``docs/panocaps_evaluation.md``.
"""

from .evaluate import (
    METRIC_NAMES,
    MODES,
    EvaluationResult,
    GroundTruthImage,
    ImageScore,
    evaluate,
    ground_truth_from_split,
)
from .predictions import open_predictions, prediction_from_text, write_prediction
from .textsim import BACKENDS, OFFICIAL_MODEL, TextSimilarity, load_table, normalize

__all__ = [
    "BACKENDS",
    "METRIC_NAMES",
    "MODES",
    "OFFICIAL_MODEL",
    "EvaluationResult",
    "GroundTruthImage",
    "ImageScore",
    "TextSimilarity",
    "evaluate",
    "ground_truth_from_split",
    "load_table",
    "normalize",
    "open_predictions",
    "prediction_from_text",
    "write_prediction",
]
