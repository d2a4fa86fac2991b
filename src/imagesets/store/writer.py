"""Write a metadata file: one HDF5 group per set, one dataset per field, atomically."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import h5py
import numpy as np

from ..fsutil import atomic_path

ATTRIBUTE = "imagesets"


def write_metadata(
    path: str | os.PathLike,
    sets: Mapping[str, Mapping[str, np.ndarray]],
    attributes: Mapping[str, Any] | None = None,
) -> None:
    """Write ``{set: {field: array}}`` to ``path`` through a temp file renamed on success.

    Fields are stored contiguously and uncompressed: metadata is small next to the images it
    describes, and contiguous storage makes a single-row read one seek instead of a chunk
    decompression (see benchmarks/README.md). ``attributes`` (JSON-serialisable) are kept on
    the root group under ``imagesets`` so a file records how it was built.
    """
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w", libver="latest") as h5:
            for set_name, fields in sets.items():
                group = h5.create_group(set_name)
                for field, array in fields.items():
                    group.create_dataset(field, data=np.asarray(array))
            h5.attrs[ATTRIBUTE] = json.dumps(dict(attributes or {}), sort_keys=True)


def stored_format_version(path: str | os.PathLike) -> int | None:
    """The ``format_version`` an HDF5 metadata file records (None if not HDF5 or none)."""
    try:
        if not h5py.is_hdf5(path):
            return None
        with h5py.File(path, "r") as h5:
            raw = h5.attrs.get(ATTRIBUTE)
        version = json.loads(raw).get("format_version") if raw is not None else None
    except (OSError, ValueError, AttributeError):
        return None
    return version if isinstance(version, int) else None
