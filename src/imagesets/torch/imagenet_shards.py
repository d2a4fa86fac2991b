"""Iterable ``ImageNetShards`` dataset over ``raw256 --format shards`` (local or any fsspec URL)."""

from __future__ import annotations

import json
import random
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import torch.utils.data

from ..errors import InvalidDataError, NotFoundError, require
from .base import reader_position, split_for_reader
from .common import SampleMaker

INDEX_PATTERN = "*-shards.json"


def _is_url(location: str) -> bool:
    return "://" in location and not location.startswith("file://")


def _open(location: str, storage_options: dict[str, Any]) -> IO[bytes]:
    if _is_url(location):
        fsspec = require("fsspec", "torch", "reading shards from a URL")
        return fsspec.open(location, "rb", **storage_options).open()
    return open(location.removeprefix("file://"), "rb")


def _find_index(source: str, storage_options: dict[str, Any]) -> str:
    """The index file: ``source`` itself when it names a .json, else the one in the folder."""
    if source.endswith(".json"):
        return source
    if _is_url(source):
        fsspec = require("fsspec", "torch", "reading shards from a URL")
        fs, path = fsspec.core.url_to_fs(source, **storage_options)
        found = sorted(fs.glob(f"{path.rstrip('/')}/{INDEX_PATTERN}"))
        found = [fs.unstrip_protocol(p) for p in found]
    else:
        found = sorted(str(p) for p in Path(source.removeprefix("file://")).glob(INDEX_PATTERN))
    if len(found) != 1:
        raise NotFoundError(
            f"expected one {INDEX_PATTERN} index in {source}, found {len(found)}; pass the "
            "train_shards/ or val_shards/ folder written by imagesets prepare ilsvrc2012 "
            "--task raw256 --format shards, or the index file itself")
    return found[0]


class ImageNetShards(torch.utils.data.IterableDataset):
    """``(image, class_index)`` from WebDataset tar shards, each sample once per epoch across
    all DataLoader workers and distributed ranks (shards are split between them).

    ``source``: a shard folder or its ``{set}-shards.json`` index, a local path or any fsspec
    URL (``s3://bucket/imagenet/train_shards``; ``storage_options`` go to fsspec).
    ``shuffle_buffer`` > 0 shuffles the shard order and samples within a buffer of that many,
    differently each epoch (:meth:`set_epoch`) but reproducibly for ``seed``. A shard that ends
    early or is corrupt raises an error naming it.
    """

    def __init__(self, source: str | Path, transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[int], Any] | None = None,
                 shuffle_buffer: int = 0, seed: int = 0, decode: str = "auto",
                 storage_options: dict[str, Any] | None = None) -> None:
        self.storage_options = dict(storage_options or {})
        self.index_location = _find_index(str(source), self.storage_options)
        with _open(self.index_location, self.storage_options) as fh:
            index = json.load(fh)
        base = self.index_location.rsplit("/", 1)[0]
        self.shards: list[tuple[str, int]] = [(f"{base}/{s['name']}", int(s["count"]))
                                              for s in index["shards"]]
        self.classes: list[str] = list(index["classes"])
        self.class_to_idx = {wnid: i for i, wnid in enumerate(self.classes)}
        self.num_samples: int = int(index["num_samples"])
        self.shuffle_buffer, self.seed, self.epoch = int(shuffle_buffer), int(seed), 0
        self._make = SampleMaker(transform, target_transform, decode)

    def set_epoch(self, epoch: int) -> None:
        """Use another shuffle order for this epoch (call it before each epoch)."""
        self.epoch = int(epoch)

    def _reader_shards(self) -> list[tuple[str, int]]:
        shards = list(self.shards)
        if self.shuffle_buffer > 0:
            random.Random(self.seed * 1_000_003 + self.epoch).shuffle(shards)
        return split_for_reader(shards, reader_position())

    def _samples(self, location: str, expected: int) -> Iterator[tuple[str, bytes, int]]:
        name = location.rsplit("/", 1)[-1]
        found = 0
        try:
            with _open(location, self.storage_options) as fh, \
                    tarfile.open(fileobj=fh, mode="r|") as tar:
                key, image, target = None, None, None
                for member in tar:
                    stem, _, suffix = member.name.rpartition(".")
                    payload = tar.extractfile(member).read() if member.isfile() else b""
                    if stem != key:
                        key, image, target = stem, None, None
                    if suffix == "jpg":
                        image = payload
                    elif suffix == "cls":
                        target = int(payload)
                    if image is not None and target is not None:
                        found += 1
                        yield f"{name}:{key}", image, target
                        key = None
        except (tarfile.TarError, OSError, ValueError) as exc:
            raise InvalidDataError(f"shard {location} is truncated or corrupt after {found} "
                                   f"of {expected} samples ({type(exc).__name__}: {exc}); "
                                   "rewrite it (delete it and rerun imagesets prepare)") from exc
        if found != expected:
            raise InvalidDataError(f"shard {location} is truncated: {found} of {expected} "
                                   "samples; rewrite it (delete it and rerun imagesets prepare)")

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        position = reader_position()
        rng = random.Random((self.seed * 1_000_003 + self.epoch) * 65_537 + position[0])
        buffer: list[tuple[str, bytes, int]] = []
        for location, count in self._reader_shards():
            for sample in self._samples(location, count):
                if self.shuffle_buffer <= 0:
                    yield self._make(sample[1], sample[2], sample[0])
                    continue
                buffer.append(sample)
                if len(buffer) >= self.shuffle_buffer:
                    pick = rng.randrange(len(buffer))
                    buffer[pick], buffer[-1] = buffer[-1], buffer[pick]
                    where, data, target = buffer.pop()
                    yield self._make(data, target, where)
        rng.shuffle(buffer)
        for where, data, target in buffer:
            yield self._make(data, target, where)

    def __repr__(self) -> str:
        return (f"ImageNetShards({len(self.shards):,} shards, {self.num_samples:,} samples, "
                f"{self.index_location}, shuffle_buffer={self.shuffle_buffer})")
