"""The brain-masked single-trial betas store: each session's 4-D gzip NIfTI converted once into
an HDF5 ``(n_trials, n_voxels)`` float32 array, chunked so one trial and one ROI are both cheap.

Conversion streams the NIfTI volume by volume (:func:`.nifti.stream_volumes`), writes under a
temp name and renames (a killed run leaves no valid-looking file; finished sessions are kept),
runs sessions in parallel through :func:`imagesets.engine.run_items`, and records the source and
mask files' size and mtime so a changed file triggers a rebuild.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
from filelock import FileLock

from ..catalog import data_home
from ..engine import run_items
from ..errors import ImagesetsError, InvalidDataError
from ..fsutil import atomic_path
from . import nifti
from .brain_layout import MASK_SOURCES, anatomical_mask_key, betas_key, r2mean_key
from .config import NAME
from .exceptions import DataNotDownloadedError
from .layout import trials_key

STORE_VERSION = 1
CHUNK_TRIALS = 32
CHUNK_VOXELS = 2048
DOWNLOAD_CALL = ("download('{subject}', ses={ses}) (from imagesets.laion_fmri.download "
                 "import download)")


def required(path: Path, subject: str, session: str = "averages") -> Path:
    """``path`` if it exists, else :class:`DataNotDownloadedError` naming it and the fix."""
    if not path.is_file():
        ses = repr(session if session == "averages" else [session])
        raise DataNotDownloadedError(f"{path} not found: not downloaded yet. Get it with "
                                     f"{DOWNLOAD_CALL.format(subject=subject, ses=ses)}")
    return path


def mask_file(data_dir: Path, subject: str, source: str = "anatomical", res: str = "1pt8"
              ) -> Path:
    """The file a brain mask comes from: the anatomical mask, or R2mean (``rsquare``)."""
    if source not in MASK_SOURCES:
        raise InvalidDataError(f"mask_source must be one of {', '.join(MASK_SOURCES)}, got "
                               f"{source!r}")
    key = anatomical_mask_key(subject, res) if source == "anatomical" else r2mean_key(subject)
    return required(data_dir / key, subject)


def read_brain_mask(data_dir: Path, subject: str, source: str = "anatomical",
                    res: str = "1pt8") -> tuple[np.ndarray, tuple[int, ...], np.ndarray]:
    """The brain mask as a flat C-order bool vector, the volume shape and the affine.

    ``anatomical``: the anatomical brain mask; ``rsquare``: R2mean ≠ 0 and not NaN.
    """
    path = mask_file(data_dir, subject, source, res)
    values, affine = nifti.load_map(path)
    inside = (values != 0) & ~np.isnan(values) if source == "rsquare" else values != 0
    return inside.ravel(), values.shape, affine


def stamp(path: Path) -> list[int]:
    """What invalidates a store: the file's size and modification time (ns)."""
    info = path.stat()
    return [int(info.st_size), int(info.st_mtime_ns)]


def count_trials(data_dir: Path, subject: str, session: str) -> int:
    path = required(data_dir / trials_key(subject, session), subject, session)
    return len(pd.read_csv(path, sep="\t", usecols=[0]))


def store_path(root: Path, data_dir: Path, subject: str, session: str, mask_source: str) -> Path:
    """Where one session's store lives (one folder per data directory)."""
    key = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:12]
    return root / key / subject / f"{session}_mask-{mask_source}.h5"


def default_root() -> Path:
    return data_home() / NAME / "betas"


@dataclass(frozen=True)
class SessionJob:
    """One session to convert (plain values: it travels to worker processes)."""

    data_dir: str
    subject: str
    session: str
    mask_source: str
    output: str

    @property
    def source(self) -> Path:
        return Path(self.data_dir) / betas_key(self.subject, self.session)

    @property
    def mask(self) -> Path:
        return mask_file(Path(self.data_dir), self.subject, self.mask_source)


def is_current(job: SessionJob) -> bool:
    """The store exists and was made from the present source and mask files.

    A store whose source file was deleted afterwards stays usable (the betas are all in it).
    """
    output = Path(job.output)
    if not output.is_file():
        return False
    try:
        with h5py.File(output, "r") as f:
            attrs = dict(f.attrs)
    except OSError:
        return False
    if attrs.get("version") != STORE_VERSION:
        return False
    if not job.source.is_file():
        return True
    return (list(attrs["source_stamp"]) == stamp(job.source)
            and list(attrs["mask_stamp"]) == stamp(job.mask))


def convert_session(job: SessionJob, force: bool = False) -> dict[str, Any]:
    """Convert one session's betas NIfTI into its store (atomically, under a lock so that
    processes asking at once convert it once); return a summary."""
    output = Path(job.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(output) + ".lock"):
        if not force and is_current(job):
            return {"session": job.session, "path": str(output), "seconds": 0.0}
        return _convert(job)


def _convert(job: SessionJob) -> dict[str, Any]:
    started = time.perf_counter()
    data_dir = Path(job.data_dir)
    source = required(job.source, job.subject, job.session)
    n_rows = count_trials(data_dir, job.subject, job.session)
    shape = nifti.header_of(source).get_data_shape()
    if len(shape) == 4 and shape[3] != n_rows:
        raise InvalidDataError(
            f"{source} has {shape[3]} volumes but its trials table "
            f"{data_dir / trials_key(job.subject, job.session)} has {n_rows} rows; volume k must "
            f"be row k: download both files again")
    inside, mask_shape, affine = read_brain_mask(data_dir, job.subject, job.mask_source)
    if tuple(shape[:3]) != tuple(mask_shape):
        raise InvalidDataError(f"{source} has volumes of {tuple(shape[:3])} but the "
                               f"{job.mask_source} brain mask {job.mask} is {mask_shape}")
    offsets = nifti.fortran_offsets(inside, mask_shape)
    n_voxels = len(offsets)
    output = Path(job.output)
    with atomic_path(output) as tmp, h5py.File(tmp, "w") as f:
        betas = f.create_dataset(
            "betas", (n_rows, n_voxels), np.float32,
            chunks=(max(1, min(CHUNK_TRIALS, n_rows)), max(1, min(CHUNK_VOXELS, n_voxels))))
        for first, rows in nifti.stream_volumes(source, offsets, block=CHUNK_TRIALS):
            betas[first:first + len(rows)] = rows
        f.attrs.update({"version": STORE_VERSION, "subject": job.subject,
                        "session": job.session, "mask_source": job.mask_source,
                        "source_stamp": stamp(source), "mask_stamp": stamp(job.mask),
                        "volume_shape": list(mask_shape), "affine": affine})
    return {"session": job.session, "n_trials": n_rows, "n_voxels": n_voxels,
            "seconds": time.perf_counter() - started, "path": str(output)}


def prepare_sessions(data_dir: Path, subject: str, sessions: Sequence[str], *,
                     mask_source: str = "anatomical", root: Path | None = None,
                     force: bool = False, engine: str = "local", workers: int | None = None,
                     address: str | None = None, verbose: bool = True) -> dict[str, Path]:
    """Make sure each session's store is current (converting the others, in parallel);
    return session → store path. Finished sessions are kept even if another one fails."""
    root = root or default_root()
    jobs = [SessionJob(str(data_dir), subject, s, mask_source,
                       str(store_path(root, data_dir, subject, s, mask_source)))
            for s in sessions]
    todo = [job for job in jobs if force or not is_current(job)]
    if len(todo) == 1 or (todo and workers == 1 and engine == "local"):
        for job in todo:
            convert_session(job, force)
    elif todo:
        run = run_items(partial(convert_session, force=force), todo, engine=engine,
                        workers=min(workers or len(todo), len(todo)) if engine == "local"
                        else workers, address=address, desc=f"{subject} betas",
                        unit="session", verbose=verbose)
        if run.failures:
            lines = "; ".join(f"{f.item.session}: {f.error}" for f in run.failures)
            raise ImagesetsError(f"{len(run.failures)} of {len(todo)} {subject} sessions failed "
                                 f"(the others are kept; rerun to resume): {lines}")
    return {job.session: Path(job.output) for job in jobs}


def _spans(blocks: np.ndarray) -> list[tuple[int, int]]:
    """Runs of consecutive block numbers as ``(first, last + 1)``."""
    breaks = np.flatnonzero(np.diff(blocks) != 1) + 1
    return [(int(run[0]), int(run[-1]) + 1) for run in np.split(blocks, breaks)]


class SessionStore:
    """Reads one session's store; the HDF5 file is opened per process (fork-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file: h5py.File | None = None
        self._pid = -1

    @property
    def dataset(self) -> h5py.Dataset:
        if self._file is None or self._pid != os.getpid():
            self._file = h5py.File(self.path, "r", rdcc_nbytes=0)
            self._pid = os.getpid()
        return self._file["betas"]

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.dataset.shape)

    def close(self) -> None:
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file = None

    def _rows(self, rows: np.ndarray | None, columns: slice) -> np.ndarray:
        data = self.dataset
        if rows is None:
            return data[:, columns]
        unique, inverse = np.unique(rows, return_inverse=True)
        if len(unique) > data.shape[0] // 4:
            return data[:, columns][rows]
        if len(unique) == 1:
            return data[int(unique[0]):int(unique[0]) + 1, columns][inverse]
        return data[unique.tolist(), columns][inverse]

    def read(self, rows: np.ndarray | None = None, columns: np.ndarray | None = None
             ) -> np.ndarray:
        """``betas[rows][:, columns]`` (any order, duplicates allowed), reading only the
        chunks that hold the requested voxels."""
        if rows is not None:
            rows = np.asarray(rows, np.intp)
        if columns is None:
            return self._rows(rows, slice(None))
        columns = np.asarray(columns, np.intp)
        n_rows = self.shape[0] if rows is None else len(rows)
        if len(columns) == 0:
            return np.empty((n_rows, 0), np.float32)
        order = np.argsort(columns, kind="stable")
        ordered = columns[order]
        width = self.dataset.chunks[1]
        parts = []
        for first, stop in _spans(np.unique(ordered // width)):
            low, high = first * width, stop * width
            inside = ordered[(ordered >= low) & (ordered < high)]
            parts.append(self._rows(rows, slice(low, high))[:, inside - low])
        out = np.empty((n_rows, len(columns)), np.float32)
        out[:, order] = np.concatenate(parts, axis=1)
        return out
