"""Prediction files: a folder of ``<image_id>.json`` (the official layout) or one JSON/JSONL file.

A prediction holds ``caption`` (plain text), ``phrases`` (list of str), optional
``phrase_seg_counts`` (masks per phrase) and ``pred_masks`` (compressed COCO RLE, in phrase
order). :func:`check_prediction` says what is wrong with a record, in words a user can act on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import InvalidDataError, NotFoundError


class PredictionProblem(Exception):
    """One image's prediction cannot be used (the message names the image and the fix)."""


@dataclass(frozen=True)
class PredictionSource:
    """Where predictions are: a folder (read per image, in the workers) or parsed records."""

    path: Path
    records: dict[str, dict[str, Any]] | None = None
    unknown_ids: tuple[str, ...] = ()

    def locate(self, image_id: str) -> Path | dict[str, Any] | None:
        """What a worker needs for ``image_id``: a file path, a record, or None if absent."""
        if self.records is not None:
            return self.records.get(image_id)
        path = self.path / f"{image_id}.json"
        return path if path.is_file() else None

    def where(self, image_id: str) -> str:
        return (str(self.path / f"{image_id}.json") if self.records is None
                else f"{self.path} (record with image_id {image_id!r})")


def _parse_records(path: Path) -> list[Any]:
    text = path.read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("[") or (stripped.startswith("{") and path.suffix == ".json"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidDataError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno} "
                                   f"column {exc.colno})") from exc
        if isinstance(document, dict):
            document = document.get("predictions", document.get("annotations", [document]))
        return document if isinstance(document, list) else [document]
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InvalidDataError(f"{path}: line {number} is not valid JSON ({exc.msg} at "
                                   f"column {exc.colno}); a JSONL file holds one prediction "
                                   "object per line") from exc
    return records


def open_predictions(path: str | os.PathLike, image_ids: Iterable[str]) -> PredictionSource:
    """Find the predictions at ``path`` (folder, ``.json`` or ``.jsonl``) for ``image_ids``."""
    path = Path(path)
    if path.is_dir():
        return PredictionSource(path)
    if not path.is_file():
        raise NotFoundError(f"no predictions at {path}: expected a folder of <image_id>.json "
                            "files or one .json/.jsonl file of records with an image_id")
    records: dict[str, dict[str, Any]] = {}
    for i, record in enumerate(_parse_records(path)):
        if not isinstance(record, dict) or "image_id" not in record:
            raise InvalidDataError(f"{path}: record {i} has no image_id; each prediction "
                                   "record needs image_id, caption, phrases and pred_masks")
        image_id = record["image_id"]
        if not isinstance(image_id, str):
            raise InvalidDataError(
                f"{path}: record {i} has the {type(image_id).__name__} image_id {image_id!r}; "
                "PanoCaps image ids are strings (leading zeros matter): write it as a string")
        if image_id in records:
            raise InvalidDataError(f"{path}: two records for image {image_id!r} (records are "
                                   "one per image); remove the duplicate")
        records[image_id] = record
    known = set(image_ids)
    return PredictionSource(path, records, tuple(i for i in records if i not in known))


def read_prediction(located: Path | dict[str, Any], image_id: str) -> dict[str, Any]:
    """The prediction record itself (reading its file), or PredictionProblem."""
    if isinstance(located, dict):
        return located
    try:
        record = json.loads(located.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise PredictionProblem(f"{located} is not valid JSON ({exc.msg} at line {exc.lineno} "
                                f"column {exc.colno}); rewrite the prediction for image "
                                f"{image_id}") from exc
    except (UnicodeDecodeError, OSError) as exc:
        raise PredictionProblem(f"{located} cannot be read ({exc})") from exc
    if not isinstance(record, dict):
        raise PredictionProblem(f"{located}: expected a JSON object with caption, phrases and "
                                f"pred_masks, found a {type(record).__name__}")
    return record


def check_prediction(record: dict[str, Any], where: str) -> tuple[str, list[str],
                                                                  list[int] | None, list[Any]]:
    """``(caption, phrases, counts or None, masks)`` of a record, or PredictionProblem."""
    missing = [k for k in ("caption", "phrases", "pred_masks") if k not in record]
    if missing:
        raise PredictionProblem(f"{where}: missing key(s) {', '.join(missing)} (a prediction "
                                "has caption, phrases, optional phrase_seg_counts, pred_masks)")
    caption, phrases, masks = record["caption"], record["phrases"], record["pred_masks"]
    if not isinstance(caption, str):
        raise PredictionProblem(f"{where}: caption must be a string, not "
                                f"{type(caption).__name__}")
    if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
        raise PredictionProblem(f"{where}: phrases must be a list of strings")
    if not isinstance(masks, list):
        raise PredictionProblem(f"{where}: pred_masks must be a list of COCO RLE objects")
    counts = record.get("phrase_seg_counts")
    if counts is not None:
        if not isinstance(counts, list) or not all(
                isinstance(c, int) and not isinstance(c, bool) for c in counts):
            raise PredictionProblem(f"{where}: phrase_seg_counts must be a list of integers")
        if len(counts) != len(phrases):
            raise PredictionProblem(
                f"{where}: phrase_seg_counts has {len(counts)} entries but there are "
                f"{len(phrases)} phrases (one count per phrase)")
        negative = [c for c in counts if c < 0]
        if negative:
            raise PredictionProblem(f"{where}: phrase_seg_counts holds negative count(s) "
                                    f"{negative}")
    return caption, phrases, counts, masks
