"""Build the ``classification`` metadata file (dbcollection's published layout) and read it."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..store import MetadataLoader, strings_to_ascii, write_metadata
from .classes import ClassTable
from .scan import SETS, ScannedDataset, SetListing, scan_ilsvrc2012, summarize_ignored

OBJECT_FIELDS = ("image_filenames", "classes")
FORMAT_VERSION = 1


def images_per_class_matrix(class_indices: np.ndarray, num_classes: int) -> np.ndarray:
    """``num_classes × max count`` int32 matrix of image rows per class, padded with −1."""
    counts = np.bincount(class_indices, minlength=num_classes)
    matrix = np.full((num_classes, int(counts.max(initial=0))), -1, dtype=np.int32)
    order = np.argsort(class_indices, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    sorted_classes = class_indices[order]
    columns = np.arange(len(order)) - starts[sorted_classes]
    matrix[sorted_classes, columns] = order
    return matrix


def classification_fields(classes: ClassTable, listing: SetListing,
                          image_filenames: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """The published fields of one set (plus ``ilsvrc2012_ids``), as arrays ready to write."""
    filenames = listing.relpaths if image_filenames is None else image_filenames
    count = len(filenames)
    return {
        "image_filenames": strings_to_ascii(filenames),
        "classes": strings_to_ascii(classes.wnids),
        "labels": strings_to_ascii(classes.words),
        "descriptions": strings_to_ascii(classes.glosses),
        "object_fields": strings_to_ascii(OBJECT_FIELDS),
        "object_ids": np.column_stack([np.arange(count, dtype=np.int32),
                                       listing.class_indices.astype(np.int32)]),
        "list_image_filenames_per_class": images_per_class_matrix(listing.class_indices,
                                                                  len(classes.wnids)),
        "ilsvrc2012_ids": np.asarray(classes.ilsvrc2012_ids, dtype=np.int32),
    }


def write_classification_file(scanned: ScannedDataset, output_file: str | os.PathLike,
                              task: str = "classification",
                              rename: Callable[[str, str], str] | None = None,
                              extra_attributes: dict[str, Any] | None = None) -> None:
    """Write the metadata file; ``rename(set, relpath)`` maps image paths (raw256 uses it)."""
    sets = {}
    for set_name, listing in scanned.sets.items():
        names = None if rename is None else [rename(set_name, p) for p in listing.relpaths]
        sets[set_name] = classification_fields(scanned.classes, listing, names)
    attributes = {"dataset": "ilsvrc2012", "task": task, "format_version": FORMAT_VERSION,
                  "class_source": scanned.classes.source, "fingerprint": scanned.fingerprint(),
                  "paths_relative_to": "data_dir", **(extra_attributes or {})}
    write_metadata(output_file, sets, attributes)


def build_classification_metadata(data_dir: str | os.PathLike, output_file: str | os.PathLike,
                                  sets: Sequence[str] = SETS,
                                  verbose: bool = True) -> ScannedDataset:
    """Scan ``data_dir`` and write the ``classification`` metadata file atomically."""
    scanned = scan_ilsvrc2012(data_dir, sets=sets, verbose=verbose)
    if verbose and scanned.ignored_files:
        print(summarize_ignored(scanned.ignored_files))
    write_classification_file(scanned, output_file)
    return scanned


class Ilsvrc2012Loader(MetadataLoader):
    """The metadata loader, with records that carry the class words and absolute image paths."""

    def image_root(self) -> Path:
        """The folder that ``image_filenames`` are relative to."""
        return self._image_root

    @functools.cached_property
    def _image_root(self) -> Path:
        root = self.attributes.get("image_root")
        if root and Path(root).is_absolute():
            return Path(root)
        base = self.data_dir if self.data_dir is not None else Path(".")
        return base / root if root else base

    def absolute_paths(self, set_name: str, index: Any = None) -> list[str] | str:
        """Absolute image paths of a set (all, one, or those at ``index``)."""
        relative = self.get(set_name, "image_filenames",
                            slice(None) if index is None else index, convert=True)
        root = self.image_root()
        if isinstance(relative, str):
            return str(root / relative)
        return [str(root / p) for p in relative]

    def record_keys(self, set_name: str) -> list[str]:
        return [*super().record_keys(set_name), "class_index", "labels", "path"]

    def column(self, set_name: str, name: str) -> Any:
        if name not in ("class_index", "labels", "path"):
            return super().column(set_name, name)
        if name == "path":
            return self.absolute_paths(set_name)
        class_indices = self.get(set_name, "object_ids")[:, 1]
        if name == "class_index":
            return class_indices
        words = self[set_name].field("labels").strings()
        return [words[i] for i in class_indices]

    def record_from_row(self, set_name: str, row: np.ndarray) -> dict[str, Any]:
        record = super().record_from_row(set_name, row)
        class_index = int(row[1])
        record["class_index"] = class_index
        record["labels"] = self[set_name].field("labels").strings(class_index)
        record["path"] = str(self.image_root() / record["image_filenames"])
        return record
