"""AP50 and mIoU agree with pycocotools COCOeval / numpy on random multi-image splits."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from scipy.optimize import linear_sum_assignment

from imagesets import masks
from imagesets.panocaps.evaluation import evaluate

from .builders import image, write_prediction, write_split

WORDS = ["wall", "floor", "sky", "tree", "car", "person"]


def random_box(rng, h, w):
    y0, x0 = rng.integers(0, h - 4), rng.integers(0, w - 4)
    mask = np.zeros((h, w), dtype=np.uint8)
    mask[y0:y0 + rng.integers(3, h - y0 + 1), x0:x0 + rng.integers(3, w - x0 + 1)] = 1
    return mask


def make_split(tmp_path, seed=0, n_images=12, h=16, w=20):
    rng = np.random.default_rng(seed)
    images = []
    for n in range(n_images):
        image_id = f"{(n * 7919) % 1000:05d}"
        gt_masks = [random_box(rng, h, w) for _ in range(rng.integers(1, 6))]
        refs = [([i], WORDS[rng.integers(len(WORDS))]) for i in range(len(gt_masks))
                if rng.random() < 0.85]
        images.append(image(image_id, [(masks.encode(m), "thing") for m in gt_masks], refs,
                            size=(h, w)))
        preds, phrases = [], []
        for i, m in enumerate(gt_masks):
            if rng.random() < 0.7:
                noisy = m.copy()
                noisy[rng.integers(0, h), :] ^= 1
                preds.append(masks.encode(noisy))
                phrases.append(refs[0][1] if refs and rng.random() < 0.3 else WORDS[i % 6])
        for _ in range(rng.integers(0, 3)):
            preds.append(masks.encode(random_box(rng, h, w)))
            phrases.append(WORDS[rng.integers(len(WORDS))])
        write_prediction(tmp_path / "pred", image_id, phrases, preds)
    write_split(tmp_path, "test", images)
    return tmp_path


def cocoeval_ap50(result, pred_dir, first_id):
    images, gts, dts = [], [], []
    next_id = first_id
    for score in result.images:
        gt = score.gt
        images.append({"id": gt.image_id, "height": gt.height, "width": gt.width})
        for rle in gt.rles:
            gts.append({"id": next_id, "image_id": gt.image_id, "category_id": 1, "iscrowd": 0,
                        "segmentation": rle, "area": masks.area(rle), "bbox": masks.bbox(rle)})
            next_id += 1
        record = json.loads((pred_dir / f"{gt.image_id}.json").read_text())
        for kept in score.kept:
            dts.append({"image_id": gt.image_id, "category_id": 1, "score": 1.0,
                        "segmentation": record["pred_masks"][kept]})
    coco = COCO()
    coco.dataset = {"images": images, "annotations": gts, "categories": [{"id": 1}]}
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
        evaluator = COCOeval(coco, coco.loadRes(dts), "segm")
        evaluator.params.catIds = [1]
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator.stats[1]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ap50_equals_cocoeval_in_both_modes(tmp_path, seed):
    root = make_split(tmp_path, seed)
    for mode, first_id in (("official", 0), ("corrected", 1)):
        result = evaluate(root, "test", root / "pred", text_sim="exact", mode=mode)
        assert result.metrics["AP50"] == cocoeval_ap50(result, root / "pred", first_id)
    assert 0 < result.metrics["AP50"] < 1


def test_miou_equals_pixel_count_hungarian(tmp_path):
    root = make_split(tmp_path, 5)
    result = evaluate(root, "test", root / "pred", text_sim="exact")
    per_image = []
    for score in result.images:
        record = json.loads((root / "pred" / f"{score.gt.image_id}.json").read_text())
        pred = [masks.decode(record["pred_masks"][k]).astype(bool) for k in score.kept]
        gt = [masks.decode(r).astype(bool) for r in score.gt.rles]
        if not pred or not gt:
            per_image.append(0.0)
            continue
        iou = np.array([[np.sum(p & g) / np.sum(p | g) for g in gt] for p in pred])
        rows, cols = linear_sum_assignment(-iou)
        per_image.append(float(np.sum([iou[r, c] for r, c in zip(rows, cols, strict=True)])
                               / max(len(pred), len(gt))))
        assert [m[2] for m in score.matches] == [iou[d, g] for g, d, *_ in score.matches]
    assert result.metrics["Mean IoU (mIoU)"] == float(np.mean(per_image))


def test_parallel_workers_give_identical_results(tmp_path):
    root = make_split(tmp_path, 3, n_images=20)
    one = evaluate(root, "test", root / "pred", text_sim="exact", workers=1)
    two = evaluate(root, "test", root / "pred", text_sim="exact", workers=2)
    assert one.to_dict(details=True) == two.to_dict(details=True)
