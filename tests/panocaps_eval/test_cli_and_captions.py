"""``imagesets evaluate panocaps`` end to end, and the caption metrics (with and without Java)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from imagesets.cli.main import main
from imagesets.panocaps.evaluation import evaluate
from imagesets.panocaps.evaluation.captions import caption_metrics, simple_tokenize

from .builders import box, image, write_prediction, write_split

TOP = box(10, 10, (0, 5), (0, 10))
BOTTOM = box(10, 10, (5, 10), (0, 10))


@pytest.fixture
def split(tmp_path):
    write_split(tmp_path, "test", [
        image("001", [(TOP, "stuff"), (BOTTOM, "thing")], [([0], "wall"), ([1], "dog")],
              caption="A white wall above a dog."),
        image("002", [(TOP, "stuff")], [([0], "sky")], source="VIPSeg",
              caption="Blue sky over the city.")])
    write_prediction(tmp_path / "pred", "001", ["wall", "cat"], [TOP, BOTTOM],
                     caption="A white wall above a dog.")
    write_prediction(tmp_path / "pred", "002", ["sky"], [TOP], caption="A grey sky, a city.")
    return tmp_path


def test_cli_prints_metrics_and_writes_json_and_details(split, capsys):
    code = main(["evaluate", "panocaps", "--root", str(split), "--split", "test", "--pred",
                 str(split / "pred"), "--text-sim", "exact", "--mode", "corrected",
                 "--json", str(split / "out.json"), "--details", str(split / "per_image.json"),
                 "--workers", "1", "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    assert "mode corrected" in out and "By data source" in out and "VIPSeg" in out
    for name in ("AP50", "Mean IoU (mIoU)", "Recall@0.5", "Precision@0.5", "F1@0.5", "gPQ@0.5"):
        assert name in out
    written = json.loads((split / "out.json").read_text())
    assert written["counts"]["TP"] == 2 and written["counts"]["FN"] == 1
    assert written["metrics"]["Recall@0.5"] == pytest.approx(2 / 3)
    details = json.loads((split / "per_image.json").read_text())
    assert [d["image_id"] for d in details] == ["001", "002"]
    assert details[0]["matches"][1] == {"gt": 1, "pred": 1, "iou": 1.0, "sim": 0.0,
                                        "true_positive": False}


def test_cli_error_is_one_line_and_exit_1(split):
    os.remove(split / "pred" / "002.json")
    run = subprocess.run([sys.executable, "-m", "imagesets.cli.main", "evaluate", "panocaps",
                          "--root", str(split), "--pred", str(split / "pred"), "--text-sim",
                          "exact", "--quiet"], capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stderr.startswith("imagesets: error: 1 of 2 images have no prediction")
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr


def test_caption_metrics_with_java_include_meteor():
    assert shutil.which("java"), "the test machine has Java (Debian default-jre)"
    same = caption_metrics({"1": "A dog runs.", "2": "Two red cars."},
                           {"1": "A dog runs.", "2": "Two red cars."})
    assert same["tokenizer"] == "ptb" and same["images"] == 2
    assert same["BLEU-1"] == pytest.approx(1.0) and same["ROUGE-L"] == pytest.approx(1.0)
    assert same["METEOR"] == pytest.approx(1.0, abs=0.01)


def test_caption_metrics_without_java_use_the_simple_tokenizer(split, monkeypatch):
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))
    result = evaluate(split, "test", split / "pred", text_sim="exact", captions=True)
    assert result.captions["images"] == 2 and "METEOR" not in result.captions
    assert 0 < result.captions["BLEU-1"] < 1
    refs = {"1": "A white wall, above a dog.", "2": "Blue sky over the city."}
    scores = caption_metrics(refs, {"1": "a white wall above a dog", "2": "A grey sky."})
    assert scores["tokenizer"] == "simple" and "METEOR" not in scores
    assert simple_tokenize("A white wall, above a dog.") == "a white wall above a dog"
    assert simple_tokenize("It's a well-lit room... (nice)") == "it 's a well-lit room nice"
    assert simple_tokenize("Don't") == "do n't"
    assert 0 < scores["BLEU-1"] < 1 and 0 < scores["CIDEr"]
