"""raw256 as WebDataset-compatible tar shards: ``{key}.jpg`` + ``{key}.cls`` per sample.

The sample order is a permutation fixed by a seed, cut into shards of about ``shard_size``
bytes (the count per shard is planned from a few resized samples and recorded, so a rerun
plans the same shards). Each shard is one engine item, written under a temp name and renamed:
a finished shard is never rewritten (unless it was written without images left out by
``exclude_corrupt`` and a later run no longer leaves them out) and a killed run leaves no tar
that looks finished. When
every shard is written, ``{set}-shards.json`` lists shard names, sample counts, keys and the
byte offset of each sample's first member, so shard ``i``, sample ``j`` can be found.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import Failure, run_items
from ..errors import InvalidDataError
from ..fsutil import atomic_path, atomic_write_text
from .raw256 import DEFAULT_QUALITY, SHORT_SIDE, resize_bytes
from .scan import ScannedDataset

DEFAULT_SHARD_SIZE = 1_000_000_000
DEFAULT_SEED = 0
PLAN_NAME = ".imagesets-shards-plan.json"
PLAN_SAMPLES = 32
TAR_OVERHEAD = 3 * tarfile.BLOCKSIZE  # two headers and half a block of padding per member
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?I?B?)\s*$", re.IGNORECASE)


def parse_size(value: int | str) -> int:
    """Bytes from ``1000000``, ``"500MB"``, ``"1GB"`` or ``"2GiB"``."""
    match = _SIZE.match(str(value))
    if not match or match.group(2).upper() not in _UNITS or float(match.group(1)) <= 0:
        raise InvalidDataError(f"shard size {value!r} is not a size: give bytes or a number "
                               "with a unit, e.g. --shard-size 1GB or 500MB")
    return max(1, int(float(match.group(1)) * _UNITS[match.group(2).upper()]))


def shard_folder(root: Path, set_name: str) -> Path:
    return root / f"{set_name}_shards"


def index_path(root: Path, set_name: str) -> Path:
    """``{root}/{set}_shards/{set}-shards.json``."""
    return shard_folder(root, set_name) / f"{set_name}-shards.json"


def sample_key(relpath: str, source_dir: str) -> str:
    """The WebDataset key of an image: its path below the set folder without the suffix,
    dots made underscores (WebDataset splits a member name at its first dot)."""
    rest = relpath[len(source_dir) + 1:] if source_dir else relpath
    stem = rest.rsplit(".", 1)[0] if "." in rest.rsplit("/", 1)[-1] else rest
    return stem.replace(".", "_")


@dataclass(frozen=True)
class ShardJob:
    """One shard to write: its final path and its samples, in order."""

    path: str
    keys: tuple[str, ...]
    sources: tuple[str, ...]
    labels: tuple[int, ...]
    quality: int = DEFAULT_QUALITY
    exclude_corrupt: bool = False


@dataclass
class ShardResult:
    """A shard written (or not, when an image failed and corrupt ones are not excluded)."""

    name: str
    written: bool
    keys: list[str] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    size: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)


def _member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o444, 0
    return info


class _Abandon(Exception):
    """An image of the shard failed: the temp file is removed, the shard stays unwritten."""


def write_shard(job: ShardJob) -> ShardResult:
    """Resize the job's images into one tar (temp name, renamed when complete)."""
    result = ShardResult(os.path.basename(job.path), written=False)
    try:
        with atomic_path(job.path) as tmp, open(tmp, "wb") as fh, \
                tarfile.open(fileobj=fh, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for key, source, label in zip(job.keys, job.sources, job.labels, strict=True):
                try:
                    with open(source, "rb") as image:
                        encoded, _ = resize_bytes(image.read(), job.quality)
                except Exception as exc:
                    result.failures.append((source, f"{type(exc).__name__}: {exc}"))
                    continue
                result.offsets.append(tar.offset)
                result.keys.append(key)
                tar.addfile(_member(f"{key}.jpg", len(encoded)), io.BytesIO(encoded))
                cls = str(label).encode("ascii")
                tar.addfile(_member(f"{key}.cls", len(cls)), io.BytesIO(cls))
            if result.failures and not job.exclude_corrupt:
                raise _Abandon
    except _Abandon:
        return result
    result.written = True
    result.size = os.path.getsize(job.path)
    return result


def read_finished(path: Path) -> ShardResult:
    """Keys, offsets and size of a shard written by an earlier run (headers only)."""
    keys, offsets = [], []
    with tarfile.open(path, "r:") as tar:
        for member in tar:
            if member.name.endswith(".jpg"):
                keys.append(member.name[:-4])
                offsets.append(member.offset)
    return ShardResult(path.name, True, keys, offsets, path.stat().st_size)


def _listing_digest(keys: Sequence[str], labels: np.ndarray) -> str:
    digest = hashlib.sha256("\n".join(keys).encode())
    digest.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    return digest.hexdigest()


def _samples_per_shard(sources: Sequence[str], shard_size: int, quality: int) -> int:
    """Plan the count per shard from the mean size of a few resized samples."""
    sizes = []
    for source in sources[:PLAN_SAMPLES]:
        try:
            with open(source, "rb") as fh:
                sizes.append(len(resize_bytes(fh.read(), quality)[0]))
        except Exception:  # a corrupt file is reported by the run itself
            continue
    mean = (float(np.mean(sizes)) if sizes else 50_000.0) + TAR_OVERHEAD
    return max(1, int(shard_size // mean))


def _plan(folder: Path, wanted: dict[str, Any], sources: Sequence[str], shard_size: int,
          quality: int) -> int:
    """The recorded count per shard for these options and images, or a new plan."""
    plan_file = folder / PLAN_NAME
    if plan_file.exists():
        found = json.loads(plan_file.read_text(encoding="utf-8"))
        count = found.pop("samples_per_shard", None)
        if found == wanted and isinstance(count, int):
            return count
        if any(folder.glob("*.tar")):
            raise InvalidDataError(
                f"{folder} holds shards written with other options or other images "
                f"({ {k: v for k, v in found.items() if k != 'listing'} }); pick another "
                "output folder (--output-dir), or delete the folder to rewrite every shard.")
    count = _samples_per_shard(sources, shard_size, quality)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(plan_file, json.dumps({**wanted, "samples_per_shard": count},
                                            sort_keys=True) + "\n")
    return count


@dataclass
class ShardsRun:
    """What :func:`write_ilsvrc2012_shards` did."""

    output_root: Path
    indexes: dict[str, Path]
    total: int
    skipped_shards: int
    written_shards: int
    failures: list[Failure]
    seconds: float
    workers: int
    excluded: dict[str, str] = field(default_factory=dict)


def write_ilsvrc2012_shards(scanned: ScannedDataset, output_root: Path, *,
                            quality: int = DEFAULT_QUALITY,
                            shard_size: int = DEFAULT_SHARD_SIZE, seed: int = DEFAULT_SEED,
                            exclude_corrupt: bool = False, workers: int | None = None,
                            engine: str = "local", address: str | None = None,
                            verbose: bool = True) -> ShardsRun:
    """Write every set as shards under ``output_root/{set}_shards/``; the index of a set is
    written only when all its shards are. Image failures are returned, never raised."""
    jobs: list[ShardJob] = []
    finished: dict[str, ShardResult] = {}
    planned: dict[str, list[ShardJob]] = {}
    for set_name, listing in scanned.sets.items():
        folder = shard_folder(output_root, set_name)
        prefix = listing.source_dir.relative_to(scanned.data_dir).as_posix()
        keys = [sample_key(p, prefix) for p in listing.relpaths]
        if len(set(keys)) != len(keys):
            raise InvalidDataError(f"two {set_name} images share a key once their suffix is "
                                   f"dropped (e.g. a.jpg and a.png) in {listing.source_dir}; "
                                   "rename one of them")
        order = np.random.default_rng(seed).permutation(len(keys))
        sources = [str(scanned.data_dir / listing.relpaths[i]) for i in order]
        wanted = {"seed": seed, "shard_size": shard_size, "quality": quality,
                  "short_side": SHORT_SIDE,
                  "listing": _listing_digest(keys, listing.class_indices)}
        per_shard = _plan(folder, wanted, sources, shard_size, quality)
        for stale in folder.glob(f".{set_name}-*.tar.*.tmp"):  # left by a killed run
            stale.unlink(missing_ok=True)
        planned[set_name] = []
        for number, start in enumerate(range(0, len(order), per_shard)):
            part = order[start:start + per_shard]
            job = ShardJob(str(folder / f"{set_name}-{number:06d}.tar"),
                           tuple(keys[i] for i in part), tuple(sources[start:start + len(part)]),
                           tuple(int(listing.class_indices[i]) for i in part), quality,
                           exclude_corrupt)
            planned[set_name].append(job)
            existing = read_finished(Path(job.path)) if Path(job.path).exists() else None
            if existing is not None and (exclude_corrupt or existing.keys == list(job.keys)):
                finished[existing.name] = existing
            else:  # missing, or written without images that are no longer to be left out
                jobs.append(job)
    if verbose and finished:
        print(f"raw256: {len(finished):,} of {len(finished) + len(jobs):,} shards already "
              f"written; writing the other {len(jobs):,}")
    run = run_items(write_shard, jobs, engine=engine, workers=workers, address=address,
                    desc="raw256 shards", unit="shard", verbose=verbose)
    results = {r.name: r for r in run.results}
    results.update(finished)
    failures = [Failure(f.item.path, f.error) for f in run.failures]  # a whole shard
    excluded: dict[str, str] = {}
    for result in run.results:
        for source, reason in result.failures:
            failures.append(Failure(source, reason))
            if result.written:
                excluded[source] = reason
    indexes = {}
    for set_name, set_jobs in planned.items():
        path = index_path(output_root, set_name)
        done = [results.get(Path(j.path).name) for j in set_jobs]
        if all(r is not None and r.written for r in done):
            for job, result in zip(set_jobs, done, strict=True):
                for source, key in zip(job.sources, job.keys, strict=True):
                    if key not in result.keys and source not in excluded:
                        excluded[source] = "left out of its shard by an earlier run"
            _write_index(path, set_name, scanned, done, seed, shard_size, quality)
            indexes[set_name] = path
        else:
            path.unlink(missing_ok=True)
    return ShardsRun(output_root, indexes, sum(len(j) for j in planned.values()),
                     len(finished), sum(1 for r in run.results if r.written), failures,
                     run.seconds, run.workers, excluded)


def _write_index(path: Path, set_name: str, scanned: ScannedDataset,
                 results: Sequence[ShardResult], seed: int, shard_size: int,
                 quality: int) -> None:
    index = {"format": "webdataset", "set": set_name, "short_side": SHORT_SIDE,
             "quality": quality, "seed": seed, "shard_size": shard_size,
             "classes": list(scanned.classes.wnids),
             "num_samples": sum(len(r.keys) for r in results),
             "shards": [{"name": r.name, "count": len(r.keys), "bytes": r.size, "keys": r.keys,
                         "offsets": r.offsets} for r in results]}
    atomic_write_text(path, json.dumps(index) + "\n")
