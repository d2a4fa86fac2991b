"""PanoCaps reading: imagesets versus a naive json + pycocotools reader, same split, same run.

Builds a synthetic split the size of PanoCaps test (980 images, ~10 panoptic masks each, about
700 × 500 pixels, Voronoi-cell masks so the RLEs look like real region masks; captions with
~9 tags including one-to-many and many-to-one links) as a JSON pair, then times:

1. full load + decoding of every mask: ``imagesets.panocaps.load`` + ``sample.masks()`` (counts
   checked against h × w, one pycocotools call per image) against ``json.load`` + an image-id
   index + ``pycocotools.mask.decode`` per mask (no checks);
2. phrase-mask lookup, the union of each phrase's masks for every phrase of the split:
   ``sample.phrase_mask(j)`` against the naive reader decoding the phrase's masks per lookup
   (what ``annToMask``-style code does), and against a naive reader that kept every mask decoded;

checks that both give identical pixels, and prints CPU seconds and ratios.

With ``--loader``, also writes one JPEG per image and times training items (image + masks in
phrase order + group ids) through a torch ``DataLoader``: ``panocaps.TrainingDataset`` against
a loader of the kind the authors use (pycocotools ``COCO`` over the mask JSON, the caption JSON
indexed by image, per item ``annToMask`` for every mask a phrase names and a Pillow decode).

    python benchmarks/panocaps.py                 # 980 images
    python benchmarks/panocaps.py --images 200    # quicker
    python benchmarks/panocaps.py --images 300 --loader --repeats 2
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pycocotools import mask as coco_mask

from imagesets import masks
from imagesets.panocaps import load
from imagesets.tables import format_table

TAG = re.compile(r"<\s*(\d+(?:\s*,\s*\d+)*)\s*:\s*([^<>]*?)\s*>")


def synthetic_split(root: Path, images: int, seed: int = 0) -> None:
    """Write ``annotations/test_caption.json`` + ``test_mask.json`` under ``root``."""
    rng = np.random.default_rng(seed)
    image_records, captions, mask_records = [], [], []
    mask_id = 1
    for number in range(images):
        height, width = int(rng.integers(460, 540)), int(rng.integers(640, 760))
        count = int(rng.integers(8, 13))
        seeds = rng.uniform((0, 0), (height, width), size=(count, 2)).astype(np.float32)
        ys = np.arange(height, dtype=np.float32)[:, None, None]
        xs = np.arange(width, dtype=np.float32)[None, :, None]
        wobble = 25 * np.sin(xs / 37.0 + number) * np.cos(ys / 29.0)
        distance = (ys - seeds[:, 0]) ** 2 + (xs - seeds[:, 1]) ** 2 + wobble * 60
        labels = np.argmin(distance, axis=-1)
        image_id = f"{number + 1:08d}"
        present = [k for k in range(count) if (labels == k).any()]
        for k in present:
            rle = masks.encode(labels == k)
            mask_records.append({
                "id": mask_id, "image_id": image_id, "category_id": int(k % 5) + 1,
                "segmentation": rle, "area": masks.area(rle), "bbox": masks.bbox(rle),
                "iscrowd": 0, "thing_or_stuff": "thing" if k % 2 else "stuff"})
            mask_id += 1
        n = len(present)
        groups = [[0, 1]] + [[k] for k in range(2, n)] + [[1]]   # one-to-many, many-to-one
        texts = [f"region {'-'.join(map(str, g))} of image {number}" for g in groups]
        caption_ann = " and ".join(f"<{','.join(map(str, g))}:{t}>"
                                   for g, t in zip(groups, texts, strict=True)) + "."
        captions.append({"id": number + 1, "image_id": image_id,
                         "caption": " and ".join(texts) + ".", "caption_ann": caption_ann,
                         "label_matched": [{"mask_ids": g, "txt_desc": t}
                                           for g, t in zip(groups, texts, strict=True)],
                         "labels": [f"c{k}" for k in range(n)]})
        image_records.append({"file_name": f"{image_id}.jpg", "height": height,
                              "width": width, "id": image_id, "data_source": "ADE20K"})
    folder = root / "annotations"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test_caption.json").write_text(json.dumps(
        {"images": image_records, "annotations": captions}))
    (folder / "test_mask.json").write_text(json.dumps(
        {"images": image_records, "annotations": mask_records,
         "categories": [{"id": i, "name": f"c{i}"} for i in range(1, 6)]}))


def naive_load(root: Path) -> tuple[list[dict], dict[str, dict], dict[str, list[dict]]]:
    with open(root / "annotations" / "test_caption.json") as fh:
        caption_doc = json.load(fh)
    with open(root / "annotations" / "test_mask.json") as fh:
        mask_doc = json.load(fh)
    captions = {c["image_id"]: c for c in caption_doc["annotations"]}
    by_image: dict[str, list[dict]] = {}
    for mask in mask_doc["annotations"]:
        by_image.setdefault(mask["image_id"], []).append(mask)
    return caption_doc["images"], captions, by_image


def naive_decode(mask: dict) -> np.ndarray:
    rle = mask["segmentation"]
    return coco_mask.decode({"size": rle["size"], "counts": rle["counts"].encode("ascii")})


def naive_load_and_decode(root: Path) -> dict[str, list[np.ndarray]]:
    images, captions, by_image = naive_load(root)
    decoded = {}
    for image in images:
        [m.groups() for m in TAG.finditer(captions[image["id"]]["caption_ann"])]
        decoded[image["id"]] = [naive_decode(m) for m in by_image.get(image["id"], [])]
    return decoded


def ours_load_and_decode(root: Path) -> int:
    split = load(root, "test", cache_size=0)
    total = 0
    for sample in split:
        total += len(sample.phrases) + len(sample.masks())
    return total


def naive_phrase_lookup(root: Path) -> list[int]:
    images, captions, by_image = naive_load(root)
    areas = []
    for image in images:
        for match in TAG.finditer(captions[image["id"]]["caption_ann"]):
            indices = [int(n) for n in match.group(1).split(",")]
            union = np.logical_or.reduce([naive_decode(by_image[image["id"]][i])
                                          for i in indices])
            areas.append(int(union.sum()))
    return areas


def naive_cached_phrase_lookup(root: Path) -> list[int]:
    images, captions, by_image = naive_load(root)
    areas = []
    for image in images:
        decoded = [naive_decode(m) for m in by_image[image["id"]]]
        for match in TAG.finditer(captions[image["id"]]["caption_ann"]):
            indices = [int(n) for n in match.group(1).split(",")]
            areas.append(int(np.logical_or.reduce([decoded[i] for i in indices]).sum()))
    return areas


def ours_phrase_lookup(root: Path) -> list[int]:
    areas = []
    for sample in load(root, "test", cache_size=0):
        areas.extend(int(sample.phrase_mask(j).sum()) for j in range(len(sample.phrases)))
    return areas


def timed(function: Callable[[], object], repeats: int) -> tuple[float, float, object]:
    """Best CPU and wall seconds over ``repeats`` runs, and the last result."""
    best_cpu = best_wall = float("inf")
    result = None
    for _ in range(repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        result = function()
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    return best_cpu, best_wall, result


def check_identical(root: Path) -> int:
    naive = naive_load_and_decode(root)
    split = load(root, "test", cache_size=0)
    for sample in split:
        ours = sample.masks()
        theirs = naive[sample.image_id]
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            assert np.array_equal(a, b)
    return sum(len(v) for v in naive.values())


def write_images(root: Path, quality: int = 90) -> Path:
    """One camera-like JPEG per image of the synthetic split (smooth colour fields + noise)."""
    from PIL import Image

    folder = root / "images"
    folder.mkdir(exist_ok=True)
    document = json.loads((root / "annotations" / "test_caption.json").read_text())
    rng = np.random.default_rng(1)
    for info in document["images"]:
        height, width = info["height"], info["width"]
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        base = np.stack([128 + 90 * np.sin(xs / (40 + 10 * c) + ys / 70 + c) for c in range(3)],
                        axis=-1)
        pixels = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / info["file_name"], quality=quality)
    return folder


class AuthorsStyleDataset:
    """The straightforward training loader: pycocotools COCO over the JSON pair, per item."""

    def __init__(self, root: Path, images: Path) -> None:
        import contextlib
        import io

        from pycocotools.coco import COCO

        with contextlib.redirect_stdout(io.StringIO()):
            self.coco = COCO(str(root / "annotations" / "test_mask.json"))
        with open(root / "annotations" / "test_caption.json") as fh:
            document = json.load(fh)
        self.images = document["images"]
        self.captions = {c["image_id"]: c for c in document["annotations"]}
        self.folder = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict:
        import torch
        from PIL import Image

        info = self.images[index]
        caption = self.captions[info["id"]]
        anns = self.coco.loadAnns(self.coco.getAnnIds(imgIds=[info["id"]]))
        stack, groups = [], []
        for phrase, match in enumerate(TAG.finditer(caption["caption_ann"])):
            for mask_index in (int(n) for n in match.group(1).split(",")):
                stack.append(self.coco.annToMask(anns[mask_index]))
                groups.append(phrase)
        image = np.array(Image.open(self.folder / info["file_name"]).convert("RGB"))
        return {"image": torch.from_numpy(image).permute(2, 0, 1), "image_id": info["id"],
                "masks": torch.from_numpy(np.stack(stack)),
                "seg_group_ids": torch.tensor(groups)}


def loader_rows(root: Path, repeats: int) -> list[dict]:
    """Construction time, then samples/s of both datasets through a DataLoader (batch 8, main
    process, the same items checked equal)."""
    from torch.utils.data import DataLoader

    from imagesets.panocaps import TrainingDataset, collate

    images = write_images(root)
    our_init, _, ours = timed(lambda: TrainingDataset(root, "test", images_dir=images), repeats)
    their_init, _, theirs = timed(lambda: AuthorsStyleDataset(root, images), repeats)
    for index in (0, len(ours) // 2, len(ours) - 1):
        a, b = ours[index], theirs[index]
        assert np.array_equal(a["masks"].numpy(), b["masks"].numpy())
        assert a["seg_group_ids"].tolist() == b["seg_group_ids"].tolist()
        assert np.array_equal(a["image"].numpy(), b["image"].numpy())

    def consume(dataset: object) -> int:
        return sum(len(batch["image_id"]) for batch in DataLoader(
            dataset, batch_size=8, num_workers=0, collate_fn=collate))

    rows = [{"task": "training dataset construction", "imagesets CPU s": f"{our_init:.2f}",
             "naive CPU s": f"{their_init:.2f}",
             "ratio (naive / ours)": f"{their_init / our_init:.2f}x", "wall s (ours / naive)": ""}]
    our_cpu, our_wall, count = timed(lambda: consume(ours), repeats)
    their_cpu, their_wall, _ = timed(lambda: consume(theirs), repeats)
    rows.append({"task": f"training items via DataLoader ({count} images)",
                 "imagesets CPU s": f"{our_cpu:.2f}", "naive CPU s": f"{their_cpu:.2f}",
                 "ratio (naive / ours)": f"{their_cpu / our_cpu:.2f}x",
                 "wall s (ours / naive)": f"{our_wall:.2f} / {their_wall:.2f}"})
    print(f"samples/s per CPU second: imagesets {count / our_cpu:.0f}, authors-style "
          f"{count / their_cpu:.0f}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=980)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loader", action="store_true",
                        help="also time training items through a torch DataLoader")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="panocaps-bench-") as folder:
        root = Path(folder)
        start = time.perf_counter()
        synthetic_split(root, args.images)
        size = sum(p.stat().st_size for p in (root / "annotations").iterdir()) / 2 ** 20
        print(f"synthetic split: {args.images} images, {size:.1f} MiB of JSON, built in "
              f"{time.perf_counter() - start:.1f} s")
        count = check_identical(root)
        print(f"{count} masks decoded identically by both readers")
        rows = []
        for task, ours, theirs in (
                ("load + decode all masks", ours_load_and_decode, naive_load_and_decode),
                ("phrase masks (naive decodes per lookup)", ours_phrase_lookup,
                 naive_phrase_lookup),
                ("phrase masks (naive keeps masks decoded)", ours_phrase_lookup,
                 naive_cached_phrase_lookup)):
            our_cpu, our_wall, our_result = timed(lambda f=ours: f(root), args.repeats)
            their_cpu, their_wall, their_result = timed(lambda f=theirs: f(root), args.repeats)
            if isinstance(our_result, list):
                assert our_result == their_result, "phrase masks differ"
            rows.append({"task": task, "imagesets CPU s": f"{our_cpu:.2f}",
                         "naive CPU s": f"{their_cpu:.2f}",
                         "ratio (naive / ours)": f"{their_cpu / our_cpu:.2f}x",
                         "wall s (ours / naive)": f"{our_wall:.2f} / {their_wall:.2f}"})
        if args.loader:
            rows += loader_rows(root, args.repeats)
        print(format_table(rows))


if __name__ == "__main__":
    main()
