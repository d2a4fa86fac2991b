"""Write small, real PanoCaps ground truth (caption + mask JSON) and prediction files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from imagesets import masks


def box(height: int, width: int, rows: tuple[int, int], cols: tuple[int, int]
        ) -> dict[str, Any]:
    """A compressed COCO RLE of the rectangle rows[0]:rows[1] × cols[0]:cols[1]."""
    mask = np.zeros((height, width), dtype=np.uint8)
    mask[rows[0]:rows[1], cols[0]:cols[1]] = 1
    return masks.encode(mask)


def image(image_id: str, masks_: list[tuple[dict, str]], label_matched: list[tuple[list[int], str]],
          size: tuple[int, int] = (10, 10), source: str = "ADE20K",
          caption: str | None = "a scene") -> dict[str, Any]:
    """One ground-truth image: masks as (rle, thing_or_stuff), label_matched as (ids, text)."""
    return {"id": image_id, "size": size, "source": source, "masks": masks_,
            "label_matched": label_matched, "caption": caption}


def write_split(root: Path, split: str, images: list[dict[str, Any]],
                mask_name: str = "{split}_mask.json") -> Path:
    """``root/annotations/{split}_caption.json`` and the mask file, in the published layout."""
    folder = root / "annotations"
    folder.mkdir(parents=True, exist_ok=True)
    info, captions, annotations = [], [], []
    for number, img in enumerate(images):
        height, width = img["size"]
        info.append({"file_name": f"{img['id']}.jpg", "height": height, "width": width,
                     "id": img["id"], "data_source": img["source"]})
        if img["caption"] is not None:
            tagged = img["caption"] + " " + " ".join(
                f"<{','.join(map(str, ids))}:{text}>" for ids, text in img["label_matched"])
            clean = img["caption"] + " " + " ".join(t for _, t in img["label_matched"])
            captions.append({"id": number, "image_id": img["id"], "caption": clean,
                             "caption_ann": tagged,
                             "label_matched": [{"mask_ids": ids, "txt_desc": text}
                                               for ids, text in img["label_matched"]],
                             "labels": [t for _, t in img["label_matched"]]})
        for rle, kind in img["masks"]:
            annotations.append({"id": len(annotations) + 1, "image_id": img["id"],
                                "category_id": 1, "segmentation": rle,
                                "area": masks.area(rle), "bbox": masks.bbox(rle),
                                "iscrowd": 0, "thing_or_stuff": kind})
    (folder / f"{split}_caption.json").write_text(json.dumps(
        {"images": info, "annotations": captions}))
    (folder / mask_name.format(split=split)).write_text(json.dumps(
        {"images": info, "annotations": annotations,
         "categories": [{"id": 1, "name": "thing"}]}))
    return root


def write_prediction(folder: Path, image_id: str, phrases: list[str], pred_masks: list[dict],
                     counts: list[int] | None = None, caption: str = "a scene") -> Path:
    """One official-layout prediction file ``folder/<image_id>.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {"image_id": image_id, "caption": caption, "phrases": phrases,
                              "pred_masks": pred_masks}
    if counts is not None:
        record["phrase_seg_counts"] = counts
    path = folder / f"{image_id}.json"
    path.write_text(json.dumps(record))
    return path
