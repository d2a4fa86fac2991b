"""Check a PanoCaps split and list every problem with its image id.

Errors (the split is wrong and tools will misread it): duplicate ids, captions without masks and
masks without captions, missing keys, RLE size ≠ image size, run lengths not summing to h × w,
``area``/``bbox`` not matching the mask, overlapping regions, tag count ≠ ``label_matched``
length, malformed ``label_matched`` entries, mask index out of range, tag numbers ≠
``label_matched`` mask ids, tag text ≠ ``txt_desc``, clean caption ≠ tagged caption with tags
stripped, malformed tags, unknown categories, images missing or of the wrong size in
``images_dir``.
Warnings: regions no phrase grounds, low coverage of the image by masks, odd ``thing_or_stuff``.
Mask checks work on the RLEs (pycocotools area/bbox/merge), so no mask is decoded to pixels.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import masks as mask_ops
from ..errors import NotFoundError
from ..tables import format_pairs, format_table
from .formats import SplitData
from .split import PanoCapsSplit, Sample, matched_entry

ERROR = "error"
WARNING = "warning"

CAPTION_ANNOTATION_KEYS = ("id", "image_id", "caption", "caption_ann", "label_matched", "labels")
MASK_ANNOTATION_KEYS = ("id", "image_id", "category_id", "segmentation", "area", "bbox",
                        "iscrowd", "thing_or_stuff")
IMAGE_INFO_KEYS = ("file_name", "height", "width", "id", "data_source")


@dataclass(frozen=True)
class Problem:
    """One finding: severity, a short code, the image it concerns, and a message."""

    severity: str
    code: str
    image_id: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"severity": self.severity, "code": self.code, "image_id": self.image_id,
                "message": self.message}


@dataclass
class ValidationReport:
    """The problems found in one split plus summary figures (counts, grounded, coverage)."""

    split: str
    sources: tuple[str, ...]
    problems: list[Problem] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def ok(self) -> bool:
        """True when no error was found (warnings allowed)."""
        return not self.errors

    def counts_by_code(self) -> dict[str, int]:
        return dict(sorted(Counter(p.code for p in self.problems).items()))

    def to_dict(self) -> dict[str, Any]:
        return {"split": self.split, "sources": list(self.sources), "ok": self.ok,
                "errors": len(self.errors), "warnings": len(self.warnings),
                "problem_counts": self.counts_by_code(), "stats": self.stats,
                "problems": [p.to_dict() for p in self.problems]}

    def format_text(self, max_rows: int | None = 200) -> str:
        """Summary pairs, problem counts by code, and a table of problems (first ``max_rows``)."""
        pairs = [("split", self.split), ("files", ", ".join(self.sources))]
        pairs += [(k.replace("_", " "), v) for k, v in self.stats.items()]
        pairs += [("errors", len(self.errors)), ("warnings", len(self.warnings))]
        lines = [format_pairs(pairs)]
        if self.problems:
            lines += ["", "Problems by kind:", format_table(
                [{"code": c, "count": n} for c, n in self.counts_by_code().items()])]
            shown = self.problems if max_rows is None else self.problems[:max_rows]
            lines += ["", format_table([p.to_dict() for p in shown],
                                       ["severity", "code", "image_id", "message"])]
            if len(shown) < len(self.problems):
                lines.append(f"... {len(self.problems) - len(shown)} more (use --json for all)")
        lines += ["", "OK: no errors" if self.ok else f"FAILED: {len(self.errors)} error(s)"]
        return "\n".join(lines)


class _Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def error(self, code: str, image_id: str, message: str) -> None:
        self.problems.append(Problem(ERROR, code, image_id, message))

    def warning(self, code: str, image_id: str, message: str) -> None:
        self.problems.append(Problem(WARNING, code, image_id, message))


def _duplicates(values: list[Any]) -> list[Any]:
    return [v for v, n in Counter(values).items() if n > 1]


def _check_ids(data: SplitData, out: _Collector) -> None:
    for image_id in _duplicates([i["id"] for i in data.images]):
        out.error("duplicate_image_id", image_id, "image id listed more than once in images")
    for caption_id in _duplicates([c.get("id") for c in data.captions if "id" in c]):
        images = sorted({c["image_id"] for c in data.captions if c.get("id") == caption_id})
        out.error("duplicate_caption_id", images[0],
                  f"caption annotation id {caption_id} used by images {', '.join(images)}")
    for image_id, group in data.captions_by_image().items():
        if len(group) > 1:
            out.error("duplicate_caption", image_id,
                      f"{len(group)} caption annotations for one image (the first is used)")
    mask_owner: dict[Any, set[str]] = {}
    for mask in data.masks:
        if "id" in mask:
            mask_owner.setdefault(mask["id"], set()).add(mask["image_id"])
    for image_id, group in data.masks_by_image().items():
        for mask_id in _duplicates([m.get("id") for m in group if "id" in m]):
            out.error("duplicate_mask_id", image_id, f"mask annotation id {mask_id} used twice "
                      "in this image")
    for mask_id, owners in mask_owner.items():
        if len(owners) > 1:
            out.warning("shared_mask_id", sorted(owners)[0],
                        f"mask annotation id {mask_id} is used by images "
                        f"{', '.join(sorted(owners))}")


def _check_linking(data: SplitData, out: _Collector) -> None:
    known = {i["id"] for i in data.images}
    masks = data.masks_by_image()
    captions = data.captions_by_image()
    for image_id in sorted(set(captions) - known):
        out.error("caption_unknown_image", image_id, "caption annotation for an image that is "
                  "not in the caption file's images")
    for image_id in sorted(set(masks) - known):
        out.error("mask_unknown_image", image_id, f"{len(masks[image_id])} mask annotation(s) "
                  "for an image that is not in the caption file's images")
    for image in data.images:
        image_id = image["id"]
        if image_id in captions and image_id not in masks:
            out.error("caption_without_masks", image_id, "image has a caption but no masks")
        elif image_id in masks and image_id not in captions:
            out.error("masks_without_caption", image_id,
                      f"image has {len(masks[image_id])} masks but no caption")
        elif image_id not in masks:
            out.warning("empty_image", image_id, "image has neither caption nor masks")


def _check_keys(data: SplitData, out: _Collector) -> None:
    for image in data.images:
        missing = [k for k in IMAGE_INFO_KEYS if k not in image]
        if missing:
            out.error("missing_key", image["id"], f"image info lacks {', '.join(missing)}")
    for caption in data.captions:
        missing = [k for k in CAPTION_ANNOTATION_KEYS if k not in caption]
        if missing:
            out.error("missing_key", caption["image_id"],
                      f"caption annotation lacks {', '.join(missing)}")
    for position, mask in enumerate(data.masks):
        missing = [k for k in MASK_ANNOTATION_KEYS if k not in mask]
        if missing:
            out.error("missing_key", mask["image_id"], f"mask annotation {mask.get('id')} "
                      f"(file position {position}) lacks {', '.join(missing)}")


def _check_caption(sample: Sample, out: _Collector) -> set[int]:
    """Tag/label_matched/caption consistency; returns the mask positions phrases name."""
    image_id = sample.image_id
    if sample.caption_annotation is None:
        return set()
    count = len(sample.mask_annotations)
    parsed = sample.parsed_caption
    for text in parsed.malformed:
        out.error("malformed_tag", image_id, f"'{text}' in caption_ann is not a tag "
                  "<n[,n...]:text>")
    if sample.caption is not None and sample.caption != parsed.clean:
        out.error("caption_mismatch", image_id, "caption differs from caption_ann with tags "
                  f"stripped, first at character {_first_difference(sample.caption, parsed.clean)}"
                  f": {sample.caption!r} vs {parsed.clean!r}")
    matched = sample.label_matched
    if len(parsed.tags) != len(matched):
        out.error("tag_count_mismatch", image_id, f"{len(parsed.tags)} tags in caption_ann but "
                  f"{len(matched)} label_matched entries")
    named: set[int] = set()
    for phrase in sample.phrases:
        for index in phrase.mask_indices:
            if index >= count:
                out.error("mask_index_out_of_range", image_id, f"tag {phrase.index} "
                          f"'{phrase.text}' names mask {index}; the image has {count} masks")
            else:
                named.add(index)
        if phrase.txt_desc is not None and phrase.text != phrase.txt_desc:
            out.error("tag_text_mismatch", image_id, f"tag {phrase.index} text "
                      f"{phrase.text!r} ≠ label_matched txt_desc {phrase.txt_desc!r}")
        if (phrase.matched_mask_ids is not None
                and list(phrase.mask_indices) != list(phrase.matched_mask_ids)):
            out.error("tag_mask_mismatch", image_id, f"tag {phrase.index} '{phrase.text}' names "
                      f"masks {list(phrase.mask_indices)} but label_matched[{phrase.index}] "
                      f"has {list(phrase.matched_mask_ids)}")
    for j, entry in enumerate(matched):
        text, mask_ids = matched_entry(entry)
        if text is None or mask_ids is None:
            out.error("invalid_label_matched", image_id, f"label_matched[{j}] is {entry!r}; "
                      "expected {'mask_ids': [int, ...], 'txt_desc': str}")
        ids = list(mask_ids or ())
        bad = [i for i in ids if not 0 <= i < count]
        if bad:
            out.error("mask_index_out_of_range", image_id, f"label_matched[{j}] names masks "
                      f"{bad}; the image has {count} masks")
        named.update(i for i in ids if 0 <= i < count)
    return named


def _first_difference(a: str, b: str) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                min(len(a), len(b)))


def _check_masks(sample: Sample, categories: dict[Any, str], bbox_tolerance: float,
                 out: _Collector) -> tuple[float | None, int]:
    """RLE, size, area, bbox, category and overlap checks; returns (coverage, valid masks)."""
    image_id = sample.image_id
    size = [sample.height, sample.width]
    valid: list[tuple[int, dict]] = []
    for i, mask in enumerate(sample.mask_annotations):
        where = f"mask {i} (id {mask.get('id')})"
        rle = mask["segmentation"]
        problem = mask_ops.rle_problem(rle) if isinstance(rle, dict) else "not an RLE object"
        if problem:
            out.error("invalid_rle", image_id, f"{where}: {problem}")
            continue
        if [int(v) for v in rle["size"]] != size:
            out.error("rle_size_mismatch", image_id, f"{where}: RLE size {list(rle['size'])} ≠ "
                      f"image size {size} (height, width)")
            continue
        valid.append((i, rle))
        true_area = mask_ops.area(rle)
        if "area" in mask and mask["area"] != true_area:
            out.error("area_mismatch", image_id, f"{where}: area {mask['area']} ≠ "
                      f"{true_area} pixels in the mask")
        if "bbox" in mask:
            true_box = mask_ops.bbox(rle)
            stored = mask["bbox"]
            if (not isinstance(stored, list) or len(stored) != 4
                    or np.abs(np.asarray(stored, dtype=float) - true_box).max() > bbox_tolerance):
                out.error("bbox_mismatch", image_id, f"{where}: bbox {stored} ≠ {true_box} "
                          "of the mask")
        if categories and mask.get("category_id") not in categories:
            out.error("unknown_category", image_id, f"{where}: category_id "
                      f"{mask.get('category_id')} is not in categories")
        if mask.get("thing_or_stuff", "thing") not in ("thing", "stuff"):
            out.warning("thing_or_stuff", image_id, f"{where}: thing_or_stuff is "
                        f"{mask.get('thing_or_stuff')!r}, expected 'thing' or 'stuff'")
    if not valid:
        return (0.0 if not sample.mask_annotations else None), 0
    rles = [rle for _, rle in valid]
    union_area = mask_ops.area(mask_ops.union(rles))
    if sum(mask_ops.area(r) for r in rles) > union_area:
        _report_overlaps(valid, image_id, out)
    return union_area / max(1, sample.height * sample.width), len(valid)


def _report_overlaps(valid: list[tuple[int, dict]], image_id: str, out: _Collector) -> None:
    rles = [rle for _, rle in valid]
    areas = np.array([mask_ops.area(r) for r in rles], dtype=np.float64)
    iou = mask_ops.iou_matrix(rles, rles)
    inter = np.rint(iou * (areas[:, None] + areas[None, :]) / (1.0 + iou)).astype(np.int64)
    for a in range(len(valid)):
        for b in range(a + 1, len(valid)):
            if inter[a, b] > 0:
                out.error("overlapping_regions", image_id, f"masks {valid[a][0]} and "
                          f"{valid[b][0]} share {inter[a, b]} pixels")


def _check_image_file(sample: Sample, images_dir: Path, out: _Collector) -> None:
    from PIL import Image, UnidentifiedImageError

    path = images_dir / sample.file_name
    if not path.is_file():
        out.error("image_missing", sample.image_id, f"{path} does not exist")
        return
    try:
        with Image.open(path) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError) as exc:
        out.error("image_unreadable", sample.image_id, f"{path}: {exc}")
        return
    if (height, width) != (sample.height, sample.width):
        out.error("image_size_mismatch", sample.image_id, f"{path} is {height}×{width} "
                  f"(h×w) but the annotations say {sample.height}×{sample.width}")


def validate_split(split: PanoCapsSplit | SplitData,
                   images_dir: str | os.PathLike | None = None, *, min_coverage: float = 0.5,
                   bbox_tolerance: float = 0.5) -> ValidationReport:
    """Check every rule on one split; see the module docstring for the list of checks."""
    if isinstance(split, SplitData):
        split = PanoCapsSplit(split, cache_size=0)
    data = split.data
    out = _Collector()
    _check_ids(data, out)
    _check_keys(data, out)
    _check_linking(data, out)
    folder = Path(images_dir) if images_dir is not None else split.images_dir
    if folder is not None and not folder.is_dir():
        raise NotFoundError(f"the images folder {folder} does not exist; pass the folder that "
                            "holds the PanoCaps source images (IMAGES_DIR/<file_name>)")
    categories = split.categories
    regions = grounded = phrases = 0
    coverages: list[float] = []
    seen: set[str] = set()
    for sample in split:
        if sample.image_id in seen:
            continue
        seen.add(sample.image_id)
        named = _check_caption(sample, out)
        coverage, _ = _check_masks(sample, categories, bbox_tolerance, out)
        count = len(sample.mask_annotations)
        regions += count
        grounded += len(named)
        phrases += len(sample.phrases)
        if sample.caption_annotation is not None:
            for region in sample.regions:
                if region.index not in named:
                    out.warning("ungrounded_region", sample.image_id, f"mask {region.index} "
                                f"({region.category_name or region.category_id}) is named by "
                                "no phrase")
        if coverage is not None:
            coverages.append(coverage)
            if coverage < min_coverage:
                out.warning("low_coverage", sample.image_id, f"masks cover {coverage:.1%} of "
                            f"the image (threshold {min_coverage:.0%})")
        if folder is not None:
            _check_image_file(sample, folder, out)
    stats: dict[str, Any] = {
        "images": len(data.images), "captions": len(data.captions), "masks": len(data.masks),
        "categories": len(data.categories), "phrases": phrases,
        "grounded_regions": grounded,
        "grounded_fraction": round(grounded / regions, 4) if regions else None,
        "mean_coverage": round(float(np.mean(coverages)), 4) if coverages else None,
        "min_coverage": round(float(np.min(coverages)), 4) if coverages else None,
    }
    if folder is not None:
        stats["images_dir"] = str(folder)
    return ValidationReport(data.split, data.sources, out.problems, stats)
