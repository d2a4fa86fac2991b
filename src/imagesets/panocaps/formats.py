"""The two published PanoCaps layouts, read into (and written from) one in-memory form.

1. COCO-style JSON pairs: ``annotations/{split}_caption.json`` (``images``, ``annotations``
   with ``caption``, ``caption_ann``, ``label_matched``, ``labels``) and
   ``annotations/{split}_mask.json`` (``annotations`` with compressed-RLE ``segmentation``,
   ``categories``, ``images``);
   ``{split}_masks.json`` is accepted too.
2. The unified Parquet form ``data/{split}-*.parquet``: one row per image with the columns of
   :data:`PARQUET_SCHEMA` (exactly the published names and types).

:class:`SplitData` keeps every record as the plain dict that was read (nothing is cast: an
``image_id`` stays a string, leading zeros and all), so conversions are lossless.
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..errors import InvalidDataError, NotFoundError
from ..fsutil import atomic_path, atomic_write_text

SPLITS = ("train", "val", "test")
CAPTION_FILE = "{split}_caption.json"
MASK_FILES = ("{split}_mask.json", "{split}_masks.json")
PARQUET_GLOB = "{split}-*.parquet"
FORMATS = ("json", "parquet")

IMAGE_KEYS = {"id": str, "file_name": str, "height": int, "width": int}
CAPTION_KEYS = {"image_id": str, "caption_ann": str}
MASK_KEYS = {"image_id": str, "segmentation": dict}
CATEGORY_KEYS = {"id": object, "name": str}
ID_KEYS = ("id", "image_id")

PARQUET_SCHEMA = pa.schema([
    ("split", pa.string()),
    ("image_id", pa.string()),
    ("file_name", pa.string()),
    ("image_info", pa.struct([
        ("data_source", pa.string()), ("file_name", pa.string()), ("height", pa.int64()),
        ("id", pa.string()), ("width", pa.int64())])),
    ("caption_info", pa.struct([
        ("caption", pa.string()), ("caption_ann", pa.string()), ("id", pa.int64()),
        ("image_id", pa.string()),
        ("label_matched", pa.list_(pa.struct([
            ("mask_ids", pa.list_(pa.int64())), ("txt_desc", pa.string())]))),
        ("labels", pa.list_(pa.string()))])),
    ("mask_annotations", pa.list_(pa.struct([
        ("area", pa.int64()), ("bbox", pa.list_(pa.float64())), ("category_id", pa.int64()),
        ("id", pa.int64()), ("image_id", pa.string()), ("iscrowd", pa.int64()),
        ("segmentation", pa.struct([("counts", pa.string()), ("size", pa.list_(pa.int64()))])),
        ("thing_or_stuff", pa.string())]))),
    ("categories", pa.list_(pa.struct([("id", pa.int64()), ("name", pa.string())]))),
])


@dataclass
class SplitData:
    """One split as read: plain dicts in file order, plus where they came from.

    ``images`` and ``captions`` come from the caption file, ``masks``, ``categories`` and
    ``mask_images`` from the mask file (for Parquet, ``mask_images`` repeats ``images``).
    ``extra`` holds other top-level keys of the JSON files (``{"caption": {...}, "mask": {...}}``).
    """

    split: str
    images: list[dict[str, Any]]
    captions: list[dict[str, Any]]
    masks: list[dict[str, Any]]
    categories: list[dict[str, Any]]
    mask_images: list[dict[str, Any]] = field(default_factory=list)
    format: str = "json"
    sources: tuple[str, ...] = ()
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)

    def masks_by_image(self) -> dict[str, list[dict[str, Any]]]:
        """Mask annotations grouped by ``image_id``, each list in file order (tag positions)."""
        groups: dict[str, list[dict[str, Any]]] = {}
        for mask in self.masks:
            groups.setdefault(mask["image_id"], []).append(mask)
        return groups

    def captions_by_image(self) -> dict[str, list[dict[str, Any]]]:
        """Caption annotations grouped by ``image_id`` (more than one is a validation error)."""
        groups: dict[str, list[dict[str, Any]]] = {}
        for caption in self.captions:
            groups.setdefault(caption["image_id"], []).append(caption)
        return groups


def find_json_pair(root: str | os.PathLike, split: str) -> tuple[Path, Path] | None:
    """The caption and mask files of ``split`` under ``root/annotations`` or ``root``, if any."""
    root = Path(root)
    for folder in (root / "annotations", root):
        caption = folder / CAPTION_FILE.format(split=split)
        if caption.is_file():
            for pattern in MASK_FILES:
                mask = folder / pattern.format(split=split)
                if mask.is_file():
                    return caption, mask
            raise NotFoundError(
                f"found {caption} but no mask file beside it: expected "
                f"{' or '.join(str(folder / p.format(split=split)) for p in MASK_FILES)}. "
                "Download the whole annotations/ folder (imagesets download panocaps).")
    return None


def find_parquet_files(root: str | os.PathLike, split: str) -> list[Path]:
    """The Parquet shards of ``split`` under ``root/data`` or ``root`` (sorted; may be empty)."""
    root = Path(root)
    for folder in (root / "data", root):
        files = sorted(glob.glob(os.path.join(glob.escape(str(folder)),
                                              PARQUET_GLOB.format(split=split))))
        if files:
            return [Path(f) for f in files]
    return []


def available_splits(root: str | os.PathLike) -> tuple[str, ...]:
    """Splits present under ``root`` in either layout, in train/val/test order, then others."""
    root = Path(root)
    found: set[str] = set()
    for folder in (root / "annotations", root):
        found.update(p.name[:-len("_caption.json")] for p in folder.glob("*_caption.json"))
    for folder in (root / "data", root):
        found.update(p.name.split("-", 1)[0] for p in folder.glob("*-*.parquet"))
    return tuple(sorted(found, key=lambda s: (SPLITS.index(s) if s in SPLITS else 3, s)))


def read_split_data(root: str | os.PathLike, split: str, format: str | None = None) -> SplitData:
    """Read ``split`` from ``root`` (JSON pair preferred when both layouts are present)."""
    if format not in (None, *FORMATS):
        raise InvalidDataError(f"format must be one of {FORMATS} or None, not {format!r}")
    root = Path(root)
    if format in (None, "json"):
        pair = find_json_pair(root, split)
        if pair is not None:
            return read_json_pair(*pair, split=split)
    if format in (None, "parquet"):
        files = find_parquet_files(root, split)
        if files:
            return read_parquet(files, split=split)
    looked = []
    if format in (None, "json"):
        looked.append(f"{root}/annotations/{CAPTION_FILE.format(split=split)} (+ "
                      f"{MASK_FILES[0].format(split=split)})")
    if format in (None, "parquet"):
        looked.append(f"{root}/data/{PARQUET_GLOB.format(split=split)}")
    present = available_splits(root) if root.is_dir() else ()
    hint = (f"splits present there: {', '.join(present)}" if present
            else "get the annotations with `imagesets download panocaps --data-dir ROOT`")
    raise NotFoundError(f"no PanoCaps split '{split}' under {root}: looked for "
                        f"{' and '.join(looked)}; {hint}")


def json_error(exc: json.JSONDecodeError, line: bool = True) -> str:
    """``exc`` in words, e.g. "Expecting value; line 3, column 5" (never "at at ...")."""
    where = f"line {exc.lineno}, column {exc.colno}" if line else f"column {exc.colno}"
    return f"{exc.msg}; {where}"


def _load_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise InvalidDataError(
            f"{path} is not valid JSON ({json_error(exc)}); "
            "the file is probably truncated or corrupt: download it again") from exc
    except UnicodeDecodeError as exc:
        raise InvalidDataError(f"{path} is not UTF-8 text ({exc}); download it again") from exc


def _records(document: Any, key: str, path: Path, required: bool = True) -> list[dict]:
    if not isinstance(document, dict):
        raise InvalidDataError(f"{path}: expected a JSON object with '{key}', "
                               f"found a {type(document).__name__}")
    if key not in document:
        if not required:
            return []
        raise InvalidDataError(f"{path}: missing top-level key '{key}' (found: "
                               f"{', '.join(map(str, document)) or 'nothing'}); is this a "
                               "PanoCaps annotation file?")
    records = document[key]
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise InvalidDataError(f"{path}: '{key}' must be a list of objects")
    return records


def check_records(records: Iterable[dict], keys: dict[str, type], where: str) -> None:
    """Raise a clear InvalidDataError if a record lacks a key the reader needs or it has the
    wrong type (image ids must be strings: they are never cast)."""
    for i, record in enumerate(records):
        missing = [k for k in keys if k not in record]
        if missing:
            raise InvalidDataError(f"{where}[{i}] lacks the key(s) {', '.join(missing)} "
                                   f"(it has: {', '.join(record) or 'none'})")
        for key, kind in keys.items():
            value = record[key]
            if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
                continue
            if key in ID_KEYS and kind is str:
                raise InvalidDataError(
                    f"{where}[{i}].{key} is the {type(value).__name__} {value!r}; PanoCaps "
                    "image ids are strings (leading zeros matter, e.g. \"00000006\"): write it "
                    "as a JSON string")
            raise InvalidDataError(f"{where}[{i}].{key} is the {type(value).__name__} "
                                   f"{value!r}; expected a {kind.__name__}")


def read_json_pair(caption_path: str | os.PathLike, mask_path: str | os.PathLike,
                   split: str = "") -> SplitData:
    """Read one caption JSON + mask JSON pair, checking the keys the reader relies on."""
    caption_path, mask_path = Path(caption_path), Path(mask_path)
    caption_doc = _load_json(caption_path)
    mask_doc = _load_json(mask_path)
    images = _records(caption_doc, "images", caption_path)
    captions = _records(caption_doc, "annotations", caption_path)
    masks = _records(mask_doc, "annotations", mask_path)
    categories = _records(mask_doc, "categories", mask_path, required=False)
    mask_images = _records(mask_doc, "images", mask_path, required=False)
    check_records(images, IMAGE_KEYS, f"{caption_path}: images")
    check_records(captions, CAPTION_KEYS, f"{caption_path}: annotations")
    check_records(masks, MASK_KEYS, f"{mask_path}: annotations")
    check_records(categories, CATEGORY_KEYS, f"{mask_path}: categories")
    extra = {"caption": {k: v for k, v in caption_doc.items() if k not in ("images",
                                                                             "annotations")},
             "mask": {k: v for k, v in mask_doc.items()
                      if k not in ("images", "annotations", "categories")}}
    return SplitData(split or caption_path.name.rsplit("_", 1)[0], images, captions, masks,
                     categories, mask_images, "json", (str(caption_path), str(mask_path)),
                     extra)


def read_parquet(paths: Iterable[str | os.PathLike], split: str = "") -> SplitData:
    """Read the Parquet shards of one split (rows in shard order, then row order)."""
    import pyarrow.parquet as pq

    images: list[dict] = []
    captions: list[dict] = []
    masks: list[dict] = []
    categories: dict[Any, dict] = {}
    sources = []
    for path in paths:
        path = Path(path)
        sources.append(str(path))
        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InvalidDataError(f"{path} is not a readable Parquet file ({exc}); "
                                   "download it again") from exc
        missing = [n for n in PARQUET_SCHEMA.names if n not in table.column_names]
        if missing:
            raise InvalidDataError(f"{path} lacks the PanoCaps column(s) {', '.join(missing)} "
                                   f"(it has: {', '.join(table.column_names)})")
        for row_number, row in enumerate(table.select(PARQUET_SCHEMA.names).to_pylist()):
            where = f"{path}: row {row_number}"
            if not isinstance(row["image_id"], str):
                raise InvalidDataError(f"{where}: image_id must be a string, "
                                       f"not {type(row['image_id']).__name__}")
            info = row["image_info"]
            if info is None:
                raise InvalidDataError(f"{where} ({row['image_id']}): image_info is null")
            images.append(info)
            if row["caption_info"] is not None:
                captions.append(row["caption_info"])
            masks.extend(row["mask_annotations"] or [])
            for category in row["categories"] or []:
                categories.setdefault(category["id"], category)
            split = split or row["split"]
    where = ", ".join(sources)
    check_records(images, IMAGE_KEYS, f"{where}: image_info")
    check_records(captions, CAPTION_KEYS, f"{where}: caption_info")
    check_records(masks, MASK_KEYS, f"{where}: mask_annotations")
    return SplitData(split, images, captions, masks, list(categories.values()),
                     [dict(i) for i in images], "parquet", tuple(sources))


def to_parquet_table(data: SplitData) -> pa.Table:
    """One row per image (caption-file order) with exactly the published columns and types."""
    captions = data.captions_by_image()
    masks = data.masks_by_image()
    rows = []
    for image in data.images:
        image_id = image["id"]
        caption = captions.get(image_id, [None])[0]
        rows.append({
            "split": data.split,
            "image_id": image_id,
            "file_name": image.get("file_name"),
            "image_info": image,
            "caption_info": caption,
            "mask_annotations": masks.get(image_id, []),
            "categories": data.categories,
        })
    try:
        return pa.Table.from_pylist(rows, schema=PARQUET_SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InvalidDataError(f"split '{data.split}' cannot be written with the published "
                               f"Parquet types: {exc}") from exc


def write_parquet(data: SplitData, out_dir: str | os.PathLike, shard: str = "00000-of-00001",
                  ) -> Path:
    """Write ``out_dir/data/{split}-{shard}.parquet`` atomically; return its path."""
    import pyarrow.parquet as pq

    path = Path(out_dir) / "data" / f"{data.split}-{shard}.parquet"
    table = to_parquet_table(data)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return path


def caption_document(data: SplitData) -> dict[str, Any]:
    """The caption JSON document of a split (``images`` + ``annotations`` + extra keys)."""
    return {**data.extra.get("caption", {}), "images": data.images,
            "annotations": data.captions}


def mask_document(data: SplitData) -> dict[str, Any]:
    """The mask JSON document: masks grouped per image (caption-file image order)."""
    by_image = data.masks_by_image()
    known = [image["id"] for image in data.images]
    ordered = [m for image_id in dict.fromkeys(known) for m in by_image.pop(image_id, [])]
    ordered += [m for group in by_image.values() for m in group]
    return {**data.extra.get("mask", {}), "images": data.mask_images or data.images,
            "annotations": ordered, "categories": data.categories}


def write_json_pair(data: SplitData, out_dir: str | os.PathLike, indent: int | None = None
                    ) -> tuple[Path, Path]:
    """Write ``out_dir/annotations/{split}_caption.json`` and ``{split}_mask.json`` atomically."""
    folder = Path(out_dir) / "annotations"
    caption_path = folder / CAPTION_FILE.format(split=data.split)
    mask_path = folder / MASK_FILES[0].format(split=data.split)
    for path, document in ((caption_path, caption_document(data)),
                           (mask_path, mask_document(data))):
        atomic_write_text(path, json.dumps(document, ensure_ascii=False, indent=indent) + "\n")
    return caption_path, mask_path
