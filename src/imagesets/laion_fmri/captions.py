"""Human and AI captions of the stimuli, read as text ("NA" and "n/a" are captions).

The long-form CSV is parsed once with Arrow and ordered per image by ``caption_idx`` with one
sort, so every lookup is a dictionary hit plus a slice of a few rows.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ..errors import InvalidDataError
from .config import resolve_data_dir
from .layout import CAPTIONS_CSV, required_file
from .tables import group_rows

COLUMNS = ("image_name", "caption_idx", "source", "caption", "origin_collection",
           "participant_id", "ai_model")
SOURCES = ("human", "ai")


def read_captions(path: os.PathLike) -> pd.DataFrame:
    """The captions CSV with every text column as text; empty ids/models become missing."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        header = pacsv.open_csv(path).schema.names
    except pa.ArrowInvalid as exc:
        raise InvalidDataError(f"{path} cannot be read as CSV ({exc})") from exc
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InvalidDataError(f"{path} lacks the column(s) {', '.join(missing)}; expected "
                               f"{', '.join(COLUMNS)}. Download it again")
    types = {c: pa.string() for c in header}
    types["caption_idx"] = pa.int64()
    try:
        table = pacsv.read_csv(path, parse_options=pacsv.ParseOptions(newlines_in_values=True),
                               convert_options=pacsv.ConvertOptions(
                                   column_types=types, strings_can_be_null=False))
    except pa.ArrowInvalid as exc:
        raise InvalidDataError(f"{path} cannot be read as captions ({exc})") from exc
    frame = table.to_pandas()
    for column in ("participant_id", "ai_model"):
        frame[column] = frame[column].where(frame[column] != "", None)
    return frame


class Captions:
    """Captions per image: ``human()`` in rank order, ``ai()``, ``list()``, ``get()``."""

    def __init__(self, data_dir: str | os.PathLike | None = None) -> None:
        self.data_dir = resolve_data_dir(data_dir)
        self._csv = required_file(self.data_dir / CAPTIONS_CSV, "captions", "captions")
        self._meta: pd.DataFrame | None = None
        self._spans: dict[str, tuple[int, int]] = {}
        self._order = self._text = self._is_human = self._is_ai = np.zeros(0)

    @property
    def metadata(self) -> pd.DataFrame:
        """The captions table, one row per caption, in file order."""
        if self._meta is None:
            meta = read_captions(self._csv)
            self._spans, self._order = group_rows(meta["image_name"].to_numpy(object),
                                                  meta["caption_idx"].to_numpy())
            self._text = meta["caption"].to_numpy(object)[self._order]
            self._is_human = (meta["source"].to_numpy(object) == "human")[self._order]
            self._is_ai = (meta["source"].to_numpy(object) == "ai")[self._order]
            self._meta = meta
        return self._meta

    def __len__(self) -> int:
        return len(self.metadata)

    def images(self) -> list[str]:
        """Names of the images that have captions, in file order."""
        _ = self.metadata
        return list(self._spans)

    def __contains__(self, image_name: object) -> bool:
        _ = self.metadata
        return image_name in self._spans

    def _span(self, image_name: str) -> slice:
        _ = self.metadata
        return slice(*self._spans.get(image_name, (0, 0)))

    def get(self, image_name: str) -> pd.DataFrame:
        """All caption rows of one image, by ``caption_idx`` (AI first); empty if none."""
        rows = self._order[self._span(image_name)]
        return self.metadata.iloc[rows].reset_index(drop=True)

    def human(self, image_name: str, limit: int | None = None) -> list[str]:
        """Human captions in rank order (at most ``limit``); ``[]`` if none."""
        span = self._span(image_name)
        captions = self._text[span][self._is_human[span]].tolist()
        return captions if limit is None else captions[:limit]

    def ai(self, image_name: str) -> str | None:
        """The AI caption, or None (unique and OOD images have none)."""
        span = self._span(image_name)
        found = self._text[span][self._is_ai[span]]
        return str(found[0]) if len(found) else None

    def list(self, image_name: str, source: str | None = None) -> list[str]:
        """Captions of one image by ``caption_idx``, optionally of one ``source``."""
        span = self._span(image_name)
        if source is None:
            return self._text[span].tolist()
        if source not in SOURCES:
            raise InvalidDataError(f"source must be 'human', 'ai' or None, not {source!r}")
        keep = self._is_human[span] if source == "human" else self._is_ai[span]
        return self._text[span][keep].tolist()
