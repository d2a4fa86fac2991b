"""The writer side (write_prediction, prediction_from_text), single/plural breakdown, missing
label_matched, a short repr, and text-similarity backends that fail at once."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from imagesets.errors import ImagesetsError, InvalidDataError
from imagesets.panocaps import prediction_from_text, write_prediction
from imagesets.panocaps.evaluation import BACKENDS, TextSimilarity, evaluate

from .builders import box, image, write_split

TOP = box(10, 10, (0, 5), (0, 10))
BOTTOM = box(10, 10, (5, 10), (0, 10))
LEFT = box(10, 10, (0, 10), (0, 2))


def decoded(rle: dict) -> np.ndarray:
    return coco_mask.decode({"size": rle["size"], "counts": rle["counts"].encode()})


def rectangle(rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
    mask = np.zeros((10, 10), dtype=np.uint8)
    mask[rows[0]:rows[1], cols[0]:cols[1]] = 1
    return mask


def test_write_prediction_round_trips_through_the_evaluator(tmp_path):
    write_split(tmp_path, "test", [image("001", [(TOP, "stuff"), (BOTTOM, "stuff")],
                                         [([0], "a wall"), ([1], "the floor")])])
    masks = np.stack([rectangle((0, 5), (0, 10)), rectangle((5, 10), (0, 10))]) * 255
    path = write_prediction(tmp_path / "pred", "001", "a wall over the floor",
                            ["wall", "floor"], masks)
    record = json.loads(path.read_text())
    assert path.name == "001.json" and set(record) == {"image_id", "caption", "phrases",
                                                       "pred_masks"}
    assert all(isinstance(r["counts"], str) for r in record["pred_masks"])
    np.testing.assert_array_equal(decoded(record["pred_masks"][1]), masks[1] > 0)
    result = evaluate(tmp_path, "test", tmp_path / "pred", text_sim="exact")
    assert result.metrics["Recall@0.5"] == 1.0 and result.counts["TP"] == 2
    again = write_prediction(tmp_path / "pred", "001", "walls", ["walls"], [TOP, BOTTOM], [2])
    assert json.loads(again.read_text())["phrase_seg_counts"] == [2]
    assert [p.name for p in (tmp_path / "pred").iterdir()] == ["001.json"]  # no temp files


@pytest.mark.parametrize("args, message", [
    ((["a"], [TOP, BOTTOM], None), "1 phrases but 2 masks"),
    ((["a", "b"], [TOP], [1, 1]), "summing to the number of masks"),
    ((["a"], [np.zeros((2, 2, 2))], None), "expected a binary H × W mask"),
    ((["a"], [{"size": [10, 10], "counts": "??"}], None), "invalid COCO RLE"),
])
def test_write_prediction_refuses_inconsistent_input(tmp_path, args, message):
    with pytest.raises(InvalidDataError, match=message):
        write_prediction(tmp_path, "001", "x", *args)
    assert not list(tmp_path.iterdir())


def test_prediction_from_text_follows_the_writer_rules():
    masks = [rectangle((0, k + 1), (0, 10)) for k in range(6)]
    text = ("[SEG] A <p>red\ncar</p> [SEG] near <p>a tree</p> and\n<p>two dogs</p>"
            " [SEG] [SEG] under <p>the sky</p>")
    record = prediction_from_text(text, masks)
    # The orphan [SEG] takes mask 0 (dropped), the car mask 1, "a tree" has no [SEG], the dogs
    # masks 2 and 3, "the sky" has none; masks 4 and 5 are surplus.
    assert record["caption"] == "A red car near a tree and two dogs under the sky"
    assert record["phrases"] == ["red car", "two dogs"]
    assert record["phrase_seg_counts"] == [1, 2]
    assert [decoded(r).sum() for r in record["pred_masks"]] == [20, 30, 40]
    counted = prediction_from_text("<p> cups </p> [SEG] and <p> a plate </p> [SEG] .", masks,
                                   [3, 2])
    assert (counted["caption"], counted["phrases"]) == ("cups and a plate.", ["cups", "a plate"])
    assert counted["phrase_seg_counts"] == [3, 2]
    assert [decoded(r).sum() for r in counted["pred_masks"]] == [10, 20, 30, 40, 50]
    short = prediction_from_text("<p>cups</p>[SEG] and <p>a plate</p>[SEG]", masks[:1])
    assert (short["phrases"], short["phrase_seg_counts"]) == (["cups"], [1])


def test_single_plural_breakdown_in_result_and_cli_json(tmp_path):
    write_split(tmp_path, "test", [image("001", [(TOP, "thing"), (BOTTOM, "thing"),
                                                 (LEFT, "stuff")],
                                         [([0, 1], "two boxes"), ([2], "a pole")])])
    write_prediction(tmp_path / "pred", "001", "x", ["two boxes", "pole"], [TOP, LEFT])
    result = evaluate(tmp_path, "test", tmp_path / "pred", text_sim="exact")
    assert result.by_plurality["plural"]["gt_entities"] == 2
    assert result.by_plurality["plural"]["TP"] == 1
    assert result.by_plurality["single"] == {**result.by_plurality["single"],
                                             "gt_entities": 1, "TP": 1, "Recall@0.5": 1.0}
    assert result.to_dict()["by_plurality"] == result.by_plurality
    out = tmp_path / "result.json"
    run = subprocess.run([sys.executable, "-m", "imagesets.cli.main", "evaluate", "panocaps",
                          "--root", str(tmp_path), "--pred", str(tmp_path / "pred"), "--text-sim",
                          "exact", "--json", str(out), "--quiet", "--workers", "1"],
                         capture_output=True, text=True, check=True)
    assert "single / plural" in run.stdout
    assert json.loads(out.read_text())["by_plurality"]["plural"]["TP"] == 1
    text = repr(result)
    assert len(text.splitlines()) <= 5 and "counts" not in text and "gPQ@0.5" in text
    assert len(text) < 600


def test_caption_without_label_matched_is_a_problem_not_zero_entities(tmp_path):
    write_split(tmp_path, "test", [image("001", [(TOP, "thing")], [([0], "a box")]),
                                   image("002", [(BOTTOM, "thing")], [([0], "a pole")])])
    captions = tmp_path / "annotations" / "test_caption.json"
    document = json.loads(captions.read_text())
    del document["annotations"][1]["label_matched"]
    captions.write_text(json.dumps(document))
    write_prediction(tmp_path / "pred", "001", "x", ["box"], [TOP])
    write_prediction(tmp_path / "pred", "002", "x", ["pole"], [BOTTOM])
    with pytest.raises(InvalidDataError, match="image 002: its caption annotation has no "
                                               "label_matched"):
        evaluate(tmp_path, "test", tmp_path / "pred", text_sim="exact")
    result = evaluate(tmp_path, "test", tmp_path / "pred", text_sim="exact", mode="corrected")
    assert [p["kind"] for p in result.problems] == ["no label_matched"]
    assert result.counts["evaluated_images"] == 1
    assert (result.counts["FP"], result.metrics["Precision@0.5"]) == (0, 1.0)


@pytest.mark.parametrize("name", ["sbertt", ""])
def test_unknown_backend_lists_the_backends(name):
    with pytest.raises(ImagesetsError) as info:
        TextSimilarity(name)
    assert f"unknown text-similarity backend {name!r}" in str(info.value)
    assert all(backend in str(info.value) for backend in BACKENDS)


def test_model_missing_locally_fails_at_once_without_network(tmp_path, monkeypatch):
    write_split(tmp_path, "test", [image("001", [(TOP, "thing")], [([0], "a box")])])
    write_prediction(tmp_path / "pred", "001", "x", ["crate"], [TOP])
    with socket.socket() as probe:            # a local port nobody listens on: refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    start = time.monotonic()
    with pytest.raises(ImagesetsError) as info:
        evaluate(tmp_path, "test", tmp_path / "pred", text_sim="imagesets-test/absent-model",
                 wordnet=False)
    assert time.monotonic() - start < 30          # was 81 s of hub retries
    message = str(info.value)
    assert "imagesets-test/absent-model" in message and "cannot be reached" in message
    assert "hf download imagesets-test/absent-model" in message
