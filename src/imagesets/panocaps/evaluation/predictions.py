"""Prediction files: a folder of ``<image_id>.json`` (the official layout) or one JSON/JSONL file.

A prediction holds ``caption`` (plain text), ``phrases`` (list of str), optional
``phrase_seg_counts`` (masks per phrase) and ``pred_masks`` (compressed COCO RLE, in phrase
order). :func:`check_prediction` says what is wrong with a record, in words a user can act on.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InvalidDataError, NotFoundError
from ...fsutil import atomic_write_text
from ..formats import json_error


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
            raise InvalidDataError(f"{path} is not valid JSON ({json_error(exc)})") from exc
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
            raise InvalidDataError(f"{path}: line {number} is not valid JSON "
                                   f"({json_error(exc, line=False)}); a JSONL file holds one "
                                   "prediction object per line") from exc
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
        raise PredictionProblem(f"{located} is not valid JSON ({json_error(exc)}); rewrite "
                                f"the prediction for image {image_id}") from exc
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


def _to_rles(masks: Any, where: str) -> list[dict[str, Any]]:
    """Compressed COCO RLEs (counts as str) from binary masks (``N × H × W`` or a list of
    ``H × W``) or RLE dicts (checked)."""
    from ... import masks as mask_ops

    if isinstance(masks, np.ndarray) and masks.ndim == 3:
        masks = list(masks)
    out = []
    for i, mask in enumerate(masks):
        if isinstance(mask, dict):
            mask_ops.validate_rle(mask, f"{where}: masks[{i}]")
            rle = mask_ops.to_pycocotools(mask)
            out.append({"size": rle["size"], "counts": rle["counts"].decode("ascii")})
            continue
        array = np.asarray(mask)
        if array.ndim != 2:
            raise InvalidDataError(f"{where}: masks[{i}] has shape {array.shape}; expected a "
                                   "binary H × W mask or a COCO RLE dict")
        out.append(mask_ops.encode(array != 0))
    return out


def write_prediction(folder: str | os.PathLike, image_id: str, caption: str,
                     phrases: Sequence[str], masks: Any,
                     phrase_seg_counts: Sequence[int] | None = None) -> Path:
    """Write ``folder/<image_id>.json`` in the official prediction layout (atomically).

    ``masks``: binary masks (an ``N × H × W`` array or a list of ``H × W``) or COCO RLE dicts,
    in phrase order; stored as compressed RLE. Without ``phrase_seg_counts`` each phrase has
    one mask (the older variant); with it, phrase ``i`` owns the next ``counts[i]`` masks.
    """
    if not isinstance(image_id, str):
        raise InvalidDataError(f"image_id must be a string (PanoCaps ids keep leading zeros), "
                               f"not the {type(image_id).__name__} {image_id!r}")
    where = f"prediction for image {image_id}"
    phrases = [str(p) for p in phrases]
    rles = _to_rles(masks, where)
    record: dict[str, Any] = {"image_id": image_id, "caption": str(caption),
                              "phrases": phrases}
    if phrase_seg_counts is None:
        if len(rles) != len(phrases):
            raise InvalidDataError(f"{where}: {len(phrases)} phrases but {len(rles)} masks; "
                                   "give one mask per phrase or pass phrase_seg_counts")
    else:
        counts = [int(c) for c in phrase_seg_counts]
        if len(counts) != len(phrases) or any(c < 0 for c in counts) or sum(counts) != len(rles):
            raise InvalidDataError(
                f"{where}: phrase_seg_counts {counts} must hold one count ≥ 0 per phrase "
                f"({len(phrases)}) summing to the number of masks ({len(rles)})")
        record["phrase_seg_counts"] = counts
    record["pred_masks"] = rles
    path = Path(folder) / f"{image_id}.json"
    atomic_write_text(path, json.dumps(record, ensure_ascii=False) + "\n")
    return path


_MARKUP = re.compile(r"<p>|</p>|\[SEG\]")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([,.;:!?])")


def prediction_from_text(text: str, masks: Any, instance_counts: Sequence[int] | None = None
                         ) -> dict[str, Any]:
    """A prediction record from model output ``… <p> phrase </p> [SEG] …`` and its masks.

    Newlines become spaces; a phrase counts only when a ``[SEG]`` follows it before the next
    ``<p>`` (every such ``[SEG]`` is one of its segments). Masks pair with the ``[SEG]`` tokens in
    order: one each, or ``instance_counts[k]`` for the k-th ``[SEG]``; masks of ``[SEG]``s that
    follow no phrase, and surplus masks, are dropped. ``caption`` is the text without ``<p>``,
    ``</p>`` and ``[SEG]`` (spaces collapsed, none before punctuation). Returns ``caption``,
    ``phrases``, ``phrase_seg_counts`` and ``pred_masks`` (compressed RLE), ready for
    :func:`write_prediction`.
    """
    text = text.replace("\r\n", " ").replace("\n", " ")
    rles = _to_rles(masks, "prediction_from_text")
    owners: list[int | None] = []          # per [SEG]: the index of its phrase, or None
    phrases: list[str] = []
    open_at: int | None = None
    current: int | None = None             # the phrase a following [SEG] belongs to
    for match in _MARKUP.finditer(text):
        token = match.group(0)
        if token == "<p>":
            open_at, current = match.end(), None
        elif token == "</p>" and open_at is not None:
            phrases.append(" ".join(text[open_at:match.start()].split()))
            open_at, current = None, len(phrases) - 1
        elif token == "[SEG]":
            owners.append(current if open_at is None else None)
    counts = [0] * len(phrases)
    kept_masks: list[dict[str, Any]] = []
    position = 0
    for k, owner in enumerate(owners):
        want = 1 if instance_counts is None else (
            int(instance_counts[k]) if k < len(instance_counts) else 0)
        taken = rles[position:position + max(0, want)]
        position += len(taken)
        if owner is not None:
            counts[owner] += len(taken)
            kept_masks.extend(taken)
    keep = [i for i, c in enumerate(counts) if c > 0]
    caption = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", " ".join(_MARKUP.sub(" ", text).split()))
    return {"caption": caption,
            "phrases": [phrases[i] for i in keep],
            "phrase_seg_counts": [counts[i] for i in keep], "pred_masks": kept_masks}
