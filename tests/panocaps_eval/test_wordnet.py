"""WordNet synonyms for real: nltk's corpus built offline from Debian's wordnet-base database."""

from __future__ import annotations

import nltk
import pytest

from imagesets.panocaps.evaluation import TextSimilarity, evaluate
from imagesets.panocaps.evaluation.wordnet_data import build_nltk_wordnet, find_database

from .builders import box, image, write_prediction, write_split

TOP, BOTTOM = box(10, 10, (0, 5), (0, 10)), box(10, 10, (5, 10), (0, 10))


@pytest.fixture()
def isolated_nltk_path(monkeypatch):
    """nltk sees no corpus but what the test builds (no user-wide nltk_data)."""
    monkeypatch.setattr(nltk.data, "path", [])


def test_system_database_is_installed_for_the_suite():
    database = find_database()
    assert database is not None, ("the WordNet 3.0 database is missing: "
                                  "`apt-get install wordnet-base wordnet-sense-index` "
                                  "(scripts/install-test-deps)")
    assert (database / "data.noun").stat().st_size > 10_000_000


def test_corpus_built_into_the_data_home_gives_synonyms(imagesets_home, isolated_nltk_path):
    sim = TextSimilarity("wordnet")
    corpus = imagesets_home / "nltk_data" / "corpora" / "wordnet"
    assert (corpus / "lexnames").read_text().splitlines()[5] == "05\tnoun.animal\t1"
    assert sim.wordnet.same("couch", "sofa") and sim.wordnet.same("cars", "automobile")
    assert not sim.wordnet.same("couch", "car")
    assert not sim.wordnet.same("red couch", "sofa")
    assert sim.wordnet.reader.synsets("dog")[0].lexname() == "noun.animal"


def test_incomplete_database_is_not_used(tmp_path):
    partial = tmp_path / "dict"
    partial.mkdir()
    (partial / "data.noun").write_text("")
    assert find_database((str(partial),)) is None


def test_build_is_complete_or_absent(tmp_path):
    database = find_database()
    built = build_nltk_wordnet(database, tmp_path / "nltk_data")
    files = sorted(p.name for p in (built / "corpora" / "wordnet").iterdir())
    assert {"data.noun", "index.noun", "noun.exc", "lexnames"} <= set(files)
    assert [p.name for p in (built / "corpora").iterdir()] == ["wordnet"]
    assert build_nltk_wordnet(database, built) == built


def test_synonym_phrase_counts_as_a_true_positive(tmp_path, isolated_nltk_path):
    write_split(tmp_path, "test", [image("001", [(TOP, "thing"), (BOTTOM, "stuff")],
                                         [([0], "a sofa"), ([1], "grass")])])
    write_prediction(tmp_path / "pred", "001", ["couch", "car"], [TOP, BOTTOM])
    exact = evaluate(tmp_path, "test", tmp_path / "pred", text_sim="exact")
    synonyms = evaluate(tmp_path, "test", tmp_path / "pred", text_sim="wordnet")
    assert exact.metrics["Recall@0.5"] == 0.0
    assert synonyms.metrics["Recall@0.5"] == 0.5
    assert synonyms.metrics["Precision@0.5"] == 0.5
