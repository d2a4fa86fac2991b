"""Map-style ``ImageNet`` dataset over a prepared ILSVRC2012 task (image files on disk)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch.utils.data

from ..errors import InvalidDataError, OutOfRangeError
from .common import SampleMaker


class ImageNet(torch.utils.data.Dataset):
    """``(image, class_index)`` for every image of one set, as torchvision's ``ImageFolder``
    gives them on the same files: the class index is the wnid's position in sorted order.

    ``ds`` is a loaded ILSVRC2012 ``classification`` or ``raw256`` (folders) task, e.g.
    ``imagesets.load("ilsvrc2012", task="raw256")``. Only paths and labels are kept (numpy
    arrays, shared by forked workers); the metadata file is not held open, so the dataset
    pickles to DataLoader workers. ``decode``: ``"array"`` (RGB uint8 HWC, fastest decoder),
    ``"pil"`` (PIL image, as ``ImageFolder``), ``"auto"`` (arrays for imagesets transforms).
    """

    def __init__(self, ds: Any, set_name: str = "train",
                 transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[int], Any] | None = None,
                 decode: str = "auto") -> None:
        if ds.attributes.get("format") == "shards":
            raise InvalidDataError(
                f"{ds.name}/{ds.task} was prepared as tar shards; read them with "
                "imagesets.torch.ImageNetShards (this map-style dataset reads image files)")
        split = ds[set_name]
        self.set_name = set_name
        self.root = str(ds.image_root())
        self.wnids: list[str] = list(split.field("classes").strings())
        self.words: list[str] = list(split.field("labels").strings())
        rank = np.argsort(np.argsort(np.asarray(self.wnids)))
        chars = np.ascontiguousarray(split.field("image_filenames")[:], dtype=np.uint8)
        self._filenames = chars.view(f"S{chars.shape[1]}")[:, 0]  # one bytes string per row
        self.targets_array = rank[np.asarray(split.field("object_ids")[:])[:, 1]].astype(np.int64)
        self.classes = sorted(self.wnids)
        self.class_to_idx = {wnid: i for i, wnid in enumerate(self.classes)}
        self._make = SampleMaker(transform, target_transform, decode)

    @property
    def transform(self) -> Callable[[Any], Any] | None:
        return self._make.transform

    @property
    def targets(self) -> list[int]:
        """The class index of every image, in dataset order (as ``ImageFolder.targets``)."""
        return self.targets_array.tolist()

    def path(self, index: int) -> str:
        """The absolute path of image ``index``."""
        name = self._filenames[index].rstrip(b"\0").decode()
        return f"{self.root}/{name}"

    @property
    def samples(self) -> list[tuple[str, int]]:
        """(path, class index) pairs, as ``ImageFolder.samples``."""
        return [(self.path(i), int(t)) for i, t in enumerate(self.targets_array)]

    imgs = samples

    def __len__(self) -> int:
        return len(self._filenames)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        count = len(self._filenames)
        if not -count <= index < count:
            raise OutOfRangeError(f"index {index} is out of range for the {count:,} images "
                                  f"of {self.set_name}")
        path = self.path(index % count)
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise InvalidDataError(f"cannot read {path}: {exc.strerror or exc}") from exc
        return self._make(data, int(self.targets_array[index]), path)

    def __repr__(self) -> str:
        return (f"ImageNet({self.set_name!r}: {len(self):,} images of {len(self.classes)} "
                f"classes under {self.root}, decode={self._make.decode!r})")
