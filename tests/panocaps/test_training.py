"""panocaps.TrainingDataset and collate: items as the authors' loader builds them, checked
against pycocotools and Pillow on the embedded sample; DataLoader workers, samplers, options."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from pycocotools import mask as coco_mask
from torch.utils.data import DataLoader, DistributedSampler

from imagesets.errors import ImagesetsError, InvalidDataError, NotFoundError
from imagesets.panocaps import TrainingDataset, collate

from .builders import SAMPLE

ROOT = SAMPLE / "panocaps"
PHOTOS = SAMPLE / "photos"


def reference_items(split: str) -> list[dict]:
    """Masks in phrase order straight from the JSON pair with pycocotools, images with Pillow."""
    captions = json.loads((ROOT / "annotations" / f"{split}_caption.json").read_text())
    masks = json.loads((ROOT / "annotations" / f"{split}_mask.json").read_text())
    by_image: dict[str, list] = {}
    for annotation in masks["annotations"]:
        by_image.setdefault(annotation["image_id"], []).append(annotation)
    out = []
    for info, caption in zip(captions["images"], captions["annotations"], strict=True):
        anns = by_image[info["id"]]
        stack, groups = [], []
        for phrase, entry in enumerate(caption["label_matched"]):
            for mask_id in entry["mask_ids"]:
                rle = anns[mask_id]["segmentation"]
                stack.append(coco_mask.decode({"size": rle["size"],
                                               "counts": rle["counts"].encode()}))
                groups.append(phrase)
        with Image.open(PHOTOS / info["file_name"]) as image:
            pixels = np.asarray(image.convert("RGB"))
        out.append({"image_id": info["id"], "masks": np.stack(stack), "groups": groups,
                    "image": pixels, "phrases": [e["txt_desc"] for e in caption["label_matched"]],
                    "caption": caption["caption"], "source": info["data_source"]})
    return out


@pytest.mark.parametrize("form", ["json", "parquet"])
def test_items_match_pycocotools_and_pillow(form):
    dataset = TrainingDataset(ROOT, "val", images_dir=PHOTOS, format=form)
    expected = reference_items("val")
    assert len(dataset) == len(expected) == 3
    for item, ref in zip(dataset, expected, strict=False):
        assert item["image_id"] == ref["image_id"] and item["source"] == ref["source"]
        assert item["caption"] == ref["caption"] and item["phrases"] == ref["phrases"]
        assert item["image"].dtype == torch.uint8
        np.testing.assert_array_equal(item["image"].permute(1, 2, 0).numpy(), ref["image"])
        assert item["masks"].dtype == torch.uint8
        np.testing.assert_array_equal(item["masks"].numpy(), ref["masks"])
        assert item["seg_group_ids"].tolist() == ref["groups"]
        caption = item["caption"]
        assert [caption[a:b] for a, b in item["phrase_spans"].tolist()] == item["phrases"]


def test_a_mask_named_by_two_phrases_appears_under_each():
    item = TrainingDataset(ROOT, "val", images_dir=PHOTOS)[0]
    # "<1:a red saucer>" and "< 1 : the saucer >" name mask 1; "<2,3:a red and white cup>".
    assert item["seg_group_ids"].tolist() == [0, 1, 2, 2, 3, 4, 5]
    assert torch.equal(item["masks"][1], item["masks"][6]) and item["masks"][1].any()


def test_max_phrases_mask_size_and_transform():
    full = TrainingDataset(ROOT, "val", images_dir=PHOTOS)[0]
    dataset = TrainingDataset(ROOT, "val", images_dir=PHOTOS, max_phrases=2,
                              mask_size=(64, 96), transform=lambda image: image.float() / 255)
    item = dataset[0]
    assert item["phrases"] == full["phrases"][:2] and item["seg_group_ids"].tolist() == [0, 1]
    assert item["masks"].shape == (2, 64, 96)
    np.testing.assert_array_equal(item["masks"].numpy(), full["masks"][:2, ::4, ::4].numpy())
    assert item["image"].dtype == torch.float32 and float(item["image"].max()) <= 1.0


def test_dataloader_with_workers_and_a_distributed_sampler():
    dataset = TrainingDataset(ROOT, "val", images_dir=PHOTOS)
    copy = pickle.loads(pickle.dumps(dataset))
    assert torch.equal(copy[2]["masks"], dataset[2]["masks"]) and copy[2]["caption"]
    loader = DataLoader(dataset, batch_size=2, num_workers=2, collate_fn=collate)
    batches = list(loader)
    assert [b["image_id"] for b in batches] == [["00000101", "00000102"], ["00000103"]]
    assert isinstance(batches[0]["image"], list)           # 256×384 and 384×384: not stacked
    assert [m.shape[0] for m in batches[0]["masks"]] == [7, len(dataset[1]["seg_group_ids"])]
    seen = []
    for rank in (0, 1):
        sampler = DistributedSampler(dataset, num_replicas=2, rank=rank, shuffle=False)
        seen += [i for b in DataLoader(dataset, sampler=sampler, collate_fn=collate)
                 for i in b["image_id"]]
    assert sorted(set(seen)) == ["00000101", "00000102", "00000103"]
    same = collate([dataset[0], dataset[0]])
    assert same["image"].shape == (2, 3, 256, 384)


def test_errors_are_clear(tmp_path, sample_root):
    path = sample_root / "annotations" / "val_mask.json"
    document = json.loads(path.read_text())
    document["annotations"][1]["segmentation"]["counts"] = "0"
    path.write_text(json.dumps(document))
    with pytest.raises(InvalidDataError, match="image 00000101, mask 1: invalid COCO RLE"):
        TrainingDataset(sample_root, "val", images_dir=PHOTOS)
    with pytest.raises(NotFoundError, match="does not exist"):
        TrainingDataset(ROOT, "val", images_dir=tmp_path / "nowhere")
    with pytest.raises(NotFoundError, match=r"panocaps/images does not exist.*default: ROOT/"):
        TrainingDataset(ROOT, "val")
    dataset = TrainingDataset(ROOT, "val", images_dir=tmp_path)
    with pytest.raises(NotFoundError, match="coffee.jpg; `imagesets validate panocaps"):
        dataset[0]
    with pytest.raises(IndexError) as info:
        dataset[3]
    assert isinstance(info.value, ImagesetsError)


def test_importing_panocaps_does_not_import_torch():
    code = ("import sys, imagesets, imagesets.panocaps; assert 'torch' not in sys.modules; "
            "imagesets.panocaps.TrainingDataset; assert 'torch' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
