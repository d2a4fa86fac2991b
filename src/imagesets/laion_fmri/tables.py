"""Table helpers shared by the LAION-fMRI readers: text-safe CSV reading and per-key grouping."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..errors import InvalidDataError


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
