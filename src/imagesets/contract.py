"""The dataset contract every catalog dataset keeps, written down as ``typing.Protocol``s.

``imagesets.load(name)`` returns a :class:`Dataset`; ``ds[set_name]`` a :class:`Split`; a split
indexed by an integer gives one record, a ``Mapping`` with the same keys across the split.
``tests/test_contract.py`` checks every catalog entry against these on its embedded sample.
Dataset-specific methods are extra, never instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .errors import OutOfRangeError

INFO_KEYS = ("name", "task", "sets", "data_dir", "files", "license")
"""The top-level keys of every dataset's ``info()``: ``sets`` maps set name → size, ``files``
lists the files the dataset object reads."""


@runtime_checkable
class Split(Protocol):
    """One set of a dataset (e.g. ``val``): a sequence of records.

    ``split[i]`` → one record (negative ``i`` as in Python; out of range → ``IndexError``, also
    an ``ImagesetsError``); a slice → list of records; a list/array of integers → records in the
    caller's order, duplicates kept; a boolean array of the split's length → the selected
    records (another length → ``IndexError``).
    """

    @property
    def fields(self) -> Sequence[str]: ...

    def __len__(self) -> int: ...

    def __getitem__(self, key: Any) -> Any: ...

    def __iter__(self) -> Iterator[Mapping[str, Any]]: ...

    def column(self, name: str) -> Any:
        """All values of one field, in split order."""
        ...


@runtime_checkable
class Dataset(Protocol):
    """A prepared task of one catalog dataset: named sets, each a :class:`Split`.

    ``iter(ds)`` yields set names and ``set_name in ds`` tests one; neither reads image data or
    raises. ``info()`` returns a dict whose top-level keys are :data:`INFO_KEYS`.
    """

    name: str
    task: str

    @property
    def sets(self) -> tuple[str, ...]: ...

    def __getitem__(self, set_name: str) -> Split: ...

    def __iter__(self) -> Iterator[str]: ...

    def __contains__(self, set_name: object) -> bool: ...

    def __len__(self) -> int: ...

    def info(self) -> dict[str, Any]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Any: ...

    def __exit__(self, *exc: object) -> Any: ...


def resolve_index(key: Any, length: int, where: str) -> int | list[int]:
    """The positions a split key selects: an int for an integer key, else a list in the
    caller's order (slice, integer list/array with duplicates, or a boolean mask of ``length``).

    Negative positions count from the end; anything out of range raises
    :class:`~imagesets.errors.OutOfRangeError` naming ``where`` and the valid range.
    """
    if isinstance(key, (bool, np.bool_)):
        raise TypeError(f"{where} cannot be indexed by a bool; use an integer or a boolean array")
    if isinstance(key, (int, np.integer)):
        index = int(key)
        if not -length <= index < length:
            raise OutOfRangeError(f"index {index} is out of range for {where}: valid indices "
                                  f"are {-length}..{length - 1} (length {length})")
        return index + length if index < 0 else index
    if isinstance(key, slice):
        return list(range(*key.indices(length)))
    indices = np.asarray(key)
    if indices.dtype == bool:
        if indices.shape != (length,):
            raise OutOfRangeError(f"boolean mask of shape {indices.shape} does not match {where} "
                                  f"(length {length}); pass one bool per record")
        return np.flatnonzero(indices).tolist()
    if indices.size == 0:
        return []
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{where} indices must be integers, a slice or a boolean mask, "
                        f"not {indices.dtype}")
    flat = indices.astype(np.int64, copy=False).ravel()
    bad = (flat < -length) | (flat >= length)
    if bad.any():
        raise OutOfRangeError(f"index {int(flat[bad][0])} is out of range for {where}: valid "
                              f"indices are {-length}..{length - 1} (length {length})")
    return np.where(flat < 0, flat + length, flat).tolist()


class DatasetBase:
    """The parts of :class:`Dataset` that follow from ``.sets`` and ``close()``: iteration over
    set names, ``in``, ``len`` and ``with``. Dataset classes inherit them and add the rest."""

    sets: tuple[str, ...]

    def __iter__(self) -> Iterator[str]:
        return iter(self.sets)

    def __contains__(self, set_name: object) -> bool:
        return isinstance(set_name, str) and set_name in self.sets

    def __len__(self) -> int:
        return len(self.sets)

    def close(self) -> None:
        """Release open files (nothing to release by default)."""

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
