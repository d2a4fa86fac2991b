"""Builders of small PanoCaps folders whose masks and links are known in advance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "imagesets" / "sample_data"


def rle_of(mask: np.ndarray) -> dict[str, Any]:
    """COCO RLE straight from pycocotools (independent of imagesets.masks)."""
    rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def box_of(mask: np.ndarray) -> list[float]:
    ys, xs = np.nonzero(mask)
    return [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
            float(ys.max() - ys.min() + 1)]


def stripes(height: int, width: int, count: int) -> list[np.ndarray]:
    """``count`` horizontal bands covering the image exactly (a panoptic segmentation)."""
    edges = np.linspace(0, height, count + 1).astype(int)
    out = []
    for k in range(count):
        mask = np.zeros((height, width), dtype=bool)
        mask[edges[k]:edges[k + 1]] = True
        out.append(mask)
    return out


def mask_annotation(mask: np.ndarray, image_id: str, ann_id: int, category_id: int = 1,
                    kind: str = "thing") -> dict[str, Any]:
    return {"id": ann_id, "image_id": image_id, "category_id": category_id,
            "segmentation": rle_of(mask), "area": int(mask.sum()), "bbox": box_of(mask),
            "iscrowd": 0, "thing_or_stuff": kind}


def caption_annotation(image_id: str, caption_ann: str, caption: str,
                       label_matched: list[tuple[list[int], str]], ann_id: int = 1
                       ) -> dict[str, Any]:
    return {"id": ann_id, "image_id": image_id, "caption": caption, "caption_ann": caption_ann,
            "label_matched": [{"mask_ids": ids, "txt_desc": text} for ids, text in label_matched],
            "labels": [text for _, text in label_matched]}


def image_info(image_id: str, height: int, width: int, source: str = "ADE20K"
               ) -> dict[str, Any]:
    return {"file_name": f"{image_id}.jpg", "height": height, "width": width, "id": image_id,
            "data_source": source}


CATEGORIES = [{"id": 1, "name": "thing one"}, {"id": 2, "name": "wall"},
              {"id": 3, "name": "chair"}]


def write_pair(root: Path, split: str, images: list[dict], captions: list[dict],
               masks: list[dict], categories: list[dict] | None = None,
               mask_file: str = "{split}_mask.json") -> Path:
    folder = root / "annotations"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{split}_caption.json").write_text(
        json.dumps({"images": images, "annotations": captions}), encoding="utf-8")
    (folder / mask_file.format(split=split)).write_text(
        json.dumps({"images": images, "annotations": masks,
                    "categories": CATEGORIES if categories is None else categories}),
        encoding="utf-8")
    return root


def chairs_split(root: Path, split: str = "val", mask_file: str = "{split}_mask.json") -> Path:
    """Two images: '00000006' (wall + two chairs, one-to-many and many-to-one links) and
    '00000010' (three bands, one unnamed)."""
    h, w = 6, 8
    wall, chair_a, chair_b = stripes(h, w, 3)
    first = [mask_annotation(wall, "00000006", 11, 2, "stuff"),
             mask_annotation(chair_a, "00000006", 12, 3),
             mask_annotation(chair_b, "00000006", 13, 3)]
    caption_a = caption_annotation(
        "00000006", "<0:A white wall> behind < 1 , 2 : two red chairs >; <1:the left chair>.",
        "A white wall behind two red chairs; the left chair.",
        [([0], "A white wall"), ([1, 2], "two red chairs"), ([1], "the left chair")], 1)
    bands = stripes(4, 5, 3)
    second = [mask_annotation(m, "00000010", 20 + k) for k, m in enumerate(bands)]
    caption_b = caption_annotation("00000010", "Top <0:band> and <2:bottom band>.",
                                   "Top band and bottom band.",
                                   [([0], "band"), ([2], "bottom band")], 2)
    images = [image_info("00000006", h, w), image_info("00000010", 4, 5, "VIPSeg")]
    return write_pair(root, split, images, [caption_a, caption_b], first + second,
                      mask_file=mask_file)


def mutate(root: Path, file: str, change) -> None:
    """Apply ``change`` to the parsed JSON of ``root/annotations/file`` and write it back."""
    path = root / "annotations" / file
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))
