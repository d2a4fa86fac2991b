"""A PyTorch ``Dataset`` over a PanoCaps split, giving what grounded-captioning training uses.

One item (a dict) per image, like the authors' training loader builds it: ``image`` (``3 × H × W``
uint8 tensor, or what ``transform`` returns for it), ``image_id``, ``caption`` (plain),
``caption_ann`` (tagged), ``phrases`` (texts) and ``phrase_spans`` (``P × 2``, spans in the
caption), ``masks`` (``N × H × W`` uint8, in phrase order: the masks of phrase 0, then phrase 1,
…; a mask named by two phrases appears under each), ``seg_group_ids`` (``N``, the phrase of each
mask) and ``source``. :func:`collate` keeps the variable-size parts as lists.

The split is read once into plain per-image records (picklable: ``DataLoader`` workers get
them, and open image files themselves, one per item). Each RLE a kept phrase names is parsed
and checked against h × w once, when the dataset is made (about 0.1 ms per mask); an item
expands its run lengths, in phrase order, with one ``np.repeat``
(:func:`imagesets.masks.stack_runs`). Importing this module
imports torch (the optional extra ``torch``); ``imagesets.panocaps`` imports it on first use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .. import masks as mask_ops
from ..errors import InvalidDataError, NotFoundError, OutOfRangeError, require
from .split import load, resize_nearest

torch = require("torch", "torch", "imagesets.panocaps.TrainingDataset")

AUTHORS_MAX_PHRASES = 10
"""The number of phrases the authors supervise per image (pass it as ``max_phrases``)."""


def _record(sample: Any, max_phrases: int | None) -> dict[str, Any]:
    """The plain data one item needs: image info, captions, kept phrases and, in phrase order,
    the run lengths of their masks (each RLE parsed and checked against h × w once, here)."""
    phrases = sample.phrases[:max_phrases] if max_phrases is not None else sample.phrases
    count = len(sample.mask_annotations)
    runs: list[np.ndarray] = []
    groups: list[int] = []
    for phrase in phrases:
        bad = [i for i in phrase.mask_indices if not 0 <= i < count]
        if bad:
            raise InvalidDataError(
                f"PanoCaps {sample.split} image {sample.image_id}: phrase {phrase.index} "
                f"'{phrase.text}' names mask(s) {bad} but the image has {count} masks (run "
                "`imagesets validate panocaps`)")
        for i in phrase.mask_indices:
            checked = mask_ops.checked_runs(sample.mask_annotations[i]["segmentation"])
            if isinstance(checked, str) or checked[:2] != (sample.height, sample.width):
                raise InvalidDataError(
                    f"PanoCaps {sample.split} image {sample.image_id}, mask {i}: "
                    + (f"invalid COCO RLE: {checked}" if isinstance(checked, str) else
                       f"RLE size {list(checked[:2])} is not the image size "
                       f"[{sample.height}, {sample.width}]")
                    + " (run `imagesets validate panocaps`)")
            runs.append(checked[2].astype(np.int32))
        groups.extend([phrase.index] * len(phrase.mask_indices))
    return {"image_id": sample.image_id, "file_name": sample.file_name,
            "height": sample.height, "width": sample.width, "source": sample.data_source,
            "caption": sample.caption, "caption_ann": sample.caption_ann,
            "phrases": [p.text for p in phrases],
            "spans": [[p.start, p.end] for p in phrases], "runs": runs, "groups": groups}


def _simplejpeg() -> Any:
    try:
        import simplejpeg
    except ImportError:
        return None
    return simplejpeg


_SIMPLEJPEG = _simplejpeg()


def _decode(path: Path) -> np.ndarray:
    """``H × W × 3`` uint8 pixels: JPEGs through simplejpeg when installed (the ``fast`` extra;
    libjpeg-turbo straight into numpy, the same pixels as Pillow), else Pillow."""
    if _SIMPLEJPEG is not None and path.suffix.lower() in (".jpg", ".jpeg"):
        data = path.read_bytes()
        try:
            return _SIMPLEJPEG.decode_jpeg(data, colorspace="RGB")
        except ValueError:
            pass                                            # e.g. CMYK: Pillow handles it
    with Image.open(path) as opened:
        return np.array(opened if opened.mode == "RGB" else opened.convert("RGB"))


class TrainingDataset(torch.utils.data.Dataset):
    """Map-style PyTorch dataset over split ``split`` of the PanoCaps folder ``root``.

    ``images_dir``: the folder holding ``<file_name>`` images (default: ``root/images``).
    ``transform``: called on the ``3 × H × W`` uint8 image tensor.
    ``max_phrases``: keep the first N phrases of each caption (the authors supervise 10).
    ``mask_size``: (height, width) the masks are resized to (nearest neighbour).
    ``format``: ``"json"`` or ``"parquet"`` to force a layout.
    """

    def __init__(self, root: str | os.PathLike, split: str,
                 transform: Callable[[Any], Any] | None = None,
                 max_phrases: int | None = None, images_dir: str | os.PathLike | None = None,
                 mask_size: tuple[int, int] | None = None, format: str | None = None) -> None:
        if max_phrases is not None and max_phrases < 1:
            raise InvalidDataError(f"max_phrases must be at least 1 or None, not {max_phrases}")
        if mask_size is not None and (len(mask_size) != 2 or min(mask_size) < 1):
            raise InvalidDataError(f"mask_size must be (height, width) of positive ints, not "
                             f"{mask_size!r}")
        self.images_dir = Path(root) / "images" if images_dir is None else Path(images_dir)
        if not self.images_dir.is_dir():
            raise NotFoundError(f"the images folder {self.images_dir} does not exist; pass "
                                "images_dir, the folder holding the PanoCaps source images as "
                                "IMAGES_DIR/<file_name> (default: ROOT/images)")
        loaded = load(root, split, images_dir, format=format, cache_size=0)
        self.split = loaded.name
        self.transform = transform
        self.max_phrases = max_phrases
        self.mask_size = None if mask_size is None else (int(mask_size[0]), int(mask_size[1]))
        self.records = [_record(sample, max_phrases) for sample in loaded]

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return (f"<panocaps.TrainingDataset {self.split}: {len(self)} images from "
                f"{self.images_dir}>")

    def _image(self, record: dict[str, Any]) -> np.ndarray:
        path = self.images_dir / record["file_name"]
        try:
            pixels = _decode(path)
        except FileNotFoundError as exc:
            raise NotFoundError(f"image {record['image_id']} of PanoCaps {self.split} is not at "
                                f"{path}; `imagesets validate panocaps --images-dir "
                                f"{self.images_dir}` lists every missing image") from exc
        except OSError as exc:
            raise InvalidDataError(f"{path} cannot be decoded ({exc})") from exc
        if pixels.shape[:2] != (record["height"], record["width"]):
            raise InvalidDataError(
                f"{path} is {pixels.shape[0]}×{pixels.shape[1]} (h×w) but the annotations of "
                f"image {record['image_id']} say {record['height']}×{record['width']}")
        return pixels

    def _masks(self, record: dict[str, Any]) -> np.ndarray:
        if not record["runs"]:
            size = self.mask_size or (record["height"], record["width"])
            return np.zeros((0, *size), dtype=np.uint8)
        stack = mask_ops.stack_runs(record["runs"], record["height"], record["width"])
        if self.mask_size is not None and self.mask_size != stack.shape[1:]:
            return resize_nearest(stack, self.mask_size)
        return stack          # each mask a transposed view of its column-major run expansion

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError(f"a TrainingDataset is indexed by int, not {type(index).__name__}")
        if not -len(self) <= index < len(self):
            raise OutOfRangeError(f"index {index} is out of range for the PanoCaps "
                                  f"{self.split} TrainingDataset (length {len(self)})")
        record = self.records[index]
        image = torch.from_numpy(self._image(record)).permute(2, 0, 1)  # a view, no copy
        return {
            "image": image if self.transform is None else self.transform(image),
            "image_id": record["image_id"], "caption": record["caption"],
            "caption_ann": record["caption_ann"], "phrases": list(record["phrases"]),
            "phrase_spans": torch.tensor(record["spans"], dtype=torch.int64).reshape(-1, 2),
            "masks": torch.from_numpy(self._masks(record)),
            "seg_group_ids": torch.tensor(record["groups"], dtype=torch.int64),
            "source": record["source"],
        }


def collate(batch: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A batch as a dict: ``image`` stacked when every image tensor has the same shape (else a
    list), everything else (masks, phrases, ids, …) as lists in batch order."""
    if not batch:
        raise InvalidDataError("collate needs at least one item")
    out: dict[str, Any] = {key: [item[key] for item in batch] for key in batch[0]}
    images = out["image"]
    if (all(isinstance(i, torch.Tensor) for i in images)
            and len({tuple(i.shape) for i in images}) == 1):
        out["image"] = torch.stack(images)
    return out
