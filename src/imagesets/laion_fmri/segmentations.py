"""Object segmentation masks of the shared stimuli, by image, noun and instance.

The sidecar CSV is read once and grouped per image with one stable sort, so ``nouns()`` and
``for_image()`` are a dictionary lookup plus a small slice. Masks are read one HDF5 row at a
time (fancy indexing of a gzip stack is far slower than a per-mask loop).
"""

from __future__ import annotations

import os

import h5py
import numpy as np
import pandas as pd

from ..contract import resolve_index
from ..errors import InvalidDataError, NotFoundError
from .config import resolve_data_dir
from .layout import SEGMENTATIONS_CSV, SEGMENTATIONS_H5, required_file
from .tables import check_stimulus_name, group_rows, read_table

COLUMNS = ("mask_row", "image_name", "noun", "instance_id", "score", "box_x0", "box_y0",
           "box_x1", "box_y1", "localized", "mask_file")
TEXT_COLUMNS = ("image_name", "noun", "mask_file")


class Segmentations:
    """Masks per ``(image_name, noun, instance)``; uncovered images give empty results."""

    def __init__(self, data_dir: str | os.PathLike | None = None) -> None:
        self.data_dir = resolve_data_dir(data_dir)
        self._csv = required_file(self.data_dir / SEGMENTATIONS_CSV, "segmentation metadata",
                                  "segmentations")
        self._h5_path = self.data_dir / SEGMENTATIONS_H5
        self._h5: h5py.File | None = None
        self._meta: pd.DataFrame | None = None
        self._spans: dict[str, tuple[int, int]] = {}
        self._order = self._nouns = self._localized = np.zeros(0)
        self._keys: dict[tuple[str, str, int], int] | None = None

    def __enter__(self) -> Segmentations:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the mask file (it reopens when a mask is read)."""
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None

    @property
    def metadata(self) -> pd.DataFrame:
        """One row per mask: ``mask_row, image_name, noun, instance_id, score, box_*, ...``."""
        if self._meta is None:
            meta = read_table(self._csv, COLUMNS, TEXT_COLUMNS)
            self._spans, order = group_rows(meta["image_name"])
            self._order = order
            self._nouns = meta["noun"].to_numpy(object)[order]
            self._localized = meta["localized"].fillna(0).to_numpy().astype(bool)[order]
            self._meta = meta
        return self._meta

    def __len__(self) -> int:
        return len(self.metadata)

    def images(self) -> list[str]:
        """Names of the images that have masks, in metadata order."""
        _ = self.metadata
        return list(self._spans)

    def has_image(self, image_name: str) -> bool:
        """True if ``image_name`` has at least one mask (only shared images do)."""
        _ = self.metadata
        return image_name in self._spans

    __contains__ = has_image

    def _span(self, image_name: str) -> tuple[int, int]:
        """The rows of a stimulus (``(0, 0)`` without masks); KeyError for a non-stimulus."""
        _ = self.metadata
        span = self._spans.get(image_name) if isinstance(image_name, str) else None
        if span is None:
            check_stimulus_name(self.data_dir, image_name, "segmentations")
        return span or (0, 0)

    def nouns(self, image_name: str, localized_only: bool = True) -> list[str]:
        """Nouns found in the image, first-seen order; ``[]`` for an image without masks."""
        start, stop = self._span(image_name)
        nouns = self._nouns[start:stop]
        if localized_only:
            nouns = nouns[self._localized[start:stop]]
        return list(dict.fromkeys(nouns.tolist()))

    def for_image(self, image_name: str) -> pd.DataFrame:
        """The metadata rows of one image (an empty frame for an image without masks)."""
        start, stop = self._span(image_name)
        return self.metadata.iloc[self._order[start:stop]].reset_index(drop=True)

    def get(self, image_name: str, noun: str, instance: int = 0) -> np.ndarray:
        """The ``(H, W)`` uint8 mask of one instance of ``noun`` (0 = best detection)."""
        if self._keys is None:
            meta = self.metadata
            keys = zip(meta["image_name"].tolist(), meta["noun"].tolist(),
                       meta["instance_id"].astype(int).tolist(), strict=True)
            self._keys = dict(zip(keys, meta["mask_row"].astype(int).tolist(), strict=True))
        row = self._keys.get((image_name, noun, int(instance)))
        if row is None:
            self._span(image_name)
            raise self._missing(image_name, noun, int(instance))
        return self[row]

    def __getitem__(self, mask_row: int) -> np.ndarray:
        """One mask by its row in the HDF5 ``masks`` stack."""
        if self._h5 is None:
            path = required_file(self._h5_path, "segmentation masks", "segmentations")
            self._h5 = h5py.File(path, "r")
        masks = self._h5.get("masks")
        if masks is None:
            raise InvalidDataError(f"{self._h5_path} has no 'masks' dataset; download it again")
        if isinstance(mask_row, (bool, np.bool_)) or not isinstance(mask_row, (int, np.integer)):
            raise TypeError(f"a mask row is an integer, not {type(mask_row).__name__}")
        return masks[resolve_index(mask_row, len(masks), f"the masks of {self._h5_path.name}")]

    def _missing(self, image_name: str, noun: str, instance: int) -> NotFoundError:
        if not self.has_image(image_name):
            return NotFoundError(f"image {image_name!r} has no segmentation masks (masks cover "
                                 f"the 1,492 shared images only; see .images())")
        rows = self.for_image(image_name)
        instances = sorted(rows.loc[rows["noun"] == noun, "instance_id"].astype(int))
        if instances:
            return NotFoundError(f"{image_name!r} has no instance {instance} of {noun!r}; its "
                                 f"instances are {instances}")
        return NotFoundError(f"{image_name!r} has no noun {noun!r}; its nouns are "
                             f"{list(dict.fromkeys(rows['noun']))}")
