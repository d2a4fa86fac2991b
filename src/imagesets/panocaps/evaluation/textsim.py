"""Phrase similarity of the PanoCaps protocol: normalised identity, WordNet synonyms, embeddings.

A phrase is normalised by lowercasing, stripping one leading "a"/"an"/"the" and a trailing
"-<digits>". Two normalised phrases score 1 when identical; else 1 when both are single words
that share a WordNet synonym (optional step); else the cosine of their sentence embeddings
(a sentence-transformers model), a score looked up in a similarity table, or 0 (``exact``).
Every non-identical pair that was scored is remembered, so :meth:`TextSimilarity.table` can be
saved and replayed later without WordNet or the model.
"""

from __future__ import annotations

import functools
import json
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ImagesetsError, InvalidDataError, MissingDependencyError, require
from ...fsutil import atomic_write_text

OFFICIAL_MODEL = "sentence-transformers/all-mpnet-base-v2"
BACKENDS = ("exact", "wordnet", "sbert", "table")
_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
HUB_TIMEOUT_S = 3.0
_ARTICLE = re.compile(r"^(a|an|the)\s+", flags=re.IGNORECASE)
_NUMBER_SUFFIX = re.compile(r"-\d+$")


@functools.lru_cache(maxsize=1 << 16)
def normalize(text: str) -> str:
    """The protocol's phrase normalisation (lowercase, one leading article, "-<digits>" suffix)."""
    text = _ARTICLE.sub("", text.lower().strip()).strip()
    return _NUMBER_SUFFIX.sub("", text).strip()


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def load_table(path: str | os.PathLike) -> dict[tuple[str, str], float]:
    """Read a similarity table: a JSON list of ``[phrase_a, phrase_b, score]``.

    Keys are stored as written and normalised; lookups try the exact pair first.
    """
    path = Path(path)
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidDataError(f"similarity table {path} does not exist; write one with "
                               "--save-sim-table on an earlier run") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidDataError(f"similarity table {path} is not valid JSON ({exc})") from exc
    if not isinstance(rows, list):
        raise InvalidDataError(f"similarity table {path}: expected a JSON list of "
                               "[phrase_a, phrase_b, score], found a " + type(rows).__name__)
    exact: dict[tuple[str, str], float] = {}
    normalised: dict[tuple[str, str], float] = {}
    for i, row in enumerate(rows):
        if (not isinstance(row, list) or len(row) != 3 or not isinstance(row[0], str)
                or not isinstance(row[1], str) or isinstance(row[2], bool)
                or not isinstance(row[2], (int, float))):
            raise InvalidDataError(f"similarity table {path}: entry {i} is {row!r}; expected "
                                   "[phrase_a, phrase_b, score] (two strings and a number)")
        exact[_pair(row[0], row[1])] = float(row[2])
        normalised.setdefault(_pair(normalize(row[0]), normalize(row[1])), float(row[2]))
    return {**normalised, **exact}


class WordNetSynonyms:
    """Synonym sets of single words as the official code builds them (noun lemma + lemmas)."""

    def __init__(self, nltk_data: str | os.PathLike | None = None) -> None:
        require("nltk", "wordnet", "The WordNet synonym step")
        self.reader = self._reader(nltk_data)
        self._cache: dict[str, frozenset[str]] = {}

    @staticmethod
    def _reader(nltk_data: str | os.PathLike | None) -> Any:
        import nltk

        hint = ("Install the WordNet 3.0 database (Debian/Ubuntu: `apt-get install "
                "wordnet-base wordnet-sense-index`; imagesets then builds the corpus from it), "
                "or run `python -m "
                "nltk.downloader wordnet` (needs internet access once), or pass an nltk_data "
                "folder holding corpora/wordnet with --nltk-data DIR, or switch the WordNet step "
                "off with --no-wordnet")
        if nltk_data is not None:
            folder = Path(nltk_data).resolve()
            if not any((folder / "corpora" / name).exists()
                       for name in ("wordnet", "wordnet.zip")):
                raise MissingDependencyError(
                    f"{folder} is not an nltk_data folder with the WordNet corpus (expected "
                    f"{folder / 'corpora' / 'wordnet'} or wordnet.zip). {hint}")
            if str(folder) not in nltk.data.path:
                nltk.data.path.insert(0, str(folder))
        from nltk.corpus import wordnet

        try:
            nltk.data.find("corpora/wordnet")
        except LookupError:
            WordNetSynonyms._use_system_database(nltk)
        try:
            nltk.data.find("corpora/wordnet")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                wordnet.ensure_loaded()
        except LookupError as exc:
            raise MissingDependencyError(
                "The WordNet synonym step needs nltk's WordNet corpus, which is not installed "
                f"(nltk looked in: {', '.join(map(str, nltk.data.path))}). {hint}") from exc
        return wordnet

    @staticmethod
    def _use_system_database(nltk: Any) -> None:
        """Build the corpus into the data home from a local WordNet database, when there is one."""
        from ...catalog import data_home
        from .wordnet_data import build_nltk_wordnet, find_database

        database = find_database()
        if database is not None:
            folder = str(build_nltk_wordnet(database, data_home() / "nltk_data"))
            if folder not in nltk.data.path:
                nltk.data.path.insert(0, folder)

    def lemmatize(self, word: str) -> str:
        """nltk's WordNetLemmatizer (noun): the shortest morphy lemma, or the word itself."""
        lemmas = self.reader._morphy(word, "n")
        return min(lemmas, key=len) if lemmas else word

    def synonyms(self, word: str) -> frozenset[str]:
        if word not in self._cache:
            lemma = self.lemmatize(word.lower().strip())
            found = {self.lemmatize(name.name().replace("_", " "))
                     for synset in self.reader.synsets(lemma) for name in synset.lemmas()}
            found.add(lemma)
            self._cache[word] = frozenset(found)
        return self._cache[word]

    def same(self, a: str, b: str) -> bool:
        """True for two single words (no space) that share a synonym."""
        return " " not in a and " " not in b and bool(self.synonyms(a) & self.synonyms(b))


def check_backend(backend: str) -> None:
    """Refuse a backend that is neither a known name, a local folder nor a hub id (org/name)."""
    if backend and (backend in BACKENDS or _HUB_ID.match(backend) or os.sep in backend
                    or Path(backend).expanduser().exists()):
        return
    raise ImagesetsError(
        f"unknown text-similarity backend {backend!r}: choose one of {', '.join(BACKENDS)}, "
        f"a Hugging Face model id such as {OFFICIAL_MODEL}, or the path of a local "
        "sentence-transformers model folder")


def _hub_reachable(endpoint: str) -> str | None:
    """None when a TCP connection to the hub endpoint opens within seconds, else why not."""
    import socket
    from urllib.parse import urlparse

    url = urlparse(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=HUB_TIMEOUT_S):
            return None
    except OSError as exc:
        return f"{endpoint} cannot be reached ({exc})"


def locate_model(model: str) -> tuple[str, bool]:
    """``(what to load, local_files_only)`` for a model folder or hub id; raises at once (no
    hub retries) when the model is neither a folder, nor cached, nor downloadable now."""
    folder = Path(model).expanduser()
    if folder.is_dir():
        return str(folder), True
    from huggingface_hub import constants, snapshot_download

    try:
        return snapshot_download(model, local_files_only=True), True
    except (OSError, ValueError):
        pass
    endpoint = os.environ.get("HF_ENDPOINT") or constants.ENDPOINT
    why = ("offline mode is on (HF_HUB_OFFLINE)" if constants.HF_HUB_OFFLINE
           else _hub_reachable(endpoint) if _HUB_ID.match(model)
           else "it is not a folder and not a hub id (org/name)")
    if why is None:
        return model, False
    raise MissingDependencyError(
        f"could not load the sentence-transformers model '{model}': it is not a local folder "
        f"and not in the Hugging Face cache ({constants.HF_HUB_CACHE}), and {why}. Download "
        f"it once where there is network (`hf download {model}`, then copy the cache or the "
        "folder here and pass its path), pick --text-sim exact/wordnet, or replay a saved "
        "table with --sim-table")


class SentenceEmbedder:
    """A sentence-transformers model (hub name or local folder); L2-normalised float32 vectors.

    Loads from a folder or the local cache without touching the network; downloads only when
    the hub answers (see :func:`locate_model`).
    """

    def __init__(self, model: str, device: str | None = None, batch_size: int = 64,
                 location: tuple[str, bool] | None = None) -> None:
        require("sentence_transformers", "sbert", "Embedding phrase similarity")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        source, local_only = location or locate_model(model)
        try:
            self.model = SentenceTransformer(source, device=device,
                                             local_files_only=local_only)
        except (OSError, ValueError) as exc:
            raise ImagesetsError(
                f"could not load the sentence-transformers model '{model}' ({exc}). Give a hub "
                "name that is cached or downloadable, or the path of a local model folder, or "
                "replay a saved table with --sim-table") from exc
        self.name = model
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.model.encode(list(texts), batch_size=self.batch_size,
                                    normalize_embeddings=True, convert_to_numpy=True,
                                    show_progress_bar=False)
        vectors = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, np.float32(1e-12))


class TextSimilarity:
    """Scores normalised phrase pairs, in batches, remembering every non-identical score.

    ``backend``: ``"exact"`` (identity only), ``"wordnet"`` (identity + WordNet), ``"sbert"``
    (identity + WordNet + the official all-mpnet-base-v2 embeddings) or any other string, taken
    as a sentence-transformers model name or local path. ``table`` (pairs → score) replaces the
    embedding step; pairs it lacks score ``table_default``. ``wordnet`` switches the synonym
    step (default: on, except for ``exact`` and with a table, which holds the WordNet results
    of the run that saved it).
    """

    def __init__(self, backend: str = "sbert", *, wordnet: bool | None = None,
                 nltk_data: str | os.PathLike | None = None,
                 table: dict[tuple[str, str], float] | None = None,
                 table_default: float = 0.0, device: str | None = None,
                 batch_size: int = 64) -> None:
        if backend == "table" and table is None:
            raise ImagesetsError("the 'table' similarity needs a table: pass --sim-table FILE")
        check_backend(backend)
        self.backend = backend
        use_wordnet = (backend != "exact" and table is None) if wordnet is None else wordnet
        self.wordnet = WordNetSynonyms(nltk_data) if use_wordnet else None
        self.lookup = table
        self.table_default = float(table_default)
        self._model_name = (None if backend in ("exact", "wordnet") or table is not None
                            else OFFICIAL_MODEL if backend == "sbert" else backend)
        self._device = device
        self._batch_size = batch_size
        self._embedder: SentenceEmbedder | None = None
        self._location: tuple[str, bool] | None = None
        self._scores: dict[tuple[str, str], float] = {}

    def check_model(self) -> None:
        """Find the embedding model now (folder, cache or a reachable hub), so that a missing
        one fails before any work rather than after the masks were measured."""
        if self._model_name is not None and self._location is None:
            require("sentence_transformers", "sbert", "Embedding phrase similarity")
            self._location = locate_model(self._model_name)

    @property
    def description(self) -> str:
        steps = ["identity"]
        if self.wordnet is not None:
            steps.append("WordNet")
        if self.lookup is not None:
            steps.append(f"table (default {self.table_default:g})")
        elif self._model_name:
            steps.append(f"embeddings {self._model_name}")
        return " + ".join(steps)

    def prepare(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Score every pair of normalised phrases not yet known (embeddings in one batch)."""
        pending: list[tuple[str, str]] = []
        for a, b in pairs:
            key = _pair(a, b)
            if a == b or key in self._scores:
                continue
            if self.wordnet is not None and self.wordnet.same(a, b):
                self._scores[key] = 1.0
            elif self.lookup is not None:
                self._scores[key] = self.lookup.get(key, self.lookup.get(
                    _pair(normalize(a), normalize(b)), self.table_default))
            elif self._model_name is None:
                self._scores[key] = 0.0
            else:
                self._scores[key] = float("nan")
                pending.append(key)
        if pending:
            self._embed(pending)

    def _embed(self, pairs: list[tuple[str, str]]) -> None:
        if self._embedder is None:
            self._embedder = SentenceEmbedder(self._model_name, self._device, self._batch_size,
                                              self._location)
        texts = sorted({t for pair in pairs for t in pair})
        index = {t: i for i, t in enumerate(texts)}
        vectors = self._embedder.embed(texts)
        left = vectors[[index[a] for a, _ in pairs]]
        right = vectors[[index[b] for _, b in pairs]]
        for key, score in zip(pairs, np.einsum("ij,ij->i", left, right), strict=True):
            self._scores[key] = float(score)

    def score(self, a: str, b: str) -> float:
        """Similarity of two normalised phrases (scored on demand when not prepared)."""
        if a == b:
            return 1.0
        key = _pair(a, b)
        if key not in self._scores:
            self.prepare([key])
        return self._scores[key]

    def table(self) -> list[list[Any]]:
        """Every non-identical pair scored so far, as sorted ``[a, b, score]`` rows."""
        return [[a, b, s] for (a, b), s in sorted(self._scores.items())]

    def save_table(self, path: str | os.PathLike) -> None:
        """Write :meth:`table` as JSON (atomically); replay it with ``--sim-table``."""
        rows = ",\n".join(json.dumps(row, ensure_ascii=False) for row in self.table())
        atomic_write_text(path, f"[\n{rows}\n]\n" if rows else "[]\n")
