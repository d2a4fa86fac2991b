"""The dataset-wide stimulus hub: metadata, images, embeddings, segmentations, captions.

Every part opens lazily, so a folder holding only the public derivative files works; the
access-gated images file is needed only to read images.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
from PIL import Image

from ..contract import resolve_index
from ..errors import InvalidDataError, NotFoundError
from .captions import Captions
from .config import resolve_data_dir
from .embeddings import Embeddings
from .exceptions import DataNotDownloadedError, DataNotFoundError
from .layout import (
    DOWNLOAD_HINT,
    IMAGES_H5,
    METADATA_CSV,
    MODELS,
    STIMULI_DIR,
    embeddings_key,
    required_file,
)
from .segmentations import Segmentations
from .tables import read_table

METADATA_COLUMNS = ("image_name", "dataset", "participant", "unique_or_shared", "n_reps")
#: The scanner's grey background (PsychoPy colour 0 = 0.5 of full scale) that transparent PNG
#: pixels were composited over during presentation.
DISPLAY_BACKGROUND = (128, 128, 128)


def read_stimulus_metadata(data_dir: Path) -> pd.DataFrame:
    """``task-images_metadata.csv``: one row per packed image, in image-file row order."""
    path = required_file(data_dir / METADATA_CSV, "stimulus metadata", "stimuli")
    return read_table(path, METADATA_COLUMNS, ("image_name", "dataset", "participant",
                                               "unique_or_shared"))


def displayed_image(image: Image.Image) -> Image.Image:
    """The three-channel image shown in the scanner: transparency composited over grey."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*DISPLAY_BACKGROUND, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


class StimulusImages:
    """Encoded images by row index or image name: ``[key]`` → bytes, ``get(key)`` → PIL."""

    def __init__(self, data_dir: Path, metadata: Callable[[], pd.DataFrame]) -> None:
        self._path = data_dir / IMAGES_H5
        self._metadata = metadata
        self._h5: h5py.File | None = None
        self._rows: dict[str, int] | None = None

    def close(self) -> None:
        """Close the images file (it reopens on the next read)."""
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None

    def __len__(self) -> int:
        return len(self._metadata())

    def names(self) -> list[str]:
        """All image names, in images-file row order."""
        return self._metadata()["image_name"].tolist()

    def _lookup(self) -> dict[str, int]:
        if self._rows is None:
            self._rows = {name: row for row, name in enumerate(self.names())}
        return self._rows

    def index_of(self, name: str) -> int:
        """The images-file row of an image name (KeyError for an unknown name)."""
        row = self._lookup().get(name) if isinstance(name, str) else None
        if row is None:
            raise NotFoundError(f"no stimulus is named {name!r}; names are the image_name "
                                f"column of {METADATA_CSV}, e.g. {self.names()[:2]}")
        return row

    def __contains__(self, key: object) -> bool:
        """A known image name, or an index in range (negative ones count from the end)."""
        if isinstance(key, str):
            return key in self._lookup()
        if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
            return -len(self) <= int(key) < len(self)
        return False

    def row(self, key: int | str) -> int:
        """The packed-image row of ``key``: a name, or an index (numpy integers included,
        negative ones counting from the end)."""
        if isinstance(key, str):
            return self.index_of(key)
        if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
            return resolve_index(key, len(self), "the stimuli")
        raise TypeError(f"a stimulus key is an index or an image name, not "
                        f"{type(key).__name__}")

    def __getitem__(self, key: int | str) -> bytes:
        """The encoded (JPEG or PNG) bytes of one image."""
        row = self.row(key)
        if self._h5 is None:
            self._h5 = h5py.File(required_file(self._path, "stimulus images", "stimuli"), "r")
        images = self._h5.get("images")
        if images is None or row >= len(images):
            raise InvalidDataError(f"{self._path} has no image row {row} (it must hold an "
                                   f"'images' dataset row-aligned with {METADATA_CSV})")
        return np.asarray(images[row]).tobytes()

    def get(self, key: int | str, as_displayed: bool = True) -> Image.Image:
        """One decoded image; by default as displayed (RGB, PNG transparency over grey)."""
        image = Image.open(io.BytesIO(self[key]))
        image.load()
        return displayed_image(image) if as_displayed else image

    def array(self, keys: Iterable[int | str]) -> np.ndarray:
        """Displayed images of ``keys`` stacked as ``(n, H, W, 3)`` uint8."""
        arrays = [np.asarray(self.get(k)) for k in keys]
        return np.stack(arrays) if arrays else np.zeros((0, 0, 0, 3), np.uint8)


class StimulusSet:
    """The ``stimuli`` set of the catalog contract: ``len``, index → record dict, iteration."""

    def __init__(self, names: list[str], metadata: pd.DataFrame | None) -> None:
        self._names, self._metadata = names, metadata

    def __len__(self) -> int:
        return len(self._names)

    def __getitem__(self, index: int) -> dict[str, Any]:
        row = resolve_index(index, len(self), "the stimuli set")
        if not isinstance(row, int):
            raise TypeError(f"the stimuli set takes one integer index, not {index!r}")
        if self._metadata is not None:
            return self._metadata.iloc[row].to_dict()
        return {"image_name": self._names[row]}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self[i] for i in range(len(self)))


class Stimuli:
    """LAION-fMRI stimuli: ``metadata``, ``images``, ``embeddings``, ``segmentations``,
    ``captions`` (each opened on first use)."""

    sets = ("stimuli",)

    def __init__(self, data_dir: str | os.PathLike | None = None) -> None:
        self.data_dir = resolve_data_dir(data_dir)
        if not (self.data_dir / STIMULI_DIR).is_dir():
            raise DataNotDownloadedError(
                f"no {STIMULI_DIR}/ folder in {self.data_dir}; get the files with "
                f"{DOWNLOAD_HINT['embeddings']} (and --what segmentations captions), or point "
                f"data_dir at the dataset root")
        self.images = StimulusImages(self.data_dir, lambda: self.metadata)

    def __enter__(self) -> Stimuli:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close open files (they reopen when needed)."""
        self.images.close()
        if "segmentations" in self.__dict__:
            self.segmentations.close()

    @cached_property
    def metadata(self) -> pd.DataFrame:
        """``task-images_metadata.csv``: image_name, dataset, participant, unique_or_shared,
        n_reps; row i is image i of the images file."""
        return read_stimulus_metadata(self.data_dir)

    @cached_property
    def embeddings(self) -> Embeddings:
        """Embeddings of every model whose file is present."""
        present = [m for m in MODELS if (self.data_dir / embeddings_key(m)).is_file()]
        return Embeddings(present or "all", data_dir=self.data_dir)

    @cached_property
    def segmentations(self) -> Segmentations:
        """Object masks of the shared images."""
        return Segmentations(self.data_dir)

    @cached_property
    def captions(self) -> Captions:
        """Human and AI captions."""
        return Captions(self.data_dir)

    def __len__(self) -> int:
        return len(self.names())

    def names(self) -> list[str]:
        """All stimulus names: from the metadata, else from whichever derivative is present."""
        if (self.data_dir / METADATA_CSV).is_file():
            return self.metadata["image_name"].tolist()
        for part in ("embeddings", "captions", "segmentations"):
            try:
                source = getattr(self, part)
            except DataNotFoundError:
                continue
            return (source.image_ids.tolist() if part == "embeddings" else source.images())
        raise DataNotDownloadedError(f"no stimulus file found under "
                                     f"{self.data_dir / STIMULI_DIR}; get "
                                     f"{DOWNLOAD_HINT['embeddings']}")

    def image(self, key: int | str) -> Image.Image:
        """One decoded image (as displayed)."""
        return self.images.get(key)

    def __getitem__(self, key: str | int) -> StimulusSet | bytes:
        """``stim["stimuli"]``: the catalog's set; ``stim[name or index]``: encoded image bytes
        (the original package's spelling of ``stim.images[key]``)."""
        if key not in self.sets:
            return self.images[key]
        has_metadata = (self.data_dir / METADATA_CSV).is_file()
        return StimulusSet(self.names(), self.metadata if has_metadata else None)

    def info(self) -> dict[str, Any]:
        """Which files are present under the data directory."""
        stimuli = self.data_dir / STIMULI_DIR
        return {"data_dir": str(self.data_dir),
                "files": sorted(p.name for p in stimuli.iterdir() if p.is_file()
                                and not p.name.startswith("."))}


def load_stimuli(data_dir: str | os.PathLike | None = None) -> Stimuli:
    """The stimulus hub of the dataset in ``data_dir`` (default: the configured folder)."""
    return Stimuli(data_dir)
