"""``evaluate(root, split, predictions)``: the official PanoCaps metrics, breakdowns and details.

Phase one (per image, optionally in worker processes): read and check the prediction, align
phrases with masks, compute the IoU matrices from the RLEs. Phase two (here): score the phrase
pairs in one batch, deduplicate, match, and aggregate. ``mode="official"`` reproduces the
published evaluation including its quirks; ``mode="corrected"`` fixes them (see the docs).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import InvalidDataError, NotFoundError
from ..formats import SplitData
from ..split import PanoCapsSplit
from ..split import load as load_split
from . import protocol
from .predictions import open_predictions
from .textsim import TextSimilarity, load_table

MODES = ("official", "corrected")
METRIC_NAMES = ("AP50", "Mean IoU (mIoU)", "Recall@0.5", "Precision@0.5", "F1@0.5", "gPQ@0.5")


@dataclass
class GroundTruthImage:
    """One image's ground truth, reduced to what the protocol uses."""

    image_id: str
    data_source: str | None
    height: int
    width: int
    caption: str | None
    has_caption: bool
    mask_indices: list[int]
    labels: list[list[str]]
    kinds: list[str | None]
    rles: list[dict[str, Any]]
    dropped_ids: list[int]
    plural: list[bool] = field(default_factory=list)
    has_label_matched: bool = True


@dataclass
class ImageScore:
    """Everything computed for one image (the rows of ``--details``)."""

    gt: GroundTruthImage
    evaluated: bool
    pred_caption: str | None = None
    pred_masks: int = 0
    kept: list[int] = field(default_factory=list)
    kept_labels: list[list[str]] = field(default_factory=list)
    matches: list[tuple[int, int, float, float, bool]] = field(default_factory=list)
    miou: float = 0.0
    ap_flags: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    problem: str | None = None

    @property
    def tp(self) -> int:
        return sum(m[4] for m in self.matches)

    @property
    def fp(self) -> int:
        return len(self.kept) - self.tp

    @property
    def fn(self) -> int:
        return len(self.gt.mask_indices) - self.tp

    def to_dict(self) -> dict[str, Any]:
        gt = self.gt
        return {
            "image_id": gt.image_id, "data_source": gt.data_source, "evaluated": self.evaluated,
            "problem": self.problem, "TP": self.tp if self.evaluated else 0,
            "FP": self.fp if self.evaluated else 0, "FN": self.fn if self.evaluated else 0,
            "mIoU": self.miou, "predicted_masks": self.pred_masks,
            "ground_truth": [{"entity": i, "mask_index": m, "phrases": p, "thing_or_stuff": k}
                             for i, (m, p, k) in enumerate(zip(gt.mask_indices, gt.labels,
                                                               gt.kinds, strict=True))],
            "dropped_mask_ids": gt.dropped_ids,
            "predictions": [{"entity": i, "mask_index": m, "phrases": p}
                            for i, (m, p) in enumerate(zip(self.kept, self.kept_labels,
                                                           strict=True))],
            "matches": [{"gt": g, "pred": d, "iou": iou, "sim": sim, "true_positive": ok}
                        for g, d, iou, sim, ok in self.matches],
            "caption": gt.caption, "predicted_caption": self.pred_caption,
        }


@dataclass(repr=False)
class EvaluationResult:
    """The metrics (official names in ``metrics``), counts, breakdowns (data source,
    thing/stuff, ``single``/``plural`` entities), problems and details."""

    metrics: dict[str, float]
    counts: dict[str, int]
    by_source: dict[str, dict[str, float]]
    by_kind: dict[str, dict[str, float]]
    problems: list[dict[str, str]]
    settings: dict[str, Any]
    images: list[ImageScore]
    captions: dict[str, float] | None = None
    by_plurality: dict[str, dict[str, float]] = field(default_factory=dict)

    def __repr__(self) -> str:
        metrics = ", ".join(f"{k}={v:.4f}" for k, v in self.metrics.items())
        counts = ", ".join(f"{k}={v}" for k, v in self.counts.items())
        return (f"<EvaluationResult {self.settings.get('split')} "
                f"({self.settings.get('mode')}):\n  {metrics}\n  {counts}\n"
                f"  {len(self.problems)} problem(s); per image: .details()>")

    def to_dict(self, details: bool = False) -> dict[str, Any]:
        out = {"metrics": self.metrics, "counts": self.counts, "by_source": self.by_source,
               "by_kind": self.by_kind, "by_plurality": self.by_plurality,
               "captions": self.captions, "problems": self.problems,
               "settings": self.settings}
        if details:
            out["images"] = [image.to_dict() for image in self.images]
        return out

    def details(self) -> list[dict[str, Any]]:
        """Per-image details: entities, kept predictions, matches with IoU and similarity."""
        return [image.to_dict() for image in self.images]


def ground_truth_from_split(data: SplitData | PanoCapsSplit) -> list[GroundTruthImage]:
    """Protocol ground truth of every caption-file image (first occurrence of each id)."""
    if isinstance(data, PanoCapsSplit):
        data = data.data
    captions = data.captions_by_image()
    masks = data.masks_by_image()
    out = []
    seen: set[str] = set()
    for image in data.images:
        image_id = image["id"]
        if image_id in seen:
            continue
        seen.add(image_id)
        caption = captions.get(image_id, [None])[0]
        annotations = masks.get(image_id, [])
        matched = caption.get("label_matched") if caption else []
        indices, labels, dropped = protocol.ground_truth_entities(matched, len(annotations))
        plural = {int(i) for entry in (matched or []) if isinstance(entry, dict)
                  and len(entry.get("mask_ids") or []) > 1 for i in entry["mask_ids"]}
        out.append(GroundTruthImage(
            image_id, image.get("data_source"), int(image["height"]), int(image["width"]),
            caption.get("caption") if caption else None, caption is not None, indices, labels,
            [annotations[i].get("thing_or_stuff") for i in indices],
            [annotations[i]["segmentation"] for i in indices], dropped,
            [i in plural for i in indices], caption is None or isinstance(matched, list)))
    return out


def _measure_all(jobs: list[tuple], workers: int, progress: bool) -> list[protocol.Measured]:
    from tqdm import tqdm

    bar = tqdm(total=len(jobs), desc="PanoCaps evaluation", unit="image", disable=not progress)
    try:
        if workers <= 1 or len(jobs) < 2:
            out = []
            for job in jobs:
                out.append(protocol.measure_image(job))
                bar.update()
            return out
        chunk = max(1, min(64, len(jobs) // (workers * 4)))
        with ProcessPoolExecutor(max_workers=workers) as pool:
            out = []
            for measured in pool.map(protocol.measure_image, jobs, chunksize=chunk):
                out.append(measured)
                bar.update()
            return out
    finally:
        bar.close()


def _similarity(text_sim: str | TextSimilarity, wordnet: bool | None,
                nltk_data: str | os.PathLike | None, sim_table: str | os.PathLike | None,
                sim_table_default: float) -> TextSimilarity:
    if isinstance(text_sim, TextSimilarity):
        return text_sim
    table = load_table(sim_table) if sim_table is not None else None
    return TextSimilarity(text_sim, wordnet=wordnet, nltk_data=nltk_data, table=table,
                          table_default=sim_table_default)


def _ratio(a: float, b: float) -> float:
    return a / float(b) if b > 0 else 0.0


def aggregate(scores: Sequence[ImageScore]) -> dict[str, float]:
    """The six official metrics over ``scores`` (caption-file order)."""
    tp = fp = fn = actual = 0
    pq_sum = 0.0
    for score in scores:
        if not score.evaluated:
            continue
        actual += len(score.gt.mask_indices)
        tp += score.tp
        fp += score.fp
        fn += score.fn
        pq_sum += sum(iou * sim for _, _, iou, sim, ok in score.matches if ok)
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, actual)
    f1 = 2.0 * precision * recall / float(precision + recall) if precision + recall > 0 else 0.0
    ap_order = sorted((s for s in scores if s.evaluated), key=lambda s: s.gt.image_id)
    mious = [s.miou for s in scores if s.gt.has_label_matched]
    return {
        "AP50": protocol.average_precision([(s.ap_flags, len(s.gt.mask_indices))
                                            for s in ap_order]),
        "Mean IoU (mIoU)": float(np.mean(mious)) if mious else 0.0,
        "Recall@0.5": recall,
        "Precision@0.5": precision,
        "F1@0.5": f1,
        "gPQ@0.5": _ratio(pq_sum, tp + 0.5 * (fp + fn)),
    }


def _counts(scores: Sequence[ImageScore]) -> dict[str, int]:
    evaluated = [s for s in scores if s.evaluated]
    return {"images": len(scores), "evaluated_images": len(evaluated),
            "gt_entities": sum(len(s.gt.mask_indices) for s in evaluated),
            "pred_entities": sum(len(s.kept) for s in evaluated),
            "TP": sum(s.tp for s in evaluated), "FP": sum(s.fp for s in evaluated),
            "FN": sum(s.fn for s in evaluated)}


def _by_entity_group(scores: Sequence[ImageScore], group: str) -> dict[str, dict[str, float]]:
    """Recall and matched IoU/sim of ground-truth entities grouped by ``group``: ``kind``
    (thing/stuff) or ``plurality`` (``single``: its phrase names one mask; ``plural``: more)."""
    table: dict[str, dict[str, Any]] = {}
    for score in scores:
        if not score.evaluated:
            continue
        hits = {g: (iou, sim) for g, _, iou, sim, ok in score.matches if ok}
        names = (score.gt.kinds if group == "kind"
                 else ["plural" if p else "single" for p in score.gt.plural])
        for entity, name in enumerate(names):
            row = table.setdefault(name or "unknown", {"gt_entities": 0, "TP": 0, "iou": 0.0,
                                                       "sim": 0.0})
            row["gt_entities"] += 1
            if entity in hits:
                row["TP"] += 1
                row["iou"] += hits[entity][0]
                row["sim"] += hits[entity][1]
    return {name: {"gt_entities": r["gt_entities"], "TP": r["TP"],
                   "FN": r["gt_entities"] - r["TP"],
                   "Recall@0.5": _ratio(r["TP"], r["gt_entities"]),
                   "mean matched IoU": _ratio(r["iou"], r["TP"]),
                   "mean matched sim": _ratio(r["sim"], r["TP"])}
            for name, r in sorted(table.items())}


def evaluate(root: str | os.PathLike | None = None, split: str = "test",
             predictions: str | os.PathLike | None = None, *,
             ground_truth: SplitData | PanoCapsSplit | None = None,
             text_sim: str | TextSimilarity = "sbert", mode: str = "official",
             wordnet: bool | None = None, nltk_data: str | os.PathLike | None = None,
             sim_table: str | os.PathLike | None = None, sim_table_default: float = 0.0,
             save_sim_table: str | os.PathLike | None = None, captions: bool = False,
             workers: int = 1, progress: bool = False) -> EvaluationResult:
    """Score PanoCaps predictions against split ``split`` of the dataset at ``root``.

    ``predictions``: a folder of ``<image_id>.json`` or one ``.json``/``.jsonl`` file.
    ``text_sim``: ``"exact"``, ``"wordnet"``, ``"sbert"`` (official: all-mpnet-base-v2) or a
    sentence-transformers model name/path, or a prepared :class:`TextSimilarity`; ``sim_table``
    replaces the embedding step. ``mode``: ``"official"`` or ``"corrected"``.
    """
    if mode not in MODES:
        raise InvalidDataError(f"mode must be one of {MODES}, not {mode!r}")
    if predictions is None:
        raise InvalidDataError("predictions (a folder or a .json/.jsonl file) is required")
    if ground_truth is None:
        if root is None:
            raise InvalidDataError("give root (a PanoCaps folder) or ground_truth")
        ground_truth = load_split(root, split)
    split_name = ground_truth.name if isinstance(ground_truth, PanoCapsSplit) else (
        ground_truth.split)
    gts = ground_truth_from_split(ground_truth)
    source = open_predictions(predictions, [g.image_id for g in gts])
    similarity = _similarity(text_sim, wordnet, nltk_data, sim_table, sim_table_default)
    similarity.check_model()
    jobs = [(g.image_id, g.height, g.width, g.rles, g.mask_indices, source.locate(g.image_id),
             source.where(g.image_id), f"PanoCaps {split_name}") for g in gts]
    measured = _measure_all(jobs, workers, progress)
    for m in measured:
        if m.gt_problem:
            raise InvalidDataError(f"{m.gt_problem}; run `imagesets validate panocaps` on the "
                                   "ground truth")

    problems: list[dict[str, str]] = []
    official = mode == "official"
    missing = [m for m in measured if m.missing]
    if official and missing:
        raise NotFoundError(
            f"{len(missing)} of {len(gts)} images have no prediction, e.g. {missing[0].problem}."
            " The official evaluation aborts here; write the missing files, or use --mode "
            "corrected to score them as empty predictions")
    for m in measured:
        if m.problem and not m.missing and official:
            raise InvalidDataError(f"{m.problem} (the official evaluation crashes on this "
                                   "image; fix the file, or use --mode corrected to score it "
                                   "as an empty prediction)")
        if m.problem:
            problems.append({"image_id": m.image_id,
                             "kind": "missing prediction" if m.missing else "bad prediction",
                             "message": m.problem + "; scored as an empty prediction"})
    for gt in gts:
        if not gt.has_label_matched:
            message = (f"PanoCaps {split_name} image {gt.image_id}: its caption annotation has "
                       "no label_matched list, so its ground-truth entities are unknown")
            if official:
                raise InvalidDataError(f"{message}; fix the annotation (run `imagesets validate "
                                       "panocaps`), or use --mode corrected to leave the image "
                                       "out of every metric")
            problems.append({"image_id": gt.image_id, "kind": "no label_matched",
                             "message": message + "; left out of every metric"})
        if not gt.has_caption:
            problems.append({"image_id": gt.image_id, "kind": "no ground-truth caption",
                             "message": (
                                 f"image {gt.image_id} has no caption annotation: "
                                 + ("skipped, as the official code does (mIoU counts 0)"
                                    if official else
                                    "no ground-truth entities; its predictions count as FP"))})
        if gt.dropped_ids:
            problems.append({"image_id": gt.image_id, "kind": "out-of-range mask id",
                             "message": f"label_matched names mask id(s) {gt.dropped_ids} but "
                                        f"the image has fewer masks; dropped from every metric"})

    scores: list[ImageScore] = []
    pairs: set[tuple[str, str]] = set()
    for gt, m in zip(gts, measured, strict=True):
        score = ImageScore(gt, evaluated=(gt.has_caption or not official)
                           and gt.has_label_matched,
                           pred_caption=m.caption, pred_masks=m.n_masks, problem=m.problem)
        if m.close is None:
            m.close = np.zeros((0, 0), dtype=bool)
            m.gt_iou = np.zeros((len(gt.rles), 0))
        if score.evaluated:
            pairs |= protocol.dedup_pairs(m.phrases, m.close)
        scores.append(score)
    similarity.prepare(sorted(pairs))
    pairs = set()
    for score, m in zip(scores, measured, strict=True):
        if score.evaluated:
            score.kept, score.kept_labels = protocol.deduplicate(m.phrases, m.close, similarity)
            pairs |= protocol.entity_pairs(score.gt.labels, score.kept_labels)
    if official and not any(s.kept for s in scores):
        raise InvalidDataError(
            "there is no predicted mask in the whole split (after aligning masks with phrases)"
            "; the official evaluation crashes here (pycocotools loadRes on an empty list). "
            "Use --mode corrected to score it (every metric 0)")
    similarity.prepare(sorted(pairs))

    next_gt_id = 0 if official else 1
    for score, m in zip(scores, measured, strict=True):
        if not score.evaluated:
            continue
        ious = m.gt_iou[:, score.kept]
        sims = protocol.entity_similarity(score.gt.labels, score.kept_labels, similarity)
        score.matches = protocol.match_entities(ious, sims)
        score.miou = protocol.image_miou(ious)
        n_gt = len(score.gt.mask_indices)
        score.ap_flags = protocol.greedy_detections(ious, range(next_gt_id, next_gt_id + n_gt))
        next_gt_id += n_gt

    if save_sim_table is not None:
        similarity.save_table(save_sim_table)
    sources = sorted({s.gt.data_source or "unknown" for s in scores})
    result = EvaluationResult(
        metrics=aggregate(scores), counts=_counts(scores),
        by_source={name: {**aggregate([s for s in scores
                                       if (s.gt.data_source or "unknown") == name]),
                          **_counts([s for s in scores
                                     if (s.gt.data_source or "unknown") == name])}
                   for name in sources},
        by_kind=_by_entity_group(scores, "kind"),
        by_plurality=_by_entity_group(scores, "plurality"), problems=problems,
        settings={"split": split_name, "mode": mode, "text_similarity": similarity.description,
                  "predictions": os.fspath(predictions),
                  "ignored_prediction_records": list(source.unknown_ids)},
        images=scores)
    if captions:
        from .captions import caption_metrics

        result.captions = caption_metrics(
            {s.gt.image_id: s.gt.caption for s in scores if s.evaluated and s.gt.caption},
            {s.gt.image_id: s.pred_caption or "" for s in scores if s.evaluated})
    return result

