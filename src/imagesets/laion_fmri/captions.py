"""Human and AI captions of the stimuli, read as text ("NA" and "n/a" are captions).

The long-form CSV is grouped once into flat arrays (image names sorted for binary search, each
image's rows ordered by ``caption_idx``, captions as one UTF-8 blob with offsets). Those arrays
are saved in the imagesets data home, keyed by the CSV's path, size and modification time, and
memory-mapped by later processes: a first lookup then costs a millisecond instead of a CSV parse.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from ..catalog import data_home
from ..errors import InvalidDataError
from .config import NAME, resolve_data_dir
from .layout import CAPTIONS_CSV, required_file
from .tables import check_stimulus_name, read_table

COLUMNS = ("image_name", "caption_idx", "source", "caption", "origin_collection",
           "participant_id", "ai_model")
TEXT_COLUMNS = ("image_name", "source", "caption", "origin_collection", "participant_id",
                "ai_model")
HUMAN, AI = 1, 2
SOURCES = {"human": HUMAN, "ai": AI}
INDEX_VERSION = 1


def read_captions(path: os.PathLike) -> pd.DataFrame:
    """The captions CSV with every text column as text; empty ids/models become missing."""
    frame = read_table(path, COLUMNS, TEXT_COLUMNS)
    for column in ("participant_id", "ai_model"):
        frame[column] = frame[column].where(frame[column] != "", None)
    return frame


class CaptionIndex:
    """Captions grouped per image in flat arrays that save to ``.npy`` files and memory-map."""

    FIELDS = ("names", "spans", "first_seen", "order", "kinds", "offsets", "text")

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = {k: v.view(np.ndarray) for k, v in arrays.items()}
        for field in self.FIELDS:
            setattr(self, field, self.arrays[field])
        self._blob = memoryview(self.text)

    @classmethod
    def build(cls, frame: pd.DataFrame) -> CaptionIndex:
        """Group ``frame`` (the captions table) per image, rows by ``caption_idx``."""
        import pyarrow as pa
        import pyarrow.compute as pc

        codes, unique = pd.factorize(frame["image_name"], sort=True)
        names = unique.to_numpy(dtype=str)
        if len(names) > 1 and not (names[:-1] < names[1:]).all():  # numpy's order rules lookups
            resort = np.argsort(names, kind="stable")
            codes = np.argsort(resort)[codes]
            names = names[resort]
        rank = frame["caption_idx"].to_numpy(np.int64)
        order = np.argsort(codes.astype(np.int64) * (int(rank.max(initial=0)) + 1) + rank,
                           kind="stable")
        counts = np.bincount(codes, minlength=len(names))
        stops = np.cumsum(counts)
        first = np.full(len(names), len(codes))
        np.minimum.at(first, codes, np.arange(len(codes)))
        take = pa.array(order)
        sources = pa.array(frame["source"], pa.string()).take(take)
        kinds = np.where(pc.equal(sources, "human").to_numpy(zero_copy_only=False), HUMAN,
                         np.where(pc.equal(sources, "ai").to_numpy(zero_copy_only=False), AI, 0))
        text = pa.array(frame["caption"], pa.string()).take(take)
        if isinstance(text, pa.ChunkedArray):
            text = text.combine_chunks()
        text = text.cast(pa.large_string())
        offsets = np.frombuffer(text.buffers()[1], np.int64)[text.offset:text.offset + len(text)
                                                             + 1]
        blob = np.frombuffer(text.buffers()[2] or b"", np.uint8)[offsets[0]:offsets[-1]]
        return cls({
            "names": names, "spans": np.stack([stops - counts, stops], 1),
            "first_seen": np.argsort(first, kind="stable"), "order": order,
            "kinds": kinds.astype(np.uint8), "offsets": offsets - offsets[0], "text": blob})

    @classmethod
    def load(cls, folder: Path) -> CaptionIndex | None:
        """The saved index in ``folder`` (memory-mapped), or None if absent or incomplete."""
        try:
            arrays = {f: np.load(folder / f"{f}.npy", mmap_mode="r") for f in cls.FIELDS}
        except (OSError, ValueError):
            return None
        if len(arrays["offsets"]) != len(arrays["order"]) + 1 or \
                len(arrays["spans"]) != len(arrays["names"]):
            return None
        return cls(arrays)

    def save(self, folder: Path) -> None:
        """Write the arrays to ``folder`` atomically (a temp folder renamed into place)."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        temp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            for field, array in self.arrays.items():
                np.save(temp / f"{field}.npy", array)
            os.replace(temp, folder)
        except OSError:
            shutil.rmtree(temp, ignore_errors=True)
            if not folder.is_dir():
                raise

    def span(self, image_name: str) -> tuple[int, int]:
        """The rows of one image (``(0, 0)`` if it has no captions)."""
        i = int(self.names.searchsorted(image_name))
        if i < len(self.names) and self.names[i] == image_name:
            start, stop = self.spans[i].tolist()
            return start, stop
        return 0, 0

    def texts(self, image_name: str, kind: int | None = None) -> list[str]:
        """The captions of one image in ``caption_idx`` order, optionally of one kind."""
        start, stop = self.span(image_name)
        bounds = self.offsets[start:stop + 1].tolist()
        kinds = self.kinds[start:stop].tolist()
        blob = self._blob
        return [str(blob[bounds[i]:bounds[i + 1]], "utf-8") for i in range(stop - start)
                if kind is None or kinds[i] == kind]


class Captions:
    """Captions per image: ``human()`` in rank order, ``ai()``, ``list()``, ``get()``."""

    def __init__(self, data_dir: str | os.PathLike | None = None) -> None:
        self.data_dir = resolve_data_dir(data_dir)
        self._csv = required_file(self.data_dir / CAPTIONS_CSV, "captions", "captions")

    @cached_property
    def metadata(self) -> pd.DataFrame:
        """The captions table, one row per caption, in file order."""
        return read_captions(self._csv)

    @cached_property
    def index(self) -> CaptionIndex:
        """The per-image index: from the data-home cache if current, else built and saved."""
        stat = self._csv.stat()
        key = hashlib.sha256(f"{INDEX_VERSION}|{self._csv}|{stat.st_size}|{stat.st_mtime_ns}"
                             .encode()).hexdigest()[:20]
        folder = data_home() / NAME / "cache" / f"captions-{key}"
        index = CaptionIndex.load(folder)
        if index is None:
            index = CaptionIndex.build(self.metadata)
            with contextlib.suppress(OSError):
                index.save(folder)
        return index

    def __len__(self) -> int:
        return len(self.index.order)

    def images(self) -> list[str]:
        """Names of the images that have captions, in file order."""
        return self.index.names[self.index.first_seen].tolist()

    def __contains__(self, image_name: object) -> bool:
        return isinstance(image_name, str) and self.index.span(image_name) != (0, 0)

    def _span(self, image_name: str) -> tuple[int, int]:
        """The rows of a stimulus (``(0, 0)`` without captions); KeyError for a non-stimulus."""
        span = self.index.span(image_name) if isinstance(image_name, str) else (0, 0)
        if span == (0, 0):
            check_stimulus_name(self.data_dir, image_name, "captions")
        return span

    def get(self, image_name: str) -> pd.DataFrame:
        """All caption rows of one image, by ``caption_idx`` (AI first); empty if none."""
        start, stop = self._span(image_name)
        return self.metadata.iloc[self.index.order[start:stop]].reset_index(drop=True)

    def human(self, image_name: str, limit: int | None = None) -> list[str]:
        """Human captions in rank order (at most ``limit``); ``[]`` if none."""
        self._span(image_name)
        captions = self.index.texts(image_name, HUMAN)
        return captions if limit is None else captions[:limit]

    def ai(self, image_name: str) -> str | None:
        """The AI caption, or None (unique and OOD images have none)."""
        self._span(image_name)
        found = self.index.texts(image_name, AI)
        return found[0] if found else None

    def list(self, image_name: str, source: str | None = None) -> list[str]:
        """Captions of one image by ``caption_idx``, optionally of one ``source``."""
        if source is not None and source not in SOURCES:
            raise InvalidDataError(f"source must be 'human', 'ai' or None, not {source!r}")
        self._span(image_name)
        return self.index.texts(image_name, None if source is None else SOURCES[source])
