"""JSON ↔ Parquet round trips, the published Parquet schema, and the COCO panoptic export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from imagesets.panocaps import convert, load, read_split_data

from .builders import caption_annotation, image_info, mask_annotation, write_pair

# The dataset card's features, written out independently of imagesets.panocaps.formats.
PUBLISHED_COLUMNS = {
    "split": pa.string(), "image_id": pa.string(), "file_name": pa.string(),
    "image_info": pa.struct([("data_source", pa.string()), ("file_name", pa.string()),
                             ("height", pa.int64()), ("id", pa.string()), ("width", pa.int64())]),
    "caption_info": pa.struct([
        ("caption", pa.string()), ("caption_ann", pa.string()), ("id", pa.int64()),
        ("image_id", pa.string()),
        ("label_matched", pa.list_(pa.struct([("mask_ids", pa.list_(pa.int64())),
                                              ("txt_desc", pa.string())]))),
        ("labels", pa.list_(pa.string()))]),
    "mask_annotations": pa.list_(pa.struct([
        ("area", pa.int64()), ("bbox", pa.list_(pa.float64())), ("category_id", pa.int64()),
        ("id", pa.int64()), ("image_id", pa.string()), ("iscrowd", pa.int64()),
        ("segmentation", pa.struct([("counts", pa.string()), ("size", pa.list_(pa.int64()))])),
        ("thing_or_stuff", pa.string())])),
    "categories": pa.list_(pa.struct([("id", pa.int64()), ("name", pa.string())])),
}


def json_content(root: Path, split: str) -> tuple[dict, dict]:
    folder = root / "annotations"
    return (json.loads((folder / f"{split}_caption.json").read_text()),
            json.loads((folder / f"{split}_mask.json").read_text()))


def test_parquet_has_exactly_the_published_columns_and_types(sample_root: Path,
                                                             tmp_path: Path) -> None:
    result = convert(sample_root, "parquet", tmp_path / "out", format="json")
    assert result.splits == {"train": 2, "val": 3}
    schema = pq.read_schema(tmp_path / "out" / "data" / "val-00000-of-00001.parquet")
    assert schema.names == list(PUBLISHED_COLUMNS)
    for name, expected in PUBLISHED_COLUMNS.items():
        assert schema.field(name).type.equals(expected), name
    table = pq.read_table(tmp_path / "out" / "data" / "val-00000-of-00001.parquet")
    row = table.slice(0, 1).to_pylist()[0]
    assert row["split"] == "val" and row["image_id"] == "00000101"
    assert row["image_info"]["id"] == "00000101"
    assert len(row["mask_annotations"]) == 7 and len(row["categories"]) == 25


def test_json_to_parquet_to_json_is_identical(sample_root: Path, tmp_path: Path) -> None:
    convert(sample_root, "parquet", tmp_path / "pq", format="json")
    convert(tmp_path / "pq", "json", tmp_path / "back")
    for split in ("train", "val"):
        assert json_content(tmp_path / "back", split) == json_content(sample_root, split)


def test_parquet_to_json_to_parquet_is_identical(sample_root: Path, tmp_path: Path) -> None:
    convert(sample_root, "json", tmp_path / "js", format="parquet")
    convert(tmp_path / "js", "parquet", tmp_path / "pq")
    for split in ("train", "val"):
        name = f"data/{split}-00000-of-00001.parquet"
        assert pq.read_table(tmp_path / "pq" / name).equals(pq.read_table(sample_root / name))


def test_embedded_sample_layouts_agree(sample_root: Path) -> None:
    for split in ("train", "val"):
        from_json = read_split_data(sample_root, split, "json")
        from_parquet = read_split_data(sample_root, split, "parquet")
        assert from_parquet.images == from_json.images
        assert from_parquet.captions == from_json.captions
        assert from_parquet.masks == from_json.masks
        assert from_parquet.categories == from_json.categories


def test_masks_listed_out_of_image_order_keep_their_positions(tmp_path: Path) -> None:
    ones = np.ones((2, 2), bool)
    masks = [mask_annotation(ones, "b", 1), mask_annotation(ones, "a", 2),
             mask_annotation(ones, "b", 3)]
    captions = [caption_annotation("a", "<0:x>", "x", [([0], "x")], 1),
                caption_annotation("b", "<1:y>", "y", [([1], "y")], 2)]
    write_pair(tmp_path / "in", "val", [image_info("a", 2, 2), image_info("b", 2, 2)],
               captions, masks)
    convert(tmp_path / "in", "parquet", tmp_path / "pq")
    convert(tmp_path / "pq", "json", tmp_path / "back")
    regrouped = json.loads((tmp_path / "back/annotations/val_mask.json").read_text())
    assert [m["id"] for m in regrouped["annotations"]] == [2, 1, 3]
    assert load(tmp_path / "back", "val")["b"].regions[1].id == 3


def test_unknown_target_and_empty_root(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="coco-panoptic"):
        convert(tmp_path, "csv", tmp_path / "o")
    with pytest.raises(Exception, match="no PanoCaps split"):
        convert(tmp_path, "json", tmp_path / "o")


def rgb_to_id(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.int64)
    return rgb[..., 0] + 256 * rgb[..., 1] + 256 * 256 * rgb[..., 2]


def test_coco_panoptic_export_matches_the_masks(sample_root: Path, tmp_path: Path) -> None:
    result = convert(sample_root, "coco-panoptic", tmp_path / "coco", splits=["val"])
    assert result.overlapping_pixels == 0 and result.dropped_segments == 0
    document = json.loads((tmp_path / "coco/annotations/panoptic_val.json").read_text())
    categories = {c["id"]: c for c in document["categories"]}
    assert categories[8]["name"] == "sky" and categories[8]["isthing"] == 0
    assert categories[16]["name"] == "rocket" and categories[16]["isthing"] == 1
    split = load(sample_root, "val")
    assert [a["image_id"] for a in document["annotations"]] == split.image_ids
    for annotation, sample in zip(document["annotations"], split, strict=True):
        png = np.asarray(Image.open(tmp_path / "coco/panoptic_val" / annotation["file_name"]))
        assert png.shape == (sample.height, sample.width, 3)
        ids = rgb_to_id(png)
        stack = sample.masks().astype(bool)
        segments = annotation["segments_info"]
        assert [s["id"] for s in segments] == [m["id"] for m in sample.mask_annotations]
        # the same checks panopticapi's pq_compute makes, plus exact pixels
        assert set(np.unique(ids)) - {0} == {s["id"] for s in segments}
        for segment, mask, source in zip(segments, stack, sample.mask_annotations, strict=True):
            np.testing.assert_array_equal(ids == segment["id"], mask)
            assert segment["area"] == int(mask.sum()) == source["area"]
            assert segment["bbox"] == source["bbox"]
            assert segment["category_id"] in categories


def test_coco_panoptic_export_resolves_overlaps_and_bad_ids(tmp_path: Path) -> None:
    first = np.zeros((3, 4), bool)
    first[:2] = True
    second = np.zeros((3, 4), bool)
    second[1:] = True
    hidden = np.zeros((3, 4), bool)
    hidden[0, 0] = True
    masks = [mask_annotation(first, "1", 0), mask_annotation(second, "1", 0),
             mask_annotation(hidden, "1", 5)]
    write_pair(tmp_path / "in", "val", [image_info("1", 3, 4)],
               [caption_annotation("1", "<0:a>", "a", [([0], "a")])], masks)
    result = convert(tmp_path / "in", "coco-panoptic", tmp_path / "out")
    assert result.overlapping_pixels == 4 + 1
    assert result.dropped_segments == 1
    document = json.loads((tmp_path / "out/annotations/panoptic_val.json").read_text())
    segments = document["annotations"][0]["segments_info"]
    assert [(s["id"], s["area"], s["bbox"]) for s in segments] == [(1, 8, [0, 0, 4, 2]),
                                                                   (2, 4, [0, 2, 4, 1])]
    ids = rgb_to_id(np.asarray(Image.open(tmp_path / "out/panoptic_val/1.png")))
    np.testing.assert_array_equal(ids, [[1] * 4, [1] * 4, [2] * 4])
