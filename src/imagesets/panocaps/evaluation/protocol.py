"""The PanoCaps grounded-captioning protocol, step by step, on plain per-image data.

Ground-truth entities come from ``label_matched`` (one per referenced mask, ascending mask
order, all phrases naming it). Predicted phrases are repeated by ``phrase_seg_counts`` (at most
:data:`MAX_EXPANDED`), cut to the shorter of masks/phrases, and near-duplicate masks
(IoU ≥ 0.9 with matching phrases) are merged. Entities are matched per image by Hungarian
assignment on −(IoU + sim)/2; a pair is a true positive when IoU ≥ 0.5 and sim ≥ 0.5.

Mask IoUs are computed once per image straight from the RLEs (pycocotools, no decoding);
they equal the official pixel-count IoUs bit for bit (both divide the same two integers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ... import masks as mask_ops
from .predictions import PredictionProblem, check_prediction, read_prediction
from .textsim import TextSimilarity, normalize

MAX_EXPANDED = 50
DEDUP_IOU = 0.9
LABEL_MATCH_SIM = 0.5
IOU_THRESHOLD = 0.5
SIM_THRESHOLD = 0.5
MAX_DETECTIONS = 100
RECALL_THRESHOLDS = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1)


def ground_truth_entities(label_matched: Sequence[Any], n_masks: int
                          ) -> tuple[list[int], list[list[str]], list[int]]:
    """``(mask indices, phrases per entity, dropped ids)`` from ``label_matched``.

    One entity per referenced mask index in ``0 ≤ id < n_masks``, ascending; a mask named by
    several phrases carries all of them (each text once, first-seen order).
    """
    texts: dict[int, list[str]] = {}
    for entry in label_matched or []:
        if not isinstance(entry, dict):
            continue
        text = entry.get("txt_desc")
        for mask_id in entry.get("mask_ids") or []:
            named = texts.setdefault(int(mask_id), [])
            if text not in named:
                named.append(text)
    order = sorted(texts)
    kept = [i for i in order if 0 <= i < n_masks]
    return kept, [texts[i] for i in kept], [i for i in order if not 0 <= i < n_masks]


def expand_phrases(phrases: Sequence[str], counts: Sequence[int] | None) -> list[str]:
    """One phrase per predicted mask: repeated by ``counts`` (capped at 50), or as given."""
    if counts is None:
        return list(phrases)
    repeated: list[str] = []
    for phrase, count in zip(phrases, counts, strict=True):
        if count == 0:
            continue
        remaining = MAX_EXPANDED - len(repeated)
        if remaining <= 0:
            break
        repeated.extend([phrase] * min(count, remaining))
    return repeated


@dataclass
class Measured:
    """Phase-one output for one image: aligned phrases and IoU matrices (or a problem)."""

    image_id: str
    caption: str | None = None
    phrases: list[str] = field(default_factory=list)
    n_masks: int = 0
    close: np.ndarray | None = None
    gt_iou: np.ndarray | None = None
    problem: str | None = None
    missing: bool = False
    gt_problem: str | None = None


def _mask_failure(rles: Sequence[dict], problems: Sequence[str | None], height: int,
                  width: int, image_id: str, where: str) -> str | None:
    for i, (rle, problem) in enumerate(zip(rles, problems, strict=True)):
        if not rle:
            return (f"{where}: pred_masks[{i}] is not a COCO RLE object "
                    "({'size': [h, w], 'counts': ...})")
        if problem:
            return f"{where}: pred_masks[{i}] is not a valid COCO RLE ({problem})"
        size = [int(v) for v in rle["size"]]
        if size != [height, width]:
            return (f"{where}: pred_masks[{i}] has size {size} but image {image_id} is "
                    f"[{height}, {width}] (height, width); masks must be at image resolution")
    return None


def measure_image(job: tuple) -> Measured:
    """Read, check and align one image's prediction; IoUs pred×pred (≥ 0.9) and GT×pred.

    ``job`` = (image_id, height, width, ground-truth entity RLEs, their mask indices, located
    prediction, where, ground-truth name). Ground-truth problems come back in ``gt_problem``.
    """
    image_id, height, width, gt_rles, gt_indices, located, where, gt_where = job
    prediction, failure = None, None
    if located is not None:
        try:
            prediction = check_prediction(read_prediction(located, image_id), where)
        except PredictionProblem as exc:
            failure = str(exc)
    rles = [r if isinstance(r, dict) else {} for r in prediction[3]] if prediction else []
    problems = mask_ops.rle_problems([*gt_rles, *rles])
    for index, rle, problem in zip(gt_indices, gt_rles, problems, strict=False):
        if not problem and [int(v) for v in rle["size"]] != [height, width]:
            problem = f"RLE size {list(rle['size'])} is not the image size [{height}, {width}]"
        if problem:
            return Measured(image_id, gt_problem=f"{gt_where} image {image_id}, mask {index}: "
                                                 f"{problem}")
    if located is None:
        return Measured(image_id, missing=True, problem=f"no prediction for image {image_id} "
                                                        f"(looked for {where})")
    failure = failure or _mask_failure(rles, problems[len(gt_rles):], height, width, image_id,
                                       where)
    if failure:
        return Measured(image_id, problem=failure)
    caption, phrases, counts, _ = prediction
    labels = expand_phrases(phrases, counts)
    n = min(len(labels), len(rles))
    labels, rles = labels[:n], rles[:n]
    ious = mask_ops.iou_matrix(rles, [*rles, *gt_rles])
    close = ious[:, :n] >= DEDUP_IOU
    gt_iou = np.ascontiguousarray(ious[:, n:].T) if n else np.zeros((len(gt_rles), 0))
    return Measured(image_id, caption, labels, n, close, gt_iou)


def _labels_match(new: list[str], kept: list[str], sim: TextSimilarity) -> bool:
    a = [x.strip().lower() for x in new]
    b = [x.strip().lower() for x in kept]
    if set(a) & set(b):
        return True
    return any(sim.score(normalize(x), normalize(y)) >= LABEL_MATCH_SIM for x in a for y in b)


def dedup_pairs(labels: Sequence[str], close: np.ndarray) -> set[tuple[str, str]]:
    """Every normalised phrase pair deduplication may compare (pairs inside close groups)."""
    pairs: set[tuple[str, str]] = set()
    rows, cols = np.nonzero(np.triu(close, 1))
    if not len(rows):
        return pairs
    parent = list(range(len(labels)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(rows, cols, strict=True):
        parent[root(int(i))] = root(int(j))
    groups: dict[int, list[int]] = {}
    for i in range(len(labels)):
        groups.setdefault(root(i), []).append(i)
    for members in groups.values():
        names = {normalize(labels[i]) for i in members}
        pairs.update((x, y) for x in names for y in names if x < y)
    return pairs


def deduplicate(labels: Sequence[str], close: np.ndarray, sim: TextSimilarity
                ) -> tuple[list[int], list[list[str]]]:
    """Merge masks with IoU ≥ 0.9 and matching phrases into the first one (official order)."""
    kept: list[int] = []
    kept_labels: list[list[str]] = []
    for j, label in enumerate(labels):
        for position, k in enumerate(kept):
            if close[j, k] and _labels_match([label], kept_labels[position], sim):
                if label not in kept_labels[position]:
                    kept_labels[position].append(label)
                break
        else:
            kept.append(j)
            kept_labels.append([label])
    return kept, kept_labels


def _mentions(labels: Sequence[str]) -> list[str]:
    return [normalize(x) for x in labels if x and x.strip()]


def entity_pairs(gt_labels: Sequence[Sequence[str]], pred_labels: Sequence[Sequence[str]]
                 ) -> set[tuple[str, str]]:
    """The phrase pairs :func:`entity_similarity` will score (identical sets need none)."""
    pairs = set()
    gt_sets = [_mentions(g) for g in gt_labels]
    pred_sets = [_mentions(p) for p in pred_labels]
    for a in gt_sets:
        for b in pred_sets:
            if a and b and not set(a) & set(b):
                pairs.update((normalize(x), normalize(y)) for x in a for y in b)
    return pairs


def entity_similarity(gt_labels: Sequence[Sequence[str]],
                      pred_labels: Sequence[Sequence[str]], sim: TextSimilarity) -> np.ndarray:
    """GT × prediction entity similarity: the best score over their phrase pairs."""
    out = np.zeros((len(gt_labels), len(pred_labels)), dtype=float)
    pred_sets = [_mentions(p) for p in pred_labels]
    for i, gt in enumerate(gt_labels):
        a = _mentions(gt)
        for j, b in enumerate(pred_sets):
            if not a or not b:
                continue
            if set(a) & set(b):
                out[i, j] = 1.0
            else:
                out[i, j] = max(sim.score(normalize(x), normalize(y)) for x in a for y in b)
    return out


def match_entities(ious: np.ndarray, sims: np.ndarray
                   ) -> list[tuple[int, int, float, float, bool]]:
    """Hungarian assignment on −(IoU + sim)/2: ``(gt, pred, iou, sim, true positive)``."""
    if not ious.size:
        return []
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(-(ious + sims) / 2)
    return [(int(g), int(d), float(ious[g, d]), float(sims[g, d]),
             bool(ious[g, d] >= IOU_THRESHOLD and sims[g, d] >= SIM_THRESHOLD))
            for g, d in zip(rows, cols, strict=True)]


def image_miou(ious: np.ndarray) -> float:
    """Best one-to-one IoU sum over max(#pred, #GT); 0 when either side is empty."""
    if not ious.size:
        return 0.0
    from scipy.optimize import linear_sum_assignment

    pred_by_gt = ious.T
    rows, cols = linear_sum_assignment(-pred_by_gt)
    paired = [pred_by_gt[i, j] for i, j in zip(rows, cols, strict=True)]
    return float(np.sum(paired) / max(pred_by_gt.shape))


def greedy_detections(ious: np.ndarray, gt_ids: Sequence[int]) -> np.ndarray:
    """COCOeval's per-image matching at IoU 0.5 (scores all equal): True = true positive.

    Detections in order take the free ground truth of highest IoU (ties: the later one). A
    detection matched to ground truth with id 0 counts as unmatched, as in pycocotools.
    """
    n_gt, n_det = ious.shape
    n_det = min(n_det, MAX_DETECTIONS)
    taken = [False] * n_gt
    out = np.zeros(n_det, dtype=bool)
    for d in range(n_det):
        best, m = min(IOU_THRESHOLD, 1 - 1e-10), -1
        for g in range(n_gt):
            if taken[g] or ious[g, d] < best:
                continue
            best, m = ious[g, d], g
        if m >= 0:
            taken[m] = True
            out[d] = gt_ids[m] != 0
    return out


def average_precision(per_image: Sequence[tuple[np.ndarray, int]]) -> float:
    """COCO AP at IoU 0.5 (101-point) from per-image (detection TP flags, #GT), COCO order.

    −1 when there is no ground truth, as pycocotools reports an undefined AP.
    """
    used = [(flags, n_gt) for flags, n_gt in per_image if len(flags) or n_gt]
    n_gt = sum(g for _, g in used)
    if not used or n_gt == 0:
        return -1.0
    flags = np.concatenate([f for f, _ in used]) if used else np.zeros(0, dtype=bool)
    tp = np.cumsum(flags).astype(dtype=float)
    fp = np.cumsum(np.logical_not(flags)).astype(dtype=float)
    recall = tp / n_gt
    precision = (tp / (fp + tp + np.spacing(1))).tolist()
    q = np.zeros((len(RECALL_THRESHOLDS),)).tolist()
    for i in range(len(tp) - 1, 0, -1):
        if precision[i] > precision[i - 1]:
            precision[i - 1] = precision[i]
    indices = np.searchsorted(recall, RECALL_THRESHOLDS, side="left")
    try:
        for ri, pi in enumerate(indices):
            q[ri] = precision[pi]
    except IndexError:
        pass
    return float(np.mean(np.array(q)))
