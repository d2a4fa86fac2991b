"""The official code's quirks (reproduced in official mode, fixed in corrected) and bad files."""

from __future__ import annotations

import json

import pytest

from imagesets.errors import InvalidDataError, NotFoundError
from imagesets.panocaps.evaluation import evaluate

from .builders import box, image, write_prediction, write_split

TOP = box(10, 10, (0, 5), (0, 10))
BOTTOM = box(10, 10, (5, 10), (0, 10))


def two_images(tmp_path, **kw):
    write_split(tmp_path, "test", [image("001", [(TOP, "stuff")], [([0], "wall")]),
                                   image("002", [(BOTTOM, "stuff")], [([0], "floor")], **kw)])
    write_prediction(tmp_path / "pred", "001", ["wall"], [TOP])
    return tmp_path


def test_missing_prediction_aborts_official_and_counts_empty_in_corrected(tmp_path):
    root = two_images(tmp_path)
    with pytest.raises(NotFoundError) as info:
        evaluate(root, "test", root / "pred", text_sim="exact")
    message = str(info.value)
    assert "1 of 2 images have no prediction" in message and "002.json" in message
    assert "--mode corrected" in message
    result = evaluate(root, "test", root / "pred", text_sim="exact", mode="corrected")
    assert result.counts["FN"] == 1 and result.metrics["Recall@0.5"] == 0.5
    assert [(p["image_id"], p["kind"]) for p in result.problems] == [
        ("002", "missing prediction")]


def test_image_without_caption_is_skipped_officially_and_counted_when_corrected(tmp_path):
    root = two_images(tmp_path, caption=None)
    write_prediction(root / "pred", "002", ["floor"], [BOTTOM])
    official = evaluate(root, "test", root / "pred", text_sim="exact")
    # 002 has no caption annotation: no entities, its prediction is dropped, mIoU counts 0.
    assert official.counts["evaluated_images"] == 1 and official.counts["FP"] == 0
    assert official.metrics["Mean IoU (mIoU)"] == pytest.approx(0.5)
    corrected = evaluate(root, "test", root / "pred", text_sim="exact", mode="corrected")
    assert corrected.counts["evaluated_images"] == 2 and corrected.counts["FP"] == 1
    assert corrected.metrics["Precision@0.5"] == 0.5
    assert any(p["kind"] == "no ground-truth caption" for p in corrected.problems)


def test_split_without_predicted_masks(tmp_path):
    root = two_images(tmp_path)
    write_prediction(root / "pred", "001", ["wall"], [])
    write_prediction(root / "pred", "002", [], [])
    with pytest.raises(InvalidDataError, match="no predicted mask in the whole split"):
        evaluate(root, "test", root / "pred", text_sim="exact")
    result = evaluate(root, "test", root / "pred", text_sim="exact", mode="corrected")
    assert result.metrics == {"AP50": 0.0, "Mean IoU (mIoU)": 0.0, "Recall@0.5": 0.0,
                              "Precision@0.5": 0.0, "F1@0.5": 0.0, "gPQ@0.5": 0.0}


@pytest.mark.parametrize("record, expected", [
    ({"caption": "x", "phrases": ["floor", "sky"], "phrase_seg_counts": [1],
      "pred_masks": [BOTTOM]}, "phrase_seg_counts has 1 entries but there are 2 phrases"),
    ({"caption": "x", "phrases": ["floor"], "phrase_seg_counts": [-1], "pred_masks": []},
     "negative count"),
    ({"caption": "x", "phrases": ["floor"], "pred_masks": [box(12, 10, (0, 5), (0, 5))]},
     "has size [12, 10] but image 002 is [10, 10]"),
    ({"caption": "x", "phrases": ["floor"],
      "pred_masks": [{"size": [10, 10], "counts": "0Z1"}]}, "not a valid COCO RLE"),
    ({"caption": "x", "phrases": ["floor"]}, "missing key(s) pred_masks"),
    ({"caption": 3, "phrases": ["floor"], "pred_masks": []}, "caption must be a string"),
])
def test_bad_prediction_is_an_error_naming_the_image_or_a_reported_skip(tmp_path, record,
                                                                         expected):
    root = two_images(tmp_path)
    (root / "pred" / "002.json").write_text(json.dumps(record))
    with pytest.raises(InvalidDataError) as info:
        evaluate(root, "test", root / "pred", text_sim="exact")
    assert expected in str(info.value) and "002.json" in str(info.value)
    result = evaluate(root, "test", root / "pred", text_sim="exact", mode="corrected")
    assert result.counts["TP"] == 1 and result.counts["FN"] == 1
    assert result.problems[0]["image_id"] == "002"
    assert expected in result.problems[0]["message"]


def test_malformed_json_prediction(tmp_path):
    root = two_images(tmp_path)
    (root / "pred" / "002.json").write_text('{"caption": "x", "phrases": [')
    with pytest.raises(InvalidDataError, match=r"002\.json is not valid JSON"):
        evaluate(root, "test", root / "pred", text_sim="exact")


def test_ground_truth_mask_of_wrong_size_is_an_error(tmp_path):
    write_split(tmp_path, "test", [image("001", [(box(8, 10, (0, 4), (0, 4)), "stuff")],
                                         [([0], "wall")])])
    write_prediction(tmp_path / "pred", "001", ["wall"], [TOP])
    with pytest.raises(InvalidDataError, match="image 001, mask 0: RLE size"):
        evaluate(tmp_path, "test", tmp_path / "pred", text_sim="exact")


def test_masks_file_name_with_s_is_accepted(tmp_path):
    write_split(tmp_path, "test", [image("001", [(TOP, "stuff")], [([0], "wall")])],
                mask_name="{split}_masks.json")
    write_prediction(tmp_path / "pred", "001", ["wall"], [TOP])
    result = evaluate(tmp_path, "test", tmp_path / "pred", text_sim="exact", mode="corrected")
    assert result.metrics["AP50"] == pytest.approx(1.0)


def test_single_json_and_jsonl_prediction_files(tmp_path):
    root = two_images(tmp_path)
    write_prediction(root / "pred", "002", ["floor"], [BOTTOM])
    records = [json.loads((root / "pred" / f"{i}.json").read_text()) for i in ("001", "002")]
    extra = {"image_id": "999", "caption": "", "phrases": [], "pred_masks": []}
    (root / "all.json").write_text(json.dumps(records + [extra]))
    (root / "all.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    folder = evaluate(root, "test", root / "pred", text_sim="exact")
    as_json = evaluate(root, "test", root / "all.json", text_sim="exact")
    as_jsonl = evaluate(root, "test", root / "all.jsonl", text_sim="exact")
    assert folder.metrics == as_json.metrics == as_jsonl.metrics
    assert as_json.settings["ignored_prediction_records"] == ["999"]


@pytest.mark.parametrize("text, expected", [
    ('[{"image_id": 1, "caption": "", "phrases": [], "pred_masks": []}]', "are strings"),
    ('[{"caption": "", "phrases": [], "pred_masks": []}]', "record 0 has no image_id"),
    ('{"image_id": "001"}\n{"image_id": "001"}\n', "two records for image '001'"),
    ('{"image_id": "001"}\nnot json\n', "line 2 is not valid JSON"),
])
def test_bad_prediction_record_files(tmp_path, text, expected):
    root = two_images(tmp_path)
    (root / "preds.jsonl").write_text(text)
    with pytest.raises(InvalidDataError, match=expected):
        evaluate(root, "test", root / "preds.jsonl", text_sim="exact")


def test_missing_prediction_path(tmp_path):
    root = two_images(tmp_path)
    with pytest.raises(NotFoundError, match="no predictions at"):
        evaluate(root, "test", root / "nowhere", text_sim="exact")
