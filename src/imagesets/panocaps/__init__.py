"""PanoCaps: panoptic grounded captions (a scene caption whose inline tags link phrases to masks).

Read a split with ``imagesets.panocaps.load(root, split)`` (JSON pair or Parquet), then index it
by position or image id; see :mod:`.split` for the objects, :mod:`.tags` for the tag syntax and
:mod:`.formats` for the file layouts.
"""

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
from .split import PanoCapsSplit, Phrase, Region, Sample, load
from .tags import ParsedCaption, Tag, parse_tagged_caption, strip_tags

__all__ = [
    "PARQUET_SCHEMA",
    "SPLITS",
    "PanoCapsSplit",
    "ParsedCaption",
    "Phrase",
    "Region",
    "Sample",
    "SplitData",
    "Tag",
    "available_splits",
    "load",
    "parse_tagged_caption",
    "read_json_pair",
    "read_parquet",
    "read_split_data",
    "strip_tags",
    "write_json_pair",
    "write_parquet",
]
