"""Every validation rule, each triggered on purpose on an otherwise valid split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagesets.panocaps import load, validate_split

from .builders import mask_annotation, mutate, rle_of

# The broken splits here disagree on purpose; load()'s one-line warning about it is tested in
# test_split_contract.py.
pytestmark = pytest.mark.filterwarnings("ignore::imagesets.panocaps.CaptionMismatchWarning")


def codes(root: Path, images_dir: Path | None = None) -> dict[str, list[str]]:
    report = validate_split(load(root, "val"), images_dir)
    out: dict[str, list[str]] = {}
    for problem in report.problems:
        out.setdefault(problem.code, []).append(problem.image_id)
    return out


def test_valid_split_has_only_the_ungrounded_warning(chairs_root: Path) -> None:
    report = validate_split(load(chairs_root, "val"))
    assert report.ok and not report.errors
    assert [(p.code, p.image_id) for p in report.warnings] == [("ungrounded_region",
                                                                "00000010")]
    assert "mask 1" in report.warnings[0].message
    # 6 masks, 5 named by a phrase (image 00000010's middle band is not)
    assert report.stats["grounded_regions"] == 5
    assert report.stats["grounded_fraction"] == round(5 / 6, 4)
    assert report.stats["mean_coverage"] == 1.0 and report.stats["min_coverage"] == 1.0
    assert report.stats["phrases"] == 5 and report.stats["masks"] == 6


def test_embedded_sample_is_valid_with_its_photos(sample_root: Path, photos_dir: Path) -> None:
    for split in ("train", "val"):
        report = validate_split(load(sample_root, split), photos_dir)
        assert report.ok, report.format_text()
        assert {p.code for p in report.problems} == {"ungrounded_region"}


@pytest.mark.parametrize("change, code, image_id", [
    (lambda d: d["images"].append(dict(d["images"][0])), "duplicate_image_id", "00000006"),
    (lambda d: d["annotations"][1].update(id=1), "duplicate_caption_id", "00000006"),
    (lambda d: d["annotations"].append(dict(d["annotations"][0], id=9)), "duplicate_caption",
     "00000006"),
    (lambda d: d["annotations"].append(dict(d["annotations"][0], image_id="00000099", id=9)),
     "caption_unknown_image", "00000099"),
    (lambda d: d["annotations"].pop(1), "masks_without_caption", "00000010"),
    (lambda d: d["images"][0].pop("data_source"), "missing_key", "00000006"),
    (lambda d: d["annotations"][0].pop("labels"), "missing_key", "00000006"),
    (lambda d: d["annotations"][0].update(caption="A white wall behind two chairs."),
     "caption_mismatch", "00000006"),
    (lambda d: d["annotations"][0]["label_matched"].pop(), "tag_count_mismatch", "00000006"),
    (lambda d: d["annotations"][1].update(caption_ann="Top <0:band> and <5:bottom band>."),
     "mask_index_out_of_range", "00000010"),
    (lambda d: d["annotations"][1]["label_matched"][1].update(mask_ids=[1]),
     "tag_mask_mismatch", "00000010"),
    (lambda d: d["annotations"][1]["label_matched"][0].update(txt_desc="a band"),
     "tag_text_mismatch", "00000010"),
    (lambda d: d["annotations"][1].update(caption_ann="Top <0 band> and <2:bottom band>."),
     "malformed_tag", "00000010"),
])
def test_caption_file_rules(chairs_root: Path, change, code: str, image_id: str) -> None:
    mutate(chairs_root, "val_caption.json", change)
    found = codes(chairs_root)
    assert image_id in found.get(code, []), found
    assert not validate_split(load(chairs_root, "val")).ok


def test_caption_without_masks_and_masks_of_unknown_image(chairs_root: Path) -> None:
    def change(document: dict) -> None:
        for mask in document["annotations"]:
            if mask["image_id"] == "00000010":
                mask["image_id"] = "00000011"

    mutate(chairs_root, "val_mask.json", change)
    found = codes(chairs_root)
    assert found["caption_without_masks"] == ["00000010"]
    assert found["mask_unknown_image"] == ["00000011"]


def test_image_with_neither_caption_nor_masks_is_a_warning(chairs_root: Path) -> None:
    mutate(chairs_root, "val_caption.json",
           lambda d: d["images"].append(dict(d["images"][1], id="00000077")))
    report = validate_split(load(chairs_root, "val"))
    assert ("empty_image", "00000077") in [(p.code, p.image_id) for p in report.warnings]
    assert report.ok


@pytest.mark.parametrize("change, code, fragment", [
    (lambda d: d["annotations"][1]["segmentation"].update(
        counts=d["annotations"][1]["segmentation"]["counts"][:-1]), "invalid_rle",
     "run lengths sum to"),
    (lambda d: d["annotations"][1].update(segmentation=rle_of(np.ones((7, 8), bool))),
     "rle_size_mismatch", "RLE size [7, 8] ≠ image size [6, 8]"),
    (lambda d: d["annotations"][1].update(area=15), "area_mismatch", "area 15 ≠ 16"),
    (lambda d: d["annotations"][1].update(bbox=[0, 2, 8, 3]), "bbox_mismatch",
     "bbox [0, 2, 8, 3] ≠ [0.0, 2.0, 8.0, 2.0]"),
    (lambda d: d["annotations"][1].update(category_id=42), "unknown_category", "category_id 42"),
    (lambda d: d["annotations"][1].update(id=11), "duplicate_mask_id", "id 11 used twice"),
    (lambda d: d["annotations"][1].pop("iscrowd"), "missing_key", "lacks iscrowd"),
])
def test_mask_file_rules(chairs_root: Path, change, code: str, fragment: str) -> None:
    mutate(chairs_root, "val_mask.json", change)
    report = validate_split(load(chairs_root, "val"))
    messages = [p.message for p in report.errors if p.code == code]
    assert messages and fragment in messages[0], report.format_text()
    assert all(p.image_id == "00000006" for p in report.errors)


def test_mask_id_shared_between_images_is_a_warning(chairs_root: Path) -> None:
    mutate(chairs_root, "val_mask.json", lambda d: d["annotations"][3].update(id=11))
    report = validate_split(load(chairs_root, "val"))
    assert [p.code for p in report.warnings].count("shared_mask_id") == 1
    assert report.ok


def test_overlapping_regions_with_pixel_count(chairs_root: Path) -> None:
    grown = np.zeros((6, 8), bool)
    grown[0:3] = True                       # wall band is rows 0-1: one extra row of 8 pixels
    grown[3, :2] = True                     # and 2 pixels of the next band below that
    mutate(chairs_root, "val_mask.json", lambda d: d["annotations"].__setitem__(
        0, mask_annotation(grown, "00000006", 11, 2, "stuff")))
    report = validate_split(load(chairs_root, "val"))
    overlaps = [p for p in report.errors if p.code == "overlapping_regions"]
    expected = int((grown & np.isin(np.arange(6), [2, 3])[:, None]).sum())
    assert expected == 10
    assert [p.message for p in overlaps] == [f"masks 0 and 1 share {expected} pixels"]


def test_low_coverage_and_coverage_figures(chairs_root: Path) -> None:
    def change(document: dict) -> None:
        small = np.zeros((4, 5), bool)
        small[0, 0] = True
        document["annotations"][3:6] = [mask_annotation(small, "00000010", 20)]

    mutate(chairs_root, "val_mask.json", change)
    mutate(chairs_root, "val_caption.json", lambda d: d["annotations"][1].update(
        caption_ann="Top <0:band>.", caption="Top band.", label_matched=[
            {"mask_ids": [0], "txt_desc": "band"}]))
    report = validate_split(load(chairs_root, "val"))
    assert [(p.code, p.image_id) for p in report.warnings] == [("low_coverage", "00000010")]
    assert "5.0%" in report.warnings[0].message
    assert report.stats["min_coverage"] == 0.05
    assert report.stats["mean_coverage"] == round((1.0 + 0.05) / 2, 4)
    assert report.stats["grounded_fraction"] == 1.0


def test_images_dir_missing_unreadable_and_wrong_size(chairs_root: Path, tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (8, 5)).save(images / "00000006.jpg")        # annotations say 6 × 8
    found = codes(chairs_root, images)
    assert found["image_size_mismatch"] == ["00000006"]
    assert found["image_missing"] == ["00000010"]
    (images / "00000010.jpg").write_bytes(b"not an image")
    Image.new("RGB", (8, 6)).save(images / "00000006.jpg")
    found = codes(chairs_root, images)
    assert found["image_unreadable"] == ["00000010"]
    assert "image_size_mismatch" not in found


def test_report_text_and_json(chairs_root: Path) -> None:
    mutate(chairs_root, "val_mask.json", lambda d: d["annotations"][1].update(area=15))
    report = validate_split(load(chairs_root, "val"))
    text = report.format_text()
    assert "FAILED: 1 error(s)" in text and "area_mismatch" in text
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is False and data["errors"] == 1
    assert data["problem_counts"] == {"area_mismatch": 1, "ungrounded_region": 1}
    assert data["problems"][0]["image_id"] == "00000006"


@pytest.mark.parametrize("entry", [{"mask_ids": ["0"], "txt_desc": "band"},
                                   {"mask_ids": [0]}, "band", {"mask_ids": 0, "txt_desc": "x"}])
def test_malformed_label_matched_entries_are_reported_not_fatal(chairs_root: Path,
                                                                entry: object) -> None:
    mutate(chairs_root, "val_caption.json",
           lambda d: d["annotations"][1]["label_matched"].__setitem__(0, entry))
    split = load(chairs_root, "val")
    phrase = split["00000010"].phrases[0]
    assert phrase.text == "band" and phrase.mask_indices == (0,)
    report = validate_split(split)
    found = [p for p in report.errors if p.code == "invalid_label_matched"]
    assert [p.image_id for p in found] == ["00000010"]
    assert "label_matched[0]" in found[0].message


def test_missing_images_folder_is_one_clear_error(chairs_root: Path, tmp_path: Path) -> None:
    from imagesets.errors import NotFoundError

    with pytest.raises(NotFoundError, match="images folder .*nowhere does not exist"):
        validate_split(load(chairs_root, "val"), tmp_path / "nowhere")
