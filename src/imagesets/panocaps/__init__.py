"""PanoCaps: panoptic grounded captions (a scene caption whose inline tags link phrases to masks).

Read a split with ``imagesets.panocaps.load(root, split)`` (JSON pair or Parquet), then index it
by position or image id; see :mod:`.split` for the objects, :mod:`.tags` for the tag syntax and
:mod:`.formats` for the file layouts. ``TrainingDataset`` and ``collate`` (:mod:`.training`) need
torch, which is imported only when they are first used.
"""

from typing import Any

from .convert import convert, export_coco_panoptic
from .dataset import ENTRY, LICENSE, PanoCapsDataset
from .download import download_panocaps
from .evaluation import evaluate, prediction_from_text, write_prediction
from .formats import (
    PARQUET_SCHEMA,
    SPLITS,
    SplitData,
    available_splits,
    read_json_pair,
    read_parquet,
    read_split_data,
    write_json_pair,
    write_parquet,
)
from .split import FIELDS, CaptionMismatchWarning, PanoCapsSplit, Phrase, Region, Sample, load
from .tags import ParsedCaption, Tag, parse_tagged_caption, strip_tags
from .validate import Problem, ValidationReport, validate_split
from .viewer import show_prediction, write_prediction_report
from .visualize import render_sample, show, write_report

__all__ = [
    "ENTRY",
    "FIELDS",
    "CaptionMismatchWarning",
    "LICENSE",
    "PARQUET_SCHEMA",
    "SPLITS",
    "PanoCapsDataset",
    "PanoCapsSplit",
    "ParsedCaption",
    "Phrase",
    "Problem",
    "Region",
    "Sample",
    "SplitData",
    "Tag",
    "TrainingDataset",
    "ValidationReport",
    "available_splits",
    "collate",
    "convert",
    "download_panocaps",
    "evaluate",
    "export_coco_panoptic",
    "load",
    "parse_tagged_caption",
    "prediction_from_text",
    "read_json_pair",
    "read_parquet",
    "read_split_data",
    "render_sample",
    "show",
    "show_prediction",
    "strip_tags",
    "validate_split",
    "write_json_pair",
    "write_parquet",
    "write_prediction",
    "write_prediction_report",
    "write_report",
]


_TRAINING = ("TrainingDataset", "collate", "AUTHORS_MAX_PHRASES")


def __getattr__(name: str) -> Any:
    """The torch-based training names, imported on first use (torch is an optional extra)."""
    if name in _TRAINING:
        from . import training

        return getattr(training, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
