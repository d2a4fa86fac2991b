"""Pieces every PyTorch dataset of imagesets shares; torch is imported only when called."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import numpy as np

from ..errors import require

T = TypeVar("T")


class LazyHandle(Generic[T]):
    """An object opened on first use in each process (e.g. a decoder or file handle).

    Pickling drops the open object, so a dataset holding one can go to DataLoader workers
    (fork or spawn) and each worker opens its own.
    """

    def __init__(self, opener: Callable[[], T]) -> None:
        self._opener = opener
        self._value: T | None = None
        self._pid = -1

    def get(self) -> T:
        if self._value is None or self._pid != os.getpid():
            self._value, self._pid = self._opener(), os.getpid()
        return self._value

    def __getstate__(self) -> dict[str, Any]:
        return {"_opener": self._opener, "_value": None, "_pid": -1}


def reader_position() -> tuple[int, int]:
    """(this reader's index, number of readers) over DataLoader workers × distributed ranks."""
    torch = require("torch", "torch", "imagesets.torch")
    info = torch.utils.data.get_worker_info()
    worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        rank, world = dist.get_rank(), dist.get_world_size()
    else:
        rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    return rank * workers + worker, world * workers


def split_for_reader(items: Sequence[T], position: tuple[int, int]) -> list[T]:
    """The items one reader takes: every ``count``-th from ``index``, so that all readers
    together take each item exactly once."""
    index, count = position
    return list(items[index::count])


def to_chw_tensor(pixels: np.ndarray, scale: bool = True) -> Any:
    """HWC uint8 array → CHW tensor: float32 in [0, 1] (as ``ToTensor``) or uint8."""
    torch = require("torch", "torch", "imagesets.torch")
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    tensor = torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))
    return tensor.float().div_(255) if scale else tensor
