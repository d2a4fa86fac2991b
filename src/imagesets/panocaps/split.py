"""A PanoCaps split as Python objects: samples with phrases, regions and lazily decoded masks.

``load(root, split)`` returns a :class:`PanoCapsSplit` following the split contract of
:mod:`imagesets.contract`: ``len(split)``, ``split[3]`` / ``split[-1]`` (position), slices, integer
lists and boolean masks (lists of samples), iteration in caption-file image order, ``.fields``
and ``column(name)``. A string key is an image id: ``split["00000006"]`` (ids are always strings
and positions always integers, so the two never collide; ``"00000006" in split`` tests an id).

A :class:`Sample` is a read-only ``Mapping`` with the keys :data:`FIELDS` (the same for every
sample) and attributes for the same data plus helpers: ``phrases`` (one per inline tag: text,
span in the clean caption, mask indices), ``regions`` (one per mask annotation, in file order:
index = the number used in tags) and ``masks()``. Masks are decoded on first use, all of a
sample's at once through :mod:`imagesets.masks` (run lengths checked against h × w), and kept on
the sample; the split keeps its most recently used samples, so repeated access decodes once.
"""

from __future__ import annotations

import os
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, overload

import numpy as np

from .. import masks as mask_ops
from ..contract import resolve_index
from ..errors import InvalidDataError, NotFoundError, OutOfRangeError
from .formats import SplitData, read_split_data
from .tags import ParsedCaption, parse_tagged_caption

FIELDS = ("image_id", "file_name", "height", "width", "data_source", "caption", "caption_ann",
          "label_matched", "phrases", "regions", "masks")
"""The keys of every :class:`Sample` (``masks`` is decoded when asked for)."""
_INFO_FIELDS = {"image_id": "id", "file_name": "file_name", "height": "height",
                "width": "width", "data_source": "data_source"}


class CaptionMismatchWarning(UserWarning):
    """A split whose tagged captions disagree with their plain captions or ``label_matched``."""


@dataclass(frozen=True)
class Phrase:
    """One grounded phrase: the j-th tag of ``caption_ann`` and ``label_matched[j]``.

    ``caption[start:end] == text``; ``mask_indices`` are the tag's numbers (0-based positions in
    the sample's regions). ``txt_desc``/``matched_mask_ids`` come from ``label_matched[j]``
    (None when that entry is missing).
    """

    index: int
    text: str
    start: int
    end: int
    mask_indices: tuple[int, ...]
    txt_desc: str | None
    matched_mask_ids: tuple[int, ...] | None

    @property
    def span(self) -> tuple[int, int]:
        return self.start, self.end


@dataclass(frozen=True)
class Region:
    """One mask annotation of a sample (``index`` = its position, the number tags use)."""

    index: int
    id: Any
    category_id: Any
    category_name: str | None
    thing_or_stuff: str | None
    bbox: list[float] | None
    area: Any
    iscrowd: Any
    segmentation: dict[str, Any]
    phrase_indices: tuple[int, ...]

    @property
    def grounded(self) -> bool:
        """True when at least one phrase names this region."""
        return bool(self.phrase_indices)


def first_wins_map(stack: np.ndarray) -> np.ndarray:
    """``H × W`` int32 map of the first mask (position in ``stack``) covering each pixel, -1
    where none does."""
    count = len(stack)
    weights = np.arange(count, 0, -1, dtype=np.uint16 if count < 65535 else np.uint32)
    score = (stack * weights[:, None, None]).max(axis=0, initial=0)  # the first scores highest
    index_map = count - score.astype(np.int32)
    index_map[score == 0] = -1
    return index_map


def resize_nearest(masks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of the last two axes (``… × H × W``) to ``size`` = (h, w)."""
    height, width = masks.shape[-2:]
    rows = (np.arange(size[0]) * height // size[0]).astype(np.intp)
    cols = (np.arange(size[1]) * width // size[1]).astype(np.intp)
    return np.ascontiguousarray(masks[..., rows, :][..., cols])


def matched_entry(entry: Any) -> tuple[str | None, tuple[int, ...] | None]:
    """``(txt_desc, mask_ids)`` of a ``label_matched`` entry; None for what is malformed."""
    if not isinstance(entry, dict):
        return None, None
    text = entry.get("txt_desc")
    ids = entry.get("mask_ids")
    valid_ids = (isinstance(ids, list)
                 and all(isinstance(i, int) and not isinstance(i, bool) for i in ids))
    return (text if isinstance(text, str) else None), (tuple(ids) if valid_ids else None)


class Sample(Mapping):
    """One image of a split: a read-only Mapping with the keys :data:`FIELDS`, plus attributes
    for the same data, ``mask(i)``, ``phrase_mask(p)``, ``panoptic_map()`` and ``to_dict()``.
    """

    def __init__(self, image: dict[str, Any], caption: dict[str, Any] | None,
                 mask_annotations: list[dict[str, Any]], category_names: dict[Any, str],
                 split: str = "", images_dir: Path | None = None) -> None:
        self.image_info = image
        self.caption_annotation = caption
        self.mask_annotations = mask_annotations
        self.split = split
        self.images_dir = images_dir
        self._category_names = category_names
        self._decoded: np.ndarray | None = None

    def __repr__(self) -> str:
        return (f"<Sample {self.split}/{self.image_id}: {len(self.regions)} regions, "
                f"{len(self.phrases)} phrases>")

    def __getitem__(self, key: str) -> Any:
        if key == "masks":
            return self.masks()
        if key not in FIELDS:
            raise NotFoundError(f"a PanoCaps sample has no field {key!r}; fields: "
                                f"{', '.join(FIELDS)}")
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(FIELDS)

    def __len__(self) -> int:
        return len(FIELDS)

    def __contains__(self, key: object) -> bool:
        return key in FIELDS

    def __eq__(self, other: object) -> bool:
        """Same split, image and annotations (Mapping's value comparison would decode masks)."""
        if not isinstance(other, Sample):
            return NotImplemented
        return (self.split, self.image_info, self.caption_annotation, self.mask_annotations) == (
            other.split, other.image_info, other.caption_annotation, other.mask_annotations)

    __hash__ = None  # type: ignore[assignment]

    @property
    def image_id(self) -> str:
        return self.image_info["id"]

    @property
    def file_name(self) -> str:
        return self.image_info["file_name"]

    @property
    def height(self) -> int:
        return int(self.image_info["height"])

    @property
    def width(self) -> int:
        return int(self.image_info["width"])

    @property
    def data_source(self) -> str | None:
        return self.image_info.get("data_source")

    @property
    def caption(self) -> str | None:
        """The clean caption as stored (``caption``), or None for an image without a caption."""
        return None if self.caption_annotation is None else self.caption_annotation.get("caption")

    @property
    def caption_ann(self) -> str | None:
        """The caption with inline tags, or None for an image without a caption."""
        return (None if self.caption_annotation is None
                else self.caption_annotation.get("caption_ann"))

    @property
    def label_matched(self) -> list[dict[str, Any]]:
        """The ``label_matched`` entries as stored (an empty list when absent or not a list)."""
        value = None if self.caption_annotation is None else self.caption_annotation.get(
            "label_matched")
        return list(value) if isinstance(value, list) else []

    @property
    def labels(self) -> list[str]:
        return [] if self.caption_annotation is None else list(
            self.caption_annotation.get("labels") or [])

    @cached_property
    def parsed_caption(self) -> ParsedCaption:
        """``caption_ann`` taken apart (clean text computed from the tags, tags, malformed)."""
        return parse_tagged_caption(self.caption_ann or "")

    @cached_property
    def phrases(self) -> list[Phrase]:
        """One phrase per tag, in order; spans index the clean caption computed from the tags."""
        matched = self.label_matched
        out = []
        for j, tag in enumerate(self.parsed_caption.tags):
            entry = matched[j] if j < len(matched) else None
            out.append(Phrase(j, tag.text, tag.start, tag.end, tag.mask_indices,
                              *matched_entry(entry)))
        return out

    @cached_property
    def regions(self) -> list[Region]:
        """One region per mask annotation, in file order, with the phrases that name it."""
        naming: dict[int, list[int]] = {}
        for phrase in self.phrases:
            for index in dict.fromkeys(phrase.mask_indices):
                naming.setdefault(index, []).append(phrase.index)
        return [Region(i, m.get("id"), m.get("category_id"),
                       self._category_names.get(m.get("category_id")), m.get("thing_or_stuff"),
                       m.get("bbox"), m.get("area"), m.get("iscrowd"), m["segmentation"],
                       tuple(naming.get(i, ()))) for i, m in enumerate(self.mask_annotations)]

    def _where(self, index: int | None = None) -> str:
        where = f"PanoCaps {self.split} image {self.image_id}"
        return where if index is None else f"{where}, mask {index}"

    def _check_index(self, index: int) -> int:
        count = len(self.mask_annotations)
        if not -count <= index < count:
            raise OutOfRangeError(f"{self._where()} has {count} masks; index {index} is out of "
                                  f"range (valid: {-count}..{count - 1})")
        return index % count

    def masks(self) -> np.ndarray:
        """All masks as an ``n × H × W`` uint8 array of 0/1 (decoded once, then cached)."""
        if self._decoded is None:
            rles = [m["segmentation"] for m in self.mask_annotations]
            for i, rle in enumerate(rles):
                size = [int(v) for v in rle.get("size", ())] if isinstance(rle, dict) else None
                if size != [self.height, self.width]:
                    raise InvalidDataError(
                        f"{self._where(i)}: RLE size {size} is not the image size "
                        f"[{self.height}, {self.width}] (run `imagesets validate panocaps`)")
            self._decoded = (mask_ops.decode_stack(rles, self._where()) if rles
                             else np.zeros((0, self.height, self.width), dtype=np.uint8))
        return self._decoded

    def release_masks(self) -> None:
        """Forget the decoded masks (they are decoded again when next asked for)."""
        self._decoded = None

    def mask(self, index: int) -> np.ndarray:
        """Mask ``index`` (a region position, as in tags) as an ``H × W`` uint8 array of 0/1."""
        return self.masks()[self._check_index(index)]

    def phrase_mask(self, phrase: int | Phrase) -> np.ndarray:
        """The union of the masks phrase ``phrase`` names, as an ``H × W`` uint8 array."""
        phrase = self.phrases[phrase] if isinstance(phrase, (int, np.integer)) else phrase
        bad = [i for i in phrase.mask_indices if not 0 <= i < len(self.mask_annotations)]
        if bad:
            raise InvalidDataError(
                f"{self._where()}: phrase {phrase.index} '{phrase.text}' names mask(s) {bad}, "
                f"but the image has {len(self.mask_annotations)} masks")
        if not phrase.mask_indices:
            return np.zeros((self.height, self.width), dtype=np.uint8)
        stack = self.masks()
        union = stack[phrase.mask_indices[0]].copy(order="K")
        for index in phrase.mask_indices[1:]:
            np.maximum(union, stack[index], out=union)
        return union

    def panoptic_map(self, ids: bool = False) -> np.ndarray:
        """``H × W`` int32 map of region positions (-1 where no mask); on overlap the first wins.

        With ``ids=True`` the values are the mask annotations' ``id`` (int64, -1 still void).
        """
        if ids:
            lookup = np.asarray([m.get("id", -1) for m in self.mask_annotations] + [-1],
                                dtype=np.int64)
            return lookup[self.panoptic_map()]
        return first_wins_map(self.masks())

    def image_path(self, images_dir: str | os.PathLike | None = None) -> Path | None:
        """Where the image file should be (``images_dir / file_name``), or None without a dir."""
        folder = images_dir if images_dir is not None else self.images_dir
        return None if folder is None else Path(folder) / self.file_name

    def to_dict(self) -> dict[str, Any]:
        """Plain data: image info, captions, phrases and regions (no pixel data)."""
        return {
            "image_id": self.image_id, "split": self.split, "image_info": dict(self.image_info),
            "caption": self.caption, "caption_ann": self.caption_ann,
            "phrases": [{"text": p.text, "span": [p.start, p.end],
                         "mask_indices": list(p.mask_indices), "txt_desc": p.txt_desc}
                        for p in self.phrases],
            "regions": [{"index": r.index, "id": r.id, "category_id": r.category_id,
                         "category_name": r.category_name, "thing_or_stuff": r.thing_or_stuff,
                         "bbox": r.bbox, "area": r.area, "phrases": list(r.phrase_indices)}
                        for r in self.regions],
        }


class PanoCapsSplit:
    """The samples of one split, in caption-file order: by position (the split contract of
    :mod:`imagesets.contract`) or by image id (a string)."""

    fields = FIELDS

    def __init__(self, data: SplitData, images_dir: str | os.PathLike | None = None,
                 cache_size: int = 16) -> None:
        self.data = data
        self.name = data.split
        self.images_dir = None if images_dir is None else Path(images_dir)
        self.cache_size = cache_size
        self.categories: dict[Any, str] = {c["id"]: c["name"] for c in data.categories}
        self._captions = data.captions_by_image()
        self._masks = data.masks_by_image()
        self._positions: dict[str, int] = {}
        for position, image in enumerate(data.images):
            self._positions.setdefault(image["id"], position)
        self._cache: OrderedDict[int, Sample] = OrderedDict()

    def __repr__(self) -> str:
        return f"<PanoCapsSplit {self.name}: {len(self)} images, {len(self.data.masks)} masks>"

    def __len__(self) -> int:
        return len(self.data.images)

    @property
    def image_ids(self) -> list[str]:
        return [image["id"] for image in self.data.images]

    def __contains__(self, image_id: object) -> bool:
        """True for an image id of this split (a string)."""
        return isinstance(image_id, str) and image_id in self._positions

    def position(self, image_id: str) -> int:
        """Position of ``image_id`` (a string; ints are refused, leading zeros matter)."""
        if not isinstance(image_id, str):
            raise TypeError(f"PanoCaps image ids are strings (e.g. '00000006'), "
                            f"not {type(image_id).__name__}")
        if image_id not in self._positions:
            raise NotFoundError(f"no image '{image_id}' in PanoCaps split '{self.name}' "
                                f"({len(self)} images; e.g. {', '.join(self.image_ids[:3])})")
        return self._positions[image_id]

    @overload
    def __getitem__(self, key: int | str) -> Sample: ...

    @overload
    def __getitem__(self, key: slice | list[int] | np.ndarray) -> list[Sample]: ...

    def __getitem__(self, key: Any) -> Sample | list[Sample]:
        """An int → one sample; a str → the sample of that image id; a slice, integer list/array
        or boolean mask of the split's length → a list of samples (caller's order)."""
        if isinstance(key, str):
            return self._sample(self.position(key))
        positions = resolve_index(key, len(self), f"PanoCaps split '{self.name}'")
        if isinstance(positions, int):
            return self._sample(positions)
        return [self._sample(i) for i in positions]

    def column(self, name: str) -> list[Any]:
        """All values of field ``name`` in split order (``masks`` decodes every sample)."""
        if name not in FIELDS:
            raise NotFoundError(f"PanoCaps split '{self.name}' has no field {name!r}; fields: "
                                f"{', '.join(FIELDS)}")
        if name in _INFO_FIELDS:
            return [image.get(_INFO_FIELDS[name]) for image in self.data.images]
        return [self._sample(i)[name] for i in range(len(self))]

    def _sample(self, position: int) -> Sample:
        if position in self._cache:
            self._cache.move_to_end(position)
            return self._cache[position]
        image = self.data.images[position]
        image_id = image["id"]
        sample = Sample(image, self._captions.get(image_id, [None])[0],
                        self._masks.get(image_id, []), self.categories, self.name,
                        self.images_dir)
        if self.cache_size > 0:
            self._cache[position] = sample
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return sample

    def __iter__(self) -> Iterator[Sample]:
        for position in range(len(self)):
            yield self._sample(position)

    def caption_mismatches(self) -> list[str]:
        """Ids of images whose plain caption ≠ the tagged caption with tags stripped, or whose
        tag count ≠ the number of ``label_matched`` entries (details: ``validate``)."""
        out = []
        for caption in self.data.captions:
            parsed = parse_tagged_caption(caption.get("caption_ann") or "")
            plain = caption.get("caption")
            matched = caption.get("label_matched")
            if ((plain is not None and plain != parsed.clean)
                    or (isinstance(matched, list) and len(matched) != len(parsed.tags))):
                out.append(caption["image_id"])
        return out


def load(root: str | os.PathLike, split: str, images_dir: str | os.PathLike | None = None,
         format: str | None = None, cache_size: int = 16) -> PanoCapsSplit:
    """Read split ``split`` of a PanoCaps folder (JSON pair or Parquet shards).

    ``root`` holds ``annotations/{split}_caption.json`` + ``{split}_mask(s).json`` and/or
    ``data/{split}-*.parquet`` (the files may also sit directly in ``root``); ``format`` forces
    ``"json"`` or ``"parquet"``. ``images_dir`` is where the source images are (optional).
    Warns once (:class:`CaptionMismatchWarning`) when tagged and plain captions disagree.
    """
    loaded = PanoCapsSplit(read_split_data(root, split, format), images_dir, cache_size)
    mismatched = loaded.caption_mismatches()
    if mismatched:
        warnings.warn(
            f"PanoCaps split '{loaded.name}': {len(mismatched)} caption(s) disagree with their "
            f"tags or label_matched (e.g. {', '.join(mismatched[:3])}); phrases follow the tags. "
            "Run `imagesets validate panocaps` for details", CaptionMismatchWarning, stacklevel=2)
    return loaded
