"""Reading a split: both layouts, indexing, phrases/regions, decoding, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from imagesets.errors import InvalidDataError, NotFoundError
from imagesets.panocaps import load, read_split_data, write_parquet

from .builders import chairs_split, mutate, stripes


def test_json_pair_is_read_with_either_mask_file_name(tmp_path: Path) -> None:
    for name in ("{split}_mask.json", "{split}_masks.json"):
        root = chairs_split(tmp_path / name.split("_")[1], mask_file=name)
        split = load(root, "val")
        assert len(split) == 2
        assert split.image_ids == ["00000006", "00000010"]
        assert split.data.sources[1].endswith(name.format(split="val"))


def test_files_directly_in_root_are_found(tmp_path: Path) -> None:
    root = chairs_split(tmp_path / "x")
    flat = tmp_path / "flat"
    (root / "annotations").rename(flat)
    assert len(load(flat, "val")) == 2


def test_indexing_by_position_image_id_and_iteration(chairs_root: Path) -> None:
    split = load(chairs_root, "val")
    assert split[0].image_id == "00000006"
    assert split[-1].image_id == "00000010"
    assert split["00000010"].data_source == "VIPSeg"
    assert [s.image_id for s in split] == ["00000006", "00000010"]
    assert "00000006" in split and "6" not in split
    with pytest.raises(TypeError, match="strings"):
        split.position(6)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="no image '6'"):
        split["6"]
    with pytest.raises(IndexError, match="out of range"):
        split[2]


def test_sample_fields_phrases_and_regions(chairs_root: Path) -> None:
    sample = load(chairs_root, "val")["00000006"]
    assert (sample.height, sample.width, sample.file_name) == (6, 8, "00000006.jpg")
    assert sample.caption == "A white wall behind two red chairs; the left chair."
    assert sample.caption_ann.startswith("<0:A white wall>")
    texts = [p.text for p in sample.phrases]
    assert texts == ["A white wall", "two red chairs", "the left chair"]
    for phrase in sample.phrases:
        assert sample.caption[phrase.start:phrase.end] == phrase.text
        assert phrase.txt_desc == phrase.text
    assert sample.phrases[1].mask_indices == (1, 2)          # one-to-many
    assert sample.phrases[1].span == (20, 34)
    assert [r.phrase_indices for r in sample.regions] == [(0,), (1, 2), (1,)]  # many-to-one
    region = sample.regions[1]
    assert (region.id, region.category_id, region.category_name) == (12, 3, "chair")
    assert region.thing_or_stuff == "thing" and region.area == 16
    assert region.bbox == [0.0, 2.0, 8.0, 2.0]
    assert sample.regions[0].thing_or_stuff == "stuff"
    assert sample.to_dict()["phrases"][1]["span"] == [20, 34]


def test_decoding_matches_the_masks_written(chairs_root: Path) -> None:
    sample = load(chairs_root, "val")["00000006"]
    expected = np.stack(stripes(6, 8, 3)).astype(np.uint8)
    assert sample.masks().shape == (3, 6, 8)
    np.testing.assert_array_equal(sample.masks(), expected)
    np.testing.assert_array_equal(sample.mask(2), expected[2])
    np.testing.assert_array_equal(sample.mask(-1), expected[2])
    np.testing.assert_array_equal(sample.phrase_mask(1), expected[1] | expected[2])
    np.testing.assert_array_equal(sample.phrase_mask(sample.phrases[0]), expected[0])
    panoptic = sample.panoptic_map()
    assert panoptic.dtype == np.int32
    np.testing.assert_array_equal(panoptic, np.argmax(expected, axis=0))
    with pytest.raises(IndexError):
        sample.mask(3)


def test_decoding_is_lazy_and_cached_per_sample(chairs_root: Path) -> None:
    split = load(chairs_root, "val")
    sample = split[0]
    assert sample._decoded is None
    first = sample.masks()
    assert sample.masks() is first
    assert split["00000006"] is sample             # the split keeps recent samples
    uncached = load(chairs_root, "val", cache_size=0)
    assert uncached[0] is not uncached[0]


def test_panoptic_map_marks_void_and_first_mask_wins(tmp_path: Path) -> None:
    from .builders import caption_annotation, image_info, mask_annotation, write_pair

    a = np.zeros((3, 3), bool)
    a[0] = True
    a[1, 0] = True
    b = np.zeros((3, 3), bool)
    b[1] = True
    masks = [mask_annotation(a, "1", 1), mask_annotation(b, "1", 2)]
    write_pair(tmp_path, "val", [image_info("1", 3, 3)],
               [caption_annotation("1", "<0:a>", "a", [([0], "a")])], masks)
    panoptic = load(tmp_path, "val")[0].panoptic_map()
    np.testing.assert_array_equal(panoptic, [[0, 0, 0], [0, 1, 1], [-1, -1, -1]])


def test_image_ids_keep_leading_zeros_through_parquet(chairs_root: Path, tmp_path: Path) -> None:
    path = write_parquet(read_split_data(chairs_root, "val"), tmp_path / "pq")
    table = pq.read_table(path)
    assert table.column("image_id").to_pylist() == ["00000006", "00000010"]
    split = load(tmp_path / "pq", "val")
    assert split.data.format == "parquet"
    assert split["00000006"].phrases == load(chairs_root, "val")["00000006"].phrases


def test_format_option_and_missing_split(chairs_root: Path, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"no PanoCaps split 'test'.*splits present there: val"):
        load(chairs_root, "test")
    with pytest.raises(NotFoundError, match=r"data/val-\*\.parquet"):
        load(chairs_root, "val", format="parquet")
    with pytest.raises(ValueError, match="format must be"):
        load(chairs_root, "val", format="csv")


def test_caption_file_without_mask_file(chairs_root: Path) -> None:
    (chairs_root / "annotations" / "val_mask.json").unlink()
    with pytest.raises(NotFoundError, match=r"no mask file beside it.*val_masks\.json"):
        load(chairs_root, "val")


def test_truncated_json_is_a_clear_error(chairs_root: Path) -> None:
    path = chairs_root / "annotations" / "val_mask.json"
    path.write_text(path.read_text()[:-40])
    with pytest.raises(InvalidDataError, match=r"val_mask\.json is not valid JSON.*line 1"):
        load(chairs_root, "val")


@pytest.mark.parametrize("file, section, key", [
    ("val_caption.json", "images", "height"),
    ("val_caption.json", "annotations", "caption_ann"),
    ("val_mask.json", "annotations", "segmentation"),
])
def test_missing_keys_name_the_file_record_and_key(chairs_root: Path, file: str, section: str,
                                                   key: str) -> None:
    path = chairs_root / "annotations" / file
    document = json.loads(path.read_text())
    del document[section][1][key]
    path.write_text(json.dumps(document))
    with pytest.raises(InvalidDataError, match=rf"{file}: {section}\[1\] lacks the key\(s\) {key}"):
        load(chairs_root, "val")


def test_missing_top_level_key(chairs_root: Path) -> None:
    path = chairs_root / "annotations" / "val_caption.json"
    path.write_text(json.dumps({"images": []}))
    with pytest.raises(InvalidDataError, match="missing top-level key 'annotations'"):
        load(chairs_root, "val")


def test_integer_image_id_is_refused_not_cast(chairs_root: Path) -> None:
    mutate(chairs_root, "val_mask.json", lambda d: d["annotations"][0].update(image_id=6))
    with pytest.raises(InvalidDataError, match=r"image_id is the int 6.*leading zeros"):
        load(chairs_root, "val")


def test_wrong_rle_is_refused_at_decoding(chairs_root: Path) -> None:
    mutate(chairs_root, "val_mask.json", lambda d: d["annotations"][1]["segmentation"].update(
        counts=d["annotations"][1]["segmentation"]["counts"][:-1]))
    sample = load(chairs_root, "val")["00000006"]
    with pytest.raises(InvalidDataError, match=r"run lengths sum to \d+, not h × w = 6 × 8"):
        sample.masks()


def test_rle_of_another_size_is_refused_at_decoding(chairs_root: Path) -> None:
    mutate(chairs_root, "val_caption.json", lambda d: d["images"][0].update(height=7))
    with pytest.raises(InvalidDataError, match=r"RLE size \[6, 8\] is not the image size \[7, 8\]"):
        load(chairs_root, "val")[0].masks()


def test_phrase_naming_a_missing_mask(tmp_path: Path) -> None:
    from .builders import caption_annotation, image_info, mask_annotation, write_pair

    write_pair(tmp_path, "val", [image_info("1", 2, 2)],
               [caption_annotation("1", "<0,4:x>", "x", [([0, 4], "x")])],
               [mask_annotation(np.ones((2, 2), bool), "1", 1)])
    with pytest.raises(InvalidDataError, match=r"names mask\(s\) \[4\].*has 1 masks"):
        load(tmp_path, "val")[0].phrase_mask(0)


def test_parquet_without_a_column_and_garbage_parquet(chairs_root: Path, tmp_path: Path) -> None:
    path = write_parquet(read_split_data(chairs_root, "val"), tmp_path)
    table = pq.read_table(path).drop_columns(["categories"])
    pq.write_table(table, path)
    with pytest.raises(InvalidDataError, match="lacks the PanoCaps column.*categories"):
        load(tmp_path, "val")
    path.write_bytes(b"not parquet at all")
    with pytest.raises(InvalidDataError, match="not a readable Parquet file"):
        load(tmp_path, "val")


def test_numpy_decoding_agrees_with_pycocotools_on_odd_masks() -> None:
    from pycocotools import mask as coco_mask

    from imagesets import masks

    rng = np.random.default_rng(5)
    shapes = [(1, 1), (1, 7), (9, 1), (13, 17), (40, 3)]
    for height, width in shapes:
        stack = [np.zeros((height, width), bool), np.ones((height, width), bool),
                 rng.random((height, width)) > 0.5, rng.random((height, width)) > 0.9]
        rles = [masks.encode(m) for m in stack]
        ours = masks.decode_stack(rles)
        theirs = [coco_mask.decode({"size": r["size"], "counts": r["counts"].encode()})
                  for r in rles]
        assert ours.shape == (4, height, width) and ours.dtype == np.uint8
        for a, b, original in zip(ours, theirs, stack, strict=True):
            np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(a, original)
    with pytest.raises(InvalidDataError, match=r"masks of different sizes"):
        masks.decode_stack([masks.encode(np.ones((2, 2))), masks.encode(np.ones((2, 3)))])
    with pytest.raises(InvalidDataError, match=r"m\[0\]: invalid COCO RLE: run lengths sum"):
        masks.decode_stack([{"size": [2, 2], "counts": [1, 1]}], "m")


@pytest.mark.parametrize("file, change, message", [
    ("val_caption.json", lambda d: d["images"][0].update(height="6"),
     r"images\[0\]\.height is the str '6'; expected a int"),
    ("val_caption.json", lambda d: d["images"][0].update(height=True),
     r"images\[0\]\.height is the bool True"),
    ("val_caption.json", lambda d: d["annotations"][0].update(caption_ann=None),
     r"annotations\[0\]\.caption_ann is the NoneType None; expected a str"),
    ("val_mask.json", lambda d: d["annotations"][2].update(segmentation="abc"),
     r"annotations\[2\]\.segmentation is the str 'abc'; expected a dict"),
    ("val_caption.json", lambda d: d["images"][1].update(id=10),
     r"images\[1\]\.id is the int 10; PanoCaps image ids are strings"),
])
def test_wrong_value_types_are_clear_errors(chairs_root: Path, file: str, change,
                                            message: str) -> None:
    mutate(chairs_root, file, change)
    with pytest.raises(InvalidDataError, match=message):
        load(chairs_root, "val")


def test_slices_give_lists_of_samples(chairs_root: Path) -> None:
    split = load(chairs_root, "val")
    assert [s.image_id for s in split[::-1]] == ["00000010", "00000006"]
    assert split[5:] == []
    with pytest.raises(TypeError, match="slice"):
        split[1.0]  # type: ignore[index]


def test_panoptic_map_with_annotation_ids(chairs_root: Path) -> None:
    sample = load(chairs_root, "val")["00000006"]
    expected = np.repeat([11, 12, 13], 2)[:, None] * np.ones((1, 8), dtype=np.int64)
    np.testing.assert_array_equal(sample.panoptic_map(ids=True), expected)
