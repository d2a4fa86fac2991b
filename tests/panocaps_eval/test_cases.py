"""Hand-computed expectations on small cases (exact phrase similarity, 10 × 10 images)."""

from __future__ import annotations

import pytest

from imagesets.panocaps.evaluation import evaluate

from .builders import box, image, write_prediction, write_split

TOP = box(10, 10, (0, 5), (0, 10))        # 50 px
BOTTOM = box(10, 10, (5, 10), (0, 10))    # 50 px
BOTTOM_LEFT = box(10, 10, (5, 10), (0, 5))  # 25 px, IoU with BOTTOM = 0.5
LEFT = box(10, 10, (0, 10), (0, 2))       # 20 px
CORNER = box(10, 10, (0, 2), (8, 10))     # 4 px


def run(tmp_path, images, predictions, mode="official"):
    write_split(tmp_path, "test", images)
    for image_id, args in predictions.items():
        write_prediction(tmp_path / "pred", image_id, *args)
    return evaluate(tmp_path, "test", tmp_path / "pred", text_sim="exact", mode=mode)


def test_basic_case_official_and_corrected(tmp_path):
    gt = [image("001", [(TOP, "stuff"), (BOTTOM, "stuff"), (LEFT, "thing")],
                [([0], "a red wall"), ([1], "the floor")])]
    pred = {"001": (["red wall", "floor-2"], [TOP, BOTTOM_LEFT])}
    official = run(tmp_path, gt, pred)
    m = official.metrics
    # Entities: wall (IoU 1, sim 1) and floor (IoU 25/50 = 0.5, sim 1: "floor-2" → "floor").
    assert (m["Recall@0.5"], m["Precision@0.5"], m["F1@0.5"]) == (1.0, 1.0, 1.0)
    assert m["gPQ@0.5"] == pytest.approx((1.0 + 0.5) / 2)
    assert m["Mean IoU (mIoU)"] == pytest.approx(0.75)
    # Official AP50: the first GT entity has id 0, which pycocotools treats as unmatched, so the
    # detections are FP, TP: precision 0.5 up to recall 0.5 → 51 of 101 points at 0.5.
    assert m["AP50"] == pytest.approx(51 * 0.5 / 101)
    corrected = run(tmp_path, gt, pred, mode="corrected")
    assert corrected.metrics["AP50"] == pytest.approx(1.0)
    assert corrected.counts == {"images": 1, "evaluated_images": 1, "gt_entities": 2,
                                "pred_entities": 2, "TP": 2, "FP": 0, "FN": 0}
    assert official.by_kind["stuff"]["Recall@0.5"] == 1.0
    assert "thing" not in official.by_kind  # the LEFT mask is not referenced: dropped


def test_one_phrase_many_masks_and_counts(tmp_path):
    gt = [image("001", [(TOP, "thing"), (BOTTOM, "thing")], [([0, 1], "two chairs")])]
    pred = {"001": (["two chairs"], [TOP, BOTTOM], [2])}
    result = run(tmp_path, gt, pred, mode="corrected")
    assert result.counts["gt_entities"] == 2
    assert result.counts["TP"] == 2 and result.counts["FP"] == 0
    assert [e["phrases"] for e in result.details()[0]["ground_truth"]] == [["two chairs"]] * 2


def test_mask_named_twice_is_one_entity_with_both_phrases(tmp_path):
    gt = [image("001", [(TOP, "stuff")], [([0], "wall"), ([0], "white wall"), ([0], "wall")])]
    pred = {"001": (["white wall"], [TOP])}
    result = run(tmp_path, gt, pred, mode="corrected")
    assert result.details()[0]["ground_truth"][0]["phrases"] == ["wall", "white wall"]
    assert result.counts == {"images": 1, "evaluated_images": 1, "gt_entities": 1,
                             "pred_entities": 1, "TP": 1, "FP": 0, "FN": 0}


def test_counts_of_zero_skip_the_phrase(tmp_path):
    gt = [image("001", [(TOP, "stuff"), (BOTTOM, "stuff")], [([0], "cat"), ([1], "tree")])]
    # "dog" has no mask: without honouring the 0, "dog" would take the tree's mask.
    pred = {"001": (["cat", "dog", "tree"], [TOP, BOTTOM], [1, 0, 1])}
    result = run(tmp_path, gt, pred, mode="corrected")
    assert result.counts["TP"] == 2 and result.counts["FP"] == 0
    assert [p["phrases"] for p in result.details()[0]["predictions"]] == [["cat"], ["tree"]]


def test_missing_counts_pair_phrase_i_with_mask_i_and_cut_to_shorter(tmp_path):
    gt = [image("001", [(TOP, "stuff"), (BOTTOM, "stuff")], [([0], "cat"), ([1], "tree")])]
    pred = {"001": (["cat", "tree"], [TOP, BOTTOM, LEFT])}
    result = run(tmp_path, gt, pred, mode="corrected")
    assert result.details()[0]["predicted_masks"] == 2
    assert result.counts["TP"] == 2 and result.counts["FP"] == 0


def test_empty_prediction_counts_every_entity_as_missed(tmp_path):
    gt = [image("001", [(TOP, "stuff")], [([0], "wall")]),
          image("002", [(BOTTOM, "stuff")], [([0], "floor")])]
    pred = {"001": ([], []), "002": (["floor"], [BOTTOM])}
    result = run(tmp_path, gt, pred)
    m = result.metrics
    assert result.counts["TP"] == 1 and result.counts["FN"] == 1 and result.counts["FP"] == 0
    assert m["Recall@0.5"] == 0.5 and m["Precision@0.5"] == 1.0
    assert m["Mean IoU (mIoU)"] == pytest.approx(0.5)  # image 001 scores 0
    # Official AP50: 002's entity is the split's first entity with id... 001's is id 0; 002's
    # is id 1, so the one detection is a TP: precision 1 up to recall 0.5.
    assert m["AP50"] == pytest.approx(51 / 101)


def test_duplicate_predicted_masks_merge_only_with_matching_phrases(tmp_path):
    gt = [image("001", [(TOP, "stuff")], [([0], "wall")])]
    same = run(tmp_path, gt, {"001": (["wall", "The Wall"], [TOP, TOP])}, mode="corrected")
    assert same.counts["pred_entities"] == 1 and same.counts["FP"] == 0
    assert same.details()[0]["predictions"][0]["phrases"] == ["wall", "The Wall"]
    other = run(tmp_path, gt, {"001": (["wall", "car"], [TOP, TOP])}, mode="corrected")
    assert other.counts["pred_entities"] == 2 and other.counts["FP"] == 1


def test_out_of_range_mask_id_is_dropped_and_reported(tmp_path):
    gt = [image("001", [(TOP, "stuff"), (BOTTOM, "thing")], [([0, 7], "wall"), ([1], "dog")])]
    result = run(tmp_path, gt, {"001": (["wall", "dog"], [TOP, BOTTOM])}, mode="corrected")
    assert result.counts["gt_entities"] == 2 and result.counts["TP"] == 2
    assert [p["kind"] for p in result.problems] == ["out-of-range mask id"]
    assert "[7]" in result.problems[0]["message"]


def test_missed_and_extra_phrases(tmp_path):
    gt = [image("001", [(TOP, "stuff"), (BOTTOM, "stuff"), (LEFT, "thing")],
                [([0], "sky"), ([1], "road"), ([2], "pole")])]
    # sky right; road mask right but phrase wrong (sim 0); an extra "bird" on the corner.
    pred = {"001": (["sky", "street", "bird"], [TOP, BOTTOM, CORNER])}
    result = run(tmp_path, gt, pred, mode="corrected")
    c = result.counts
    assert (c["TP"], c["FP"], c["FN"]) == (1, 2, 2)
    m = result.metrics
    assert m["Precision@0.5"] == pytest.approx(1 / 3) and m["Recall@0.5"] == pytest.approx(1 / 3)
    assert m["gPQ@0.5"] == pytest.approx(1.0 / (1 + 0.5 * 4))
    # mIoU: best one-to-one IoU sum = 1 (sky) + 1 (road) + IoU(pole, corner) = 0 → 2 / 3.
    assert m["Mean IoU (mIoU)"] == pytest.approx(2 / 3)
    assert result.by_kind["thing"] == {"gt_entities": 1, "TP": 0, "FN": 1, "Recall@0.5": 0.0,
                                       "mean matched IoU": 0.0, "mean matched sim": 0.0}


def test_tie_between_identical_ground_truth_entities(tmp_path):
    gt = [image("001", [(TOP, "stuff"), (TOP, "stuff")], [([0], "wall"), ([1], "wall")])]
    result = run(tmp_path, gt, {"001": (["wall"], [TOP])})
    assert (result.counts["TP"], result.counts["FN"]) == (1, 1)
    # COCOeval gives a tie to the later ground truth (id 1, not the quirky id 0): a TP.
    assert result.metrics["AP50"] == pytest.approx(51 / 101)


def test_breakdown_by_source(tmp_path):
    gt = [image("a", [(TOP, "stuff")], [([0], "wall")], source="ADE20K"),
          image("b", [(TOP, "thing")], [([0], "car")], source="VIPSeg")]
    result = run(tmp_path, gt, {"a": (["wall"], [TOP]), "b": (["bus"], [TOP])},
                 mode="corrected")
    assert result.by_source["ADE20K"]["Recall@0.5"] == 1.0
    assert result.by_source["VIPSeg"]["Recall@0.5"] == 0.0
    assert result.by_source["VIPSeg"]["FP"] == 1
    assert result.metrics["Recall@0.5"] == 0.5
