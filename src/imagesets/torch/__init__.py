"""PyTorch datasets over prepared imagesets data (optional extra ``torch``).

``import imagesets.torch`` does not import torch; the datasets do, on first use:

* :class:`ImageNet`: map-style, over a prepared ILSVRC2012 ``classification`` or ``raw256``
  (folders) task, ``(image, class_index)`` as torchvision's ``ImageFolder`` gives them;
* :class:`ImageNetShards`: iterable, over ``raw256 --format shards`` (local folder or fsspec URL),
  split across DataLoader workers and distributed ranks.

The shared pieces (reader splitting, lazy per-process handles, array decoding, array
transforms) live in :mod:`imagesets.torch.base`, :mod:`.decode` and :mod:`.transforms`.
"""

from __future__ import annotations

from typing import Any

from ..errors import require

_LAZY = {"ImageNet": "imagenet", "ImageNetShards": "imagenet_shards"}

__all__ = ["ImageNet", "ImageNetShards"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        require("torch", "torch", f"imagesets.torch.{name}")
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
