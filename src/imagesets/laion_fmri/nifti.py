"""NIfTI reading for the brain side: 3-D maps and masks through nibabel, and a 4-D gzip file
streamed volume by volume (never the whole 4-D array in memory).

Flat voxel vectors are in C order over the ``(x, y, z)`` array nibabel returns, as the original
``laion_fmri`` package flattens them; the file stores x fastest (Fortran order), so the stream
reader gathers the selected voxels through precomputed Fortran-order offsets.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidDataError, require

FEATURE = "LAION-fMRI brain data (NIfTI files)"


def nibabel() -> Any:
    """The nibabel module, or a clear error naming the ``fmri`` extra."""
    return require("nibabel", "fmri", FEATURE)


def load_map(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """A 3-D NIfTI's values as float32 ``(x, y, z)`` (scaling applied) and its 4×4 affine."""
    image = nibabel().load(str(path))
    if len(image.shape) != 3:
        raise InvalidDataError(f"{path} holds a {len(image.shape)}-D image {image.shape}; a 3-D "
                               f"map or mask was expected")
    return np.asarray(image.get_fdata(dtype=np.float32)), np.asarray(image.affine)


def load_flat_mask(path: str | os.PathLike) -> tuple[np.ndarray, tuple[int, ...]]:
    """A 3-D mask file as a flat bool vector (C order, nonzero = in) and its volume shape."""
    image = nibabel().load(str(path))
    data = np.asarray(image.dataobj)
    return data.ravel() != 0, tuple(int(n) for n in image.shape)


def header_of(path: str | os.PathLike) -> Any:
    """The NIfTI header of ``path`` (reads only the header, even for gzip)."""
    return nibabel().load(str(path)).header


def fortran_offsets(flat_c_mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """For the voxels of a C-order flat mask, their offsets in the file's x-fastest layout."""
    ijk = np.unravel_index(np.flatnonzero(flat_c_mask), shape, order="C")
    return np.ravel_multi_index(ijk, shape, order="F")


def _open(path: Path):
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


def _read_exactly(stream: Any, buffer: bytearray, path: Path, volume: int) -> None:
    view = memoryview(buffer)
    filled = 0
    while filled < len(buffer):
        count = stream.readinto(view[filled:])
        if not count:
            raise InvalidDataError(f"{path} ends inside volume {volume} (truncated download? "
                                   f"delete it and download it again)")
        filled += count


def stream_volumes(path: str | os.PathLike, offsets: np.ndarray, block: int = 16
                   ) -> Iterator[tuple[int, np.ndarray]]:
    """Read a 4-D NIfTI (gzip or not) sequentially; yield ``(first_volume, rows)`` blocks of
    up to ``block`` volumes, each row the float32 values at ``offsets`` (scaling applied).

    Peak memory: one raw volume plus one block of selected values.
    """
    path = Path(path)
    with _open(path) as stream:
        header = nibabel().Nifti1Header.from_fileobj(stream)
        shape = header.get_data_shape()
        if len(shape) != 4:
            raise InvalidDataError(f"{path} holds a {len(shape)}-D image {shape}; single-trial "
                                   f"betas are 4-D (x, y, z, trial)")
        dtype = header.get_data_dtype()
        slope, inter = header.get_slope_inter()
        n_volumes = int(shape[3])
        raw = bytearray(int(np.prod(shape[:3])) * dtype.itemsize)
        values = np.frombuffer(raw, dtype=dtype)
        stream.read(max(0, int(header.get_data_offset()) - stream.tell()))
        for first in range(0, n_volumes, block):
            count = min(block, n_volumes - first)
            rows = np.empty((count, len(offsets)), np.float32)
            for k in range(count):
                _read_exactly(stream, raw, path, first + k)
                rows[k] = values[offsets]
            if slope is not None and (slope != 1 or (inter or 0) != 0):
                rows *= np.float32(slope)
                rows += np.float32(inter or 0)
            yield first, rows
