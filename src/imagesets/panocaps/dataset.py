"""The catalog entry of PanoCaps and the dataset object ``imagesets.load("panocaps")`` returns.

Preparing records which splits a folder holds (a small JSON index in the data home) and shows
the license notice; opening gives a :class:`PanoCapsDataset` following the dataset contract:
``.sets``, ``ds[split]`` (a :class:`~imagesets.panocaps.split.PanoCapsSplit`), ``.info()``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..catalog import DatasetEntry, Option, PreparedTask, PrepareRequest, Task, register
from ..contract import INFO_KEYS, DatasetBase
from ..errors import InvalidDataError, NotFoundError
from ..fsutil import atomic_write_text, stat_stamp
from .download import REPO_ID, download_panocaps
from .formats import SPLITS, available_splits, find_json_pair, find_parquet_files
from .split import FIELDS, PanoCapsSplit, load

NAME = "panocaps"
TASK = "grounded_captioning"
HOMEPAGE = "https://huggingface.co/datasets/HuggingSara/PanoCaps"

LICENSE = ("Research-only, non-commercial use (PanoCaps annotations, as stated by the authors). "
           "The images are not part of PanoCaps and stay under the terms of ADE20K, "
           "COCO/COCONut and VIPSeg.")

LICENSE_NOTICE = (f"PanoCaps license notice: {LICENSE} By preparing or using it you accept "
                  "these terms; do not use it for commercial purposes.")

SETUP = f"""\
The annotations (captions with inline tags + COCO RLE panoptic masks) are on the Hugging Face
Hub dataset {REPO_ID}. Fetch them (needs: pip install 'imagesets[panocaps]'):
  imagesets download panocaps --data-dir /path/to/panocaps      (HF_ENDPOINT picks a mirror)
The folder then holds data/{{train,val,test}}-*.parquet (and annotations/{{split}}_caption.json
+ {{split}}_mask.json when the JSON pairs are published or converted with
`imagesets convert panocaps --to json`). Either layout is read.
The images are NOT included: get them from their sources, ADE20K (ADEChallengeData2016, from
the MIT scene-parsing site), COCONut (COCO 2017 / Objects365 images, from the COCONut release)
and VIPSeg (video frames, from the VIPSeg release), and place them so that
IMAGES_DIR/<file_name> exists for each image (`imagesets validate panocaps --data-dir ROOT
--images-dir IMAGES_DIR` lists what is missing). Then:
  imagesets prepare panocaps --data-dir /path/to/panocaps
{LICENSE_NOTICE}"""


class PanoCapsDataset(DatasetBase):
    """The prepared PanoCaps folder as a :class:`~imagesets.contract.Dataset`: ``.sets``
    (splits), ``ds[split]``, ``.info()``."""

    name = NAME
    task = TASK

    def __init__(self, root: str | os.PathLike, sets: tuple[str, ...] | None = None,
                 images_dir: str | os.PathLike | None = None,
                 counts: dict[str, int] | None = None) -> None:
        self.root = Path(root)
        self.sets = tuple(sets) if sets else available_splits(self.root)
        self.images_dir = None if images_dir is None else Path(images_dir)
        self._counts = dict(counts or {})
        self._splits: dict[str, PanoCapsSplit] = {}

    def __repr__(self) -> str:
        return f"<PanoCapsDataset {self.root} sets={list(self.sets)}>"

    def __getitem__(self, split: str) -> PanoCapsSplit:
        if split not in self.sets:
            raise NotFoundError(f"PanoCaps has no prepared split '{split}' in {self.root}; "
                                f"splits: {', '.join(self.sets) or 'none'}")
        if split not in self._splits:
            self._splits[split] = load(self.root, split, self.images_dir)
        return self._splits[split]

    def info(self) -> dict[str, Any]:
        """The contract's description (:data:`~imagesets.contract.INFO_KEYS`): splits with
        image counts, the annotation files read, the license."""
        counts = {s: len(self._splits[s]) if s in self._splits else self._counts.get(s)
                  for s in self.sets}
        files = [str(p) for s in self.sets for p in _split_files(self.root, s)]
        values = {"name": NAME, "task": TASK, "sets": counts, "data_dir": str(self.root),
                  "files": files, "license": LICENSE}
        return {key: values[key] for key in INFO_KEYS}

    def close(self) -> None:
        """Drop the splits read so far (annotations are held in memory; no file stays open)."""
        self._splits.clear()


def _split_files(root: Path, split: str) -> list[Path]:
    pair = find_json_pair(root, split)
    return list(pair) if pair else find_parquet_files(root, split)


def _inputs(root: Path, options: Mapping[str, Any]) -> str:
    """The cheap input check: stats of the annotation files of the prepared splits."""
    found = available_splits(root) if root.is_dir() else ()
    wanted = options.get("sets") or found
    return ",".join(found) + ":" + stat_stamp(f for s in wanted for f in _split_files(root, s))


def _prepare(request: PrepareRequest) -> PreparedTask:
    print(LICENSE_NOTICE, file=sys.stderr)
    root = request.data_dir
    found = available_splits(root) if root.is_dir() else ()
    wanted = tuple(request.options.get("sets") or found)
    if not wanted:
        raise NotFoundError(f"no PanoCaps split under {root} (looked for annotations/"
                            f"{{split}}_caption.json and data/{{split}}-*.parquet).\n{SETUP}")
    counts: dict[str, int] = {}
    files: list[Path] = []
    for split in wanted:
        dataset_split = load(root, split, cache_size=0)
        counts[split] = len(dataset_split)
        files += _split_files(root, split)
        if request.verbose:
            print(f"panocaps: {split}: {len(dataset_split):,} images, "
                  f"{len(dataset_split.data.masks):,} masks ({dataset_split.data.format})")
    images_dir = request.options.get("images_dir")
    index = {"root": str(root), "sets": list(wanted), "counts": counts,
             "images_dir": None if images_dir is None else str(images_dir),
             "license": LICENSE}
    output = request.metadata_dir / f"{TASK}.json"
    atomic_write_text(output, json.dumps(index, indent=2) + "\n")
    return PreparedTask(NAME, request.task, str(root), str(output), dict(request.options),
                        stat_stamp(files))


def _open(prepared: PreparedTask) -> PanoCapsDataset:
    try:
        index = json.loads(Path(prepared.metadata_file).read_text(encoding="utf-8"))
        return PanoCapsDataset(index["root"], tuple(index["sets"]), index.get("images_dir"),
                               index.get("counts"))
    except (OSError, ValueError, KeyError) as exc:
        raise InvalidDataError(f"the PanoCaps index {prepared.metadata_file} cannot be read "
                               f"({exc}); rebuild it with `imagesets prepare panocaps "
                               "--force`") from exc


ENTRY = register(DatasetEntry(
    name=NAME,
    title="PanoCaps: panoptic grounded captioning (PANORAMA)",
    description=("3,470 images (train 2,070 / val 420 / test 980) from ADE20K, COCONut and "
                 "VIPSeg, each with one human-written scene caption whose inline tags link "
                 "phrases to COCO-RLE panoptic masks (~34K regions)."),
    keywords=("grounded_captioning", "panoptic_segmentation", "captioning"),
    size="annotations ~25 MB (Parquet); images from ADE20K, COCONut and VIPSeg (user-provided)",
    downloadable=True,
    tasks=(Task(TASK, "captions, tagged phrases and panoptic masks per image", (
        Option("sets", "only these splits (default: every split present)", multiple=True,
               choices=SPLITS, aliases=("--split",), metavar="SPLIT"),
        Option("images_dir", "where the images are (PanoCaps ships annotations "
               "only)", type=Path, remembered=True, metavar="DIR"))),),
    default_task=TASK,
    sets=("train", "val", "test"),
    fields=FIELDS,
    setup=SETUP,
    license=LICENSE,
    homepage=HOMEPAGE,
    prepare=_prepare,
    open=_open,
    download=download_panocaps,
    inputs=_inputs,
))
