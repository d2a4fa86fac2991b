"""Conversions: JSON pair ↔ Parquet (lossless), and export to the COCO panoptic format.

COCO panoptic output (what panopticapi and detectron2 read): ``annotations/panoptic_{split}.json``
with ``images``, ``annotations`` (``image_id``, ``file_name``, ``segments_info`` [{id,
category_id, area, bbox, iscrowd}]) and ``categories`` (with ``isthing``), plus one RGB PNG per
image in ``panoptic_{split}/`` whose pixel colour encodes the segment id as
``R + 256·G + 256²·B`` (0 = no segment). Segment ids are the mask annotation ids when those
are positive, unique in the image and below 2^24, else mask position + 1. Where masks overlap
the earlier one (file order) keeps the pixel; ``area``/``bbox`` are recomputed from the PNG and
segments left without pixels are dropped (both counted in the result).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm import tqdm

from ..errors import InvalidDataError
from ..fsutil import atomic_path, atomic_write_text
from .formats import SplitData, available_splits, read_split_data, write_json_pair, write_parquet
from .split import PanoCapsSplit, Sample

TARGETS = ("parquet", "json", "coco-panoptic")
MAX_SEGMENT_ID = 256 ** 3


@dataclass
class ConversionResult:
    """What a conversion wrote, per split, and what it had to change (COCO panoptic only)."""

    target: str
    out_dir: Path
    files: list[Path] = field(default_factory=list)
    splits: dict[str, int] = field(default_factory=dict)
    overlapping_pixels: int = 0
    dropped_segments: int = 0
    written: list[Path] = field(default_factory=list)


def id_to_rgb(id_map: np.ndarray) -> np.ndarray:
    """COCO panoptic colour encoding of a segment id map (``H × W`` → ``H × W × 3`` uint8)."""
    ids = np.asarray(id_map, dtype=np.uint32)
    return np.stack([ids & 0xFF, (ids >> 8) & 0xFF, (ids >> 16) & 0xFF], axis=-1).astype(np.uint8)


def rgb_to_id(rgb: np.ndarray) -> np.ndarray:
    """Inverse of :func:`id_to_rgb`."""
    rgb = np.asarray(rgb, dtype=np.uint32)
    return rgb[..., 0] + 256 * rgb[..., 1] + 256 * 256 * rgb[..., 2]


def segment_ids(sample: Sample) -> list[int]:
    """The COCO panoptic segment id of each mask (annotation ids when usable, else position+1)."""
    ids = [m.get("id") for m in sample.mask_annotations]
    usable = (all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < MAX_SEGMENT_ID
                  for i in ids) and len(set(ids)) == len(ids))
    return list(ids) if usable else list(range(1, len(ids) + 1))


def thing_categories(splits: Sequence[SplitData]) -> dict[Any, int]:
    """``isthing`` per category id: from the category list when it has ``isthing``, else 1 when
    any mask of the category in any of ``splits`` is a thing (so every split agrees)."""
    kinds: dict[Any, set[str]] = {}
    for data in splits:
        for mask in data.masks:
            kinds.setdefault(mask.get("category_id"), set()).add(mask.get("thing_or_stuff"))
    out: dict[Any, int] = {}
    for data in splits:
        for category in data.categories:
            listed = category.get("isthing")
            out.setdefault(category["id"], int(listed) if listed is not None else
                           int("thing" in kinds.get(category["id"], {"thing"})))
    return out


def _categories(data: SplitData, isthing: dict[Any, int]) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    out = []
    for category in data.categories:
        colour = [int(v) for v in rng.integers(0, 256, 3)]
        out.append({"id": category["id"], "name": category["name"],
                    "supercategory": category.get("supercategory", category["name"]),
                    "isthing": isthing.get(category["id"], 1), "color": colour})
    return out


def panoptic_annotation(sample: Sample) -> tuple[np.ndarray, dict[str, Any], int, int]:
    """(segment id map, COCO panoptic annotation, overlapping pixels, dropped segments)."""
    stack = sample.masks()
    ids = segment_ids(sample)
    count = len(ids)
    labels = sample.panoptic_map() + 1                          # 0 = void, k + 1 = mask k
    overlap = int((stack.sum(axis=0, dtype=np.int32) > 1).sum()) if count else 0
    id_map = np.asarray([0, *ids], dtype=np.uint32)[labels]
    areas = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    from scipy import ndimage

    boxes = ndimage.find_objects(labels, max_label=count)
    segments = []
    for position, mask in enumerate(sample.mask_annotations):
        if not areas[position]:
            continue
        rows, columns = boxes[position]
        segments.append({"id": ids[position], "category_id": mask.get("category_id"),
                         "area": int(areas[position]),
                         "bbox": [columns.start, rows.start, columns.stop - columns.start,
                                  rows.stop - rows.start],
                         "iscrowd": int(mask.get("iscrowd") or 0)})
    annotation = {"image_id": sample.image_id, "file_name": f"{sample.image_id}.png",
                  "segments_info": segments}
    return id_map, annotation, overlap, count - len(segments)


def export_coco_panoptic(split: PanoCapsSplit, out_dir: str | os.PathLike,
                         result: ConversionResult | None = None, progress: bool = False,
                         isthing: dict[Any, int] | None = None) -> ConversionResult:
    """Write ``panoptic_{split}.json`` and ``panoptic_{split}/*.png`` under ``out_dir``.

    ``isthing`` (category id → 0/1, see :func:`thing_categories`) defaults to this split's.
    """
    out_dir = Path(out_dir)
    result = result or ConversionResult("coco-panoptic", out_dir)
    png_dir = out_dir / f"panoptic_{split.name}"
    png_dir.mkdir(parents=True, exist_ok=True)
    result.files.append(png_dir)
    images, annotations = [], []
    for sample in tqdm(split, total=len(split), desc=f"panoptic_{split.name}", unit="image",
                       disable=not progress):
        id_map, annotation, overlap, dropped = panoptic_annotation(sample)
        result.overlapping_pixels += overlap
        result.dropped_segments += dropped
        png = png_dir / annotation["file_name"]
        result.written.append(png)
        with atomic_path(png) as tmp:
            Image.fromarray(id_to_rgb(id_map), "RGB").save(tmp, format="PNG")
        images.append({"id": sample.image_id, "file_name": sample.file_name,
                       "height": sample.height, "width": sample.width})
        annotations.append(annotation)
    document = {"images": images, "annotations": annotations,
                "categories": _categories(split.data, isthing or thing_categories([split.data]))}
    json_path = out_dir / "annotations" / f"panoptic_{split.name}.json"
    result.written.append(json_path)
    atomic_write_text(json_path, json.dumps(document, ensure_ascii=False) + "\n")
    result.files.insert(-1, json_path)
    result.splits[split.name] = len(images)
    return result


def _targets(data: SplitData, to: str, out: Path) -> list[Path]:
    if to == "parquet":
        return [out / "data" / f"{data.split}-00000-of-00001.parquet"]
    if to == "json":
        return [out / "annotations" / f"{data.split}_caption.json",
                out / "annotations" / f"{data.split}_mask.json"]
    return [out / "annotations" / f"panoptic_{data.split}.json"]


def _remove_written(result: ConversionResult, created: list[Path]) -> None:
    for path in result.written:
        path.unlink(missing_ok=True)
    for folder in reversed(created):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def convert(root: str | os.PathLike, to: str, out_dir: str | os.PathLike,
            splits: Sequence[str] | None = None, format: str | None = None,
            progress: bool = False) -> ConversionResult:
    """Convert the splits of a PanoCaps folder (all present by default) into ``out_dir``.

    ``to`` is ``parquet`` (``data/{split}-00000-of-00001.parquet``), ``json``
    (``annotations/{split}_caption.json`` + ``{split}_mask.json``) or ``coco-panoptic``.
    Every split is read first; a target that is one of the input files is refused; when a
    conversion fails, the files it wrote are removed again.
    """
    if to not in TARGETS:
        raise InvalidDataError(f"unknown target {to!r}; choose one of {', '.join(TARGETS)}")
    chosen = list(splits) if splits else list(available_splits(root))
    if not chosen:
        read_split_data(root, "val", format)  # raises the clear "nothing found" error
    out = Path(out_dir)
    loaded = [read_split_data(root, name, format) for name in chosen]
    sources = {Path(source).resolve() for data in loaded for source in data.sources}
    for data in loaded:
        clash = [t for t in _targets(data, to, out) if t.resolve() in sources]
        if clash:
            raise InvalidDataError(f"converting to {to} in {out} would overwrite its own input "
                                   f"{clash[0]}; choose another output folder (-o)")
    isthing = thing_categories(loaded)
    result = ConversionResult(to, out)
    created = [p for p in (out, out / "data", out / "annotations") if not p.exists()]
    created += [out / f"panoptic_{d.split}" for d in loaded
                if to == "coco-panoptic" and not (out / f"panoptic_{d.split}").exists()]
    try:
        for data in loaded:
            if to == "coco-panoptic":
                export_coco_panoptic(PanoCapsSplit(data, cache_size=0), out, result, progress,
                                     isthing)
                continue
            result.written += _targets(data, to, out)
            if to == "parquet":
                result.files.append(write_parquet(data, out))
            else:
                result.files.extend(write_json_pair(data, out))
            result.splits[data.split] = len(data.images)
    except BaseException:
        _remove_written(result, created)
        raise
    return result
