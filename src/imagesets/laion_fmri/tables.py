"""Table helpers shared by the LAION-fMRI readers: text-safe CSV reading, per-key grouping, and
the set of stimulus names that tells a typo from a stimulus without derivatives."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from ..errors import InvalidDataError, NotFoundError
from .layout import METADATA_CSV, MODELS, STIMULUS_NAME, embeddings_key


def read_table(path: os.PathLike, columns: tuple[str, ...], text: tuple[str, ...],
               sep: str = ",") -> pd.DataFrame:
    """A CSV/TSV whose text columns stay text ("NA" is a word) and whose numbers may be empty.

    pandas' own string inference is several times faster than asking for ``dtype=str``, so text
    columns are re-read as text only when inference made numbers of them.
    """
    numeric_na = {c: ["", "NA", "NaN", "nan", "n/a"] for c in columns if c not in text}
    try:
        frame = pd.read_csv(path, sep=sep, keep_default_na=False, na_values=numeric_na)
    except (ValueError, pd.errors.ParserError) as exc:
        raise InvalidDataError(f"{path} cannot be read as a table ({exc})") from exc
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidDataError(f"{path} lacks the column(s) {', '.join(missing)}; expected "
                               f"{', '.join(columns)}. Download the file again")
    numeric = [c for c in text if not pd.api.types.is_string_dtype(frame[c])]
    if numeric:
        frame[numeric] = pd.read_csv(path, sep=sep, usecols=numeric, dtype=str,
                                     keep_default_na=False)
    return frame


def group_rows(keys: pd.Series) -> tuple[dict[str, tuple[int, int]], np.ndarray]:
    """Per key, a ``(start, stop)`` span into the returned row order (keys in first-seen order,
    rows of a key in file order)."""
    codes, uniques = pd.factorize(keys)
    order = np.argsort(codes, kind="stable")
    stops = np.cumsum(np.bincount(codes, minlength=len(uniques)))
    starts = stops - np.bincount(codes, minlength=len(uniques))
    spans = zip(starts.tolist(), stops.tolist(), strict=True)
    return dict(zip(uniques.tolist(), spans, strict=True)), order


@functools.lru_cache(maxsize=8)
def _names_in(path: str, mtime_ns: int) -> frozenset[str]:
    if path.endswith(".csv"):
        return frozenset(pd.read_csv(path, usecols=["image_name"], dtype=str,
                                     keep_default_na=False)["image_name"])
    with h5py.File(path, "r") as f:
        return frozenset(f["image_ids"].asstr()[()].tolist())


def stimulus_names(data_dir: Path) -> frozenset[str] | None:
    """Every stimulus name, from the metadata CSV or else an embeddings file (None if neither
    is present); cached per file version."""
    for key in (METADATA_CSV, *(embeddings_key(m) for m in MODELS)):
        path = data_dir / key
        if path.is_file():
            try:
                return _names_in(str(path), path.stat().st_mtime_ns)
            except (OSError, KeyError, ValueError):
                continue
    return None


def check_stimulus_name(data_dir: Path, name: object, where: str) -> None:
    """KeyError unless ``name`` is a stimulus (of the release when its names are present, else
    shaped like one): a typo must not pass as a stimulus without ``where``."""
    known = stimulus_names(data_dir)
    ok = isinstance(name, str) and (name in known if known is not None
                                    else STIMULUS_NAME.match(name) is not None)
    if not ok:
        raise NotFoundError(f"{name!r} is not a stimulus name (looking up {where}); names are "
                            f"stimulus file names like 'shared_12rep_LAION_cluster_1003_i0.jpg', "
                            f"with their .jpg/.png extension")
