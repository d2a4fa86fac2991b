"""COCO run-length-encoded masks: validation, decoding, encoding, IoU, union.

The one place that talks to pycocotools. Every decode first checks that the run lengths add up
to ``h × w``: pycocotools silently returns garbage for counts that are too short or too long.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

from .errors import InvalidDataError

RLE = Mapping[str, Any]


def compressed_counts_to_runs(counts: str | bytes) -> list[int]:
    """Decode COCO's compressed RLE string (LEB128-like, delta-coded) into run lengths."""
    data = counts.encode("ascii") if isinstance(counts, str) else counts
    runs: list[int] = []
    position = 0
    while position < len(data):
        value = 0
        shift = 0
        more = True
        while more:
            if position >= len(data):
                raise InvalidDataError("compressed RLE string ends in the middle of a number")
            char = data[position] - 48
            if not 0 <= char < 64:
                raise InvalidDataError(f"byte {data[position]!r} cannot occur in a compressed "
                                       "COCO RLE string")
            value |= (char & 0x1F) << (5 * shift)
            more = bool(char & 0x20)
            position += 1
            shift += 1
            if not more and char & 0x10:
                value |= -1 << (5 * shift)
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
    return runs


def compressed_counts_to_run_array(counts: str | bytes) -> np.ndarray:
    """Vectorised :func:`compressed_counts_to_runs`: the run lengths as an int64 array."""
    data = np.frombuffer(counts.encode("ascii") if isinstance(counts, str) else counts,
                         dtype=np.uint8).astype(np.int64) - 48
    if not data.size:
        return np.zeros(0, dtype=np.int64)
    if ((data < 0) | (data >= 64)).any():
        return np.asarray(compressed_counts_to_runs(counts), dtype=np.int64)
    more = (data & 0x20) != 0
    if more[-1]:
        raise InvalidDataError("compressed RLE string ends in the middle of a number")
    ends = np.flatnonzero(~more)
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts + 1
    if lengths.max() > 12:
        raise InvalidDataError("compressed RLE string holds a run length of 2^60 or more")
    shift = np.arange(data.size) - np.repeat(starts, lengths)
    values = np.add.reduceat((data & 0x1F) << (5 * shift), starts)
    negative = (data[ends] & 0x10) != 0
    values[negative] |= np.left_shift(np.int64(-1), 5 * lengths[negative])
    values[1::2] = np.cumsum(values[1::2])
    values[2::2] = np.cumsum(values[2::2])
    return values


def checked_runs(rle: RLE) -> tuple[int, int, np.ndarray] | str:
    """``(h, w, run lengths)`` of a valid COCO RLE, or the reason it is invalid (a str)."""
    try:
        height, width = (int(v) for v in rle["size"])
        counts = rle["counts"]
    except (KeyError, TypeError, ValueError):
        return "expected {'size': [h, w], 'counts': ...}"
    if height < 0 or width < 0:
        return f"negative size {[height, width]}"
    try:
        runs = (compressed_counts_to_run_array(counts) if isinstance(counts, (str, bytes))
                else np.asarray([int(c) for c in counts], dtype=np.int64))
    except (InvalidDataError, TypeError, ValueError) as exc:
        return str(exc)
    if (runs < 0).any():
        return "negative run length"
    total = int(runs.sum())
    if total != height * width:
        return f"run lengths sum to {total}, not h × w = {height} × {width} = {height * width}"
    return height, width, runs


def rle_problem(rle: RLE) -> str | None:
    """Why ``rle`` is not a valid COCO RLE (size, counts summing to h × w), or None if it is."""
    checked = checked_runs(rle)
    return checked if isinstance(checked, str) else None


def rle_problems(rles: Sequence[RLE]) -> list[str | None]:
    """:func:`rle_problem` of many RLEs, compressed string counts checked in one numpy pass."""
    out: list[str | None] = [None] * len(rles)
    fast: list[int] = []
    chunks: list[bytes] = []
    sizes: list[int] = []
    for i, rle in enumerate(rles):
        try:
            height, width = (int(v) for v in rle["size"])
            counts = rle["counts"]
            chunk = counts.encode("ascii") if isinstance(counts, str) else counts
        except (KeyError, TypeError, ValueError, AttributeError, UnicodeEncodeError):
            chunk = None
        if isinstance(chunk, bytes) and chunk and height >= 0 and width >= 0:
            fast.append(i)
            chunks.append(chunk)
            sizes.append(height * width)
        else:
            out[i] = rle_problem(rle)
    if not fast:
        return out
    data = np.frombuffer(b"".join(chunks), dtype=np.uint8).astype(np.int64) - 48
    chunk_ends = np.cumsum([len(c) for c in chunks])
    more = (data & 0x20) != 0
    ends = np.flatnonzero(~more)
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts + 1
    if (((data < 0) | (data >= 64)).any() or more[chunk_ends - 1].any()
            or lengths.max() > 12):
        return [rle_problem(rle) for rle in rles]
    shift = np.arange(data.size) - np.repeat(starts, lengths)
    values = np.add.reduceat((data & 0x1F) << (5 * shift), starts)
    negative = (data[ends] & 0x10) != 0
    values[negative] |= np.left_shift(np.int64(-1), 5 * lengths[negative])
    owner = np.searchsorted(chunk_ends, ends, side="right")
    first = np.searchsorted(owner, np.arange(len(fast)))
    position = np.arange(len(values)) - first[owner]
    for chain in (position % 2 == 1, (position % 2 == 0) & (position >= 2)):
        index = np.flatnonzero(chain)
        if not index.size:
            continue
        sums = np.cumsum(values[index])
        group = owner[index]
        new_group = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        before = np.r_[0, sums[new_group[1:] - 1]]
        values[index] = sums - np.repeat(before, np.diff(np.r_[new_group, index.size]))
    totals = np.add.reduceat(values, first)
    smallest = np.minimum.reduceat(values, first)
    for j, i in enumerate(fast):
        if totals[j] != sizes[j] or smallest[j] < 0:
            out[i] = rle_problem(rles[i])
    return out


def validate_rle(rle: RLE, where: str = "mask") -> None:
    """Raise InvalidDataError naming ``where`` unless ``rle`` is a well-formed COCO RLE."""
    problem = rle_problem(rle)
    if problem:
        raise InvalidDataError(f"{where}: invalid COCO RLE: {problem}")


def to_pycocotools(rle: RLE) -> dict[str, Any]:
    """The form pycocotools takes: compressed counts as bytes (uncompressed lists converted)."""
    height, width = (int(v) for v in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, str):
        counts = counts.encode("ascii")
    elif not isinstance(counts, bytes):
        counts = coco_mask.frPyObjects({"size": [height, width], "counts": list(counts)},
                                       height, width)["counts"]
    return {"size": [height, width], "counts": counts}


def decode(rle: RLE, where: str = "mask") -> np.ndarray:
    """Validated decode of one RLE to an ``h × w`` uint8 array of 0/1."""
    validate_rle(rle, where)
    return coco_mask.decode(to_pycocotools(rle))


def decode_many(rles: Sequence[RLE], where: str = "masks") -> np.ndarray:
    """Decode RLEs of one size into an ``n × h × w`` uint8 array (one pycocotools call)."""
    if not rles:
        raise ValueError("decode_many needs at least one RLE (the size is taken from them)")
    for i, rle in enumerate(rles):
        validate_rle(rle, f"{where}[{i}]")
    sizes = {tuple(int(v) for v in rle["size"]) for rle in rles}
    if len(sizes) != 1:
        raise InvalidDataError(f"{where}: masks of different sizes {sorted(sizes)}")
    stacked = coco_mask.decode([to_pycocotools(r) for r in rles])
    return np.ascontiguousarray(np.moveaxis(stacked, -1, 0))


def decode_stack(rles: Sequence[RLE], where: str = "masks") -> np.ndarray:
    """Validated decode of same-size RLEs into an ``n × h × w`` uint8 array, in numpy.

    The run lengths computed for the h × w check are expanded with one ``np.repeat`` (several
    times faster than pycocotools' decoder). Each mask comes back as a transposed view of its
    column-major pixels (``stack[k]`` is Fortran-contiguous), which saves a copy.
    """
    if not rles:
        raise ValueError("decode_stack needs at least one RLE (the size is taken from them)")
    runs = []
    size = None
    for i, rle in enumerate(rles):
        checked = checked_runs(rle)
        if isinstance(checked, str):
            raise InvalidDataError(f"{where}[{i}]: invalid COCO RLE: {checked}")
        if size is not None and checked[:2] != size:
            raise InvalidDataError(f"{where}: masks of different sizes {[size, checked[:2]]}")
        size = checked[:2]
        runs.append(checked[2])
    return stack_runs(runs, *size)


def stack_runs(runs: Sequence[np.ndarray], height: int, width: int) -> np.ndarray:
    """``n × h × w`` uint8 masks from checked run lengths (see :func:`checked_runs`), expanded
    with one ``np.repeat``; ``stack[k]`` is a transposed view of mask k's column-major pixels."""
    values = np.concatenate([np.arange(len(r), dtype=np.uint8) & 1 for r in runs])
    flat = np.repeat(values, np.concatenate(runs))
    return flat.reshape(len(runs), width, height).transpose(0, 2, 1)


def encode(mask: np.ndarray) -> dict[str, Any]:
    """Encode an ``h × w`` binary mask as COCO RLE with ``counts`` as a str (JSON-ready)."""
    rle = coco_mask.encode(np.asfortranarray(np.asarray(mask, dtype=np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def area(rle: RLE) -> int:
    """Number of foreground pixels."""
    return int(coco_mask.area(to_pycocotools(rle)))


def bbox(rle: RLE) -> list[float]:
    """COCO ``[x, y, w, h]`` bounding box of the foreground."""
    return [float(v) for v in coco_mask.toBbox(to_pycocotools(rle))]


def iou_matrix(a: Sequence[RLE], b: Sequence[RLE]) -> np.ndarray:
    """``len(a) × len(b)`` mask IoU matrix (float64; empty shapes for empty inputs)."""
    if not a or not b:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    pa = [to_pycocotools(r) for r in a]
    pb = [to_pycocotools(r) for r in b]
    return np.asarray(coco_mask.iou(pa, pb, [0] * len(pb)), dtype=np.float64).reshape(
        len(a), len(b))


def union(rles: Sequence[RLE]) -> dict[str, Any]:
    """The union of masks of one size, as a JSON-ready RLE."""
    if not rles:
        raise ValueError("union needs at least one RLE")
    merged = coco_mask.merge([to_pycocotools(r) for r in rles], intersect=False)
    return {"size": [int(v) for v in merged["size"]], "counts": merged["counts"].decode("ascii")}
