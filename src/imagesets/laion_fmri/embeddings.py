"""Pretrained image embeddings of the stimuli (CLIP, DINOv2, PEcore, SigLIP2), looked up by name.

Each model's matrix is read into memory once (25,052 x 1024 float16 is 51 MB) and rows are
found through a hash index of that file's own ``image_ids``, so a lookup of 1,000 names is one
vectorised gather instead of 1,000 HDF5 reads, and files are never assumed to share an order.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import h5py
import numpy as np
import pandas as pd

from ..errors import InvalidDataError, NotFoundError, require
from .config import resolve_data_dir
from .layout import MODELS, embeddings_key, required_file

SEARCH_BLOCK_ROWS = 8192
SEARCH_BLOCK_QUERIES = 1024
#: Models shipped with the release (the ``desc-`` token of their file names), as published.
AVAILABLE_MODELS = tuple(MODELS)


class UnknownModelError(NotFoundError, ValueError):
    """A model name that is not one of :data:`AVAILABLE_MODELS` (a ValueError, as published,
    and a KeyError like imagesets' other lookups)."""


class Neighbours(NamedTuple):
    """Nearest neighbours of one query (1-D fields) or several (2-D: one row per query)."""

    names: np.ndarray
    scores: np.ndarray
    indices: np.ndarray


def select_models(models: str | Iterable[str]) -> tuple[str, ...]:
    """``"all"``, one model name or several, checked against the release's models."""
    chosen = tuple(MODELS) if models == "all" else (
        (models,) if isinstance(models, str) else tuple(models))
    unknown = [m for m in chosen if m not in MODELS]
    if unknown or not chosen:
        raise UnknownModelError(f"unknown embedding model(s) {unknown or list(chosen)}; the "
                                f"models are {', '.join(MODELS)} (or 'all')")
    return chosen


def missing_names(names: Sequence[str], positions: np.ndarray, where: str) -> NotFoundError:
    """A KeyError for names that have no row, showing a few of them."""
    missing = [names[i] for i in np.flatnonzero(positions < 0)[:5]]
    count = int((positions < 0).sum())
    return NotFoundError(f"{count} image name(s) not found in {where}, e.g. "
                         f"{', '.join(repr(m) for m in missing)}; names are stimulus file names "
                         f"like 'shared_12rep_LAION_cluster_1003_i0.jpg'")


class Embeddings:
    """Embedding matrices of one or more models, read once, indexed by image name."""

    def __init__(self, models: str | Iterable[str] = "all",
                 data_dir: str | os.PathLike | None = None) -> None:
        self.data_dir = resolve_data_dir(data_dir)
        self._models = select_models(models)
        self._paths = {m: required_file(self.data_dir / embeddings_key(m), f"{m} embeddings",
                                        "embeddings") for m in self._models}
        self._matrix: dict[str, np.ndarray] = {}
        self._ids: dict[str, np.ndarray] = {}
        self._index: dict[str, dict[str, int]] = {}
        self._valid: dict[str, np.ndarray] = {}
        self._norms: dict[str, np.ndarray] = {}
        self._faiss: dict[str, object] = {}

    def __enter__(self) -> Embeddings:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop the matrices read so far (they are read again when needed)."""
        for cache in (self._matrix, self._ids, self._index, self._valid, self._norms, self._faiss):
            cache.clear()

    @property
    def models(self) -> list[str]:
        """The models this object covers, in the order asked for."""
        return list(self._models)

    @property
    def image_ids(self) -> np.ndarray:
        """Image names in the row order of the first model's file."""
        return self.ids(self._models[0])

    def ids(self, model: str) -> np.ndarray:
        """Image names in the row order of ``model``'s file."""
        self._load(model)
        return self._ids[model]

    def valid(self, model: str) -> np.ndarray:
        """The file's per-row ``valid`` flags."""
        self._load(model)
        return self._valid[model]

    def __len__(self) -> int:
        return len(self.image_ids)

    def __contains__(self, item: object) -> bool:
        """``"CLIP" in emb`` (a loaded model) or ``("CLIP", name) in emb`` (a row of it)."""
        if isinstance(item, str):
            return item in self._models
        if isinstance(item, tuple) and len(item) == 2 and item[0] in self._models:
            self._load(item[0])
            return isinstance(item[1], str) and item[1] in self._index[item[0]]
        return False

    def __getitem__(self, model: str) -> np.ndarray:
        """The whole ``(N, D)`` float16 matrix of ``model`` (read-only, in file row order)."""
        self._load(model)
        return self._matrix[model]

    def indices(self, model: str, names: str | Sequence[str]) -> np.ndarray:
        """Row positions of ``names`` in ``model``'s matrix (KeyError for unknown names)."""
        self._load(model)
        names = [names] if isinstance(names, str) else list(names)
        if not names:
            return np.zeros(0, dtype=np.intp)
        lookup = self._index[model]
        positions = np.fromiter((lookup.get(n, -1) for n in names), np.intp, len(names))
        if (positions < 0).any():
            raise missing_names(names, positions, f"the {model} embeddings")
        return positions

    def get(self, model: str, image_name: str | Sequence[str]) -> np.ndarray:
        """One name → its ``(D,)`` vector; a list → ``(n, D)`` in the caller's order.

        One name is a hot path in user loops: two dictionary lookups and a row view.
        """
        if isinstance(image_name, str):
            try:
                return self._matrix[model][self._index[model][image_name]]
            except KeyError:
                pass                     # not loaded yet, or an unknown name: say which below
        rows = self.indices(model, image_name)
        matrix = self._matrix[model]
        return matrix[rows[0]] if isinstance(image_name, str) else matrix[rows]

    def search(self, model: str, query: str | Sequence[str] | np.ndarray, k: int = 10,
               use_faiss: bool | None = None) -> Neighbours:
        """Exact cosine nearest neighbours of ``query`` among all rows, ``k`` per query.

        One query (1-D result fields): a name, or one vector (1-D array or list of D numbers).
        Several (one result row each): a list, array or Series of names, or a 2-D array of
        vectors. A name query finds its own image first. float16 rows are upcast to float32 in
        blocks; faiss (exact inner product on normalised rows) is used when installed, unless
        ``use_faiss=False``.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k <= 0:
            raise InvalidDataError(f"k must be a positive number of neighbours, not {k!r}")
        single, names, vectors = _queries(query)
        if names is not None:
            vectors = self.get(model, names)
        matrix = self[model]
        if vectors.shape[1:] != matrix.shape[1:]:
            raise InvalidDataError(f"query vectors have {vectors.shape[1:]} features; {model} "
                                   f"embeddings have {matrix.shape[1]}")
        queries = vectors.astype(np.float32)
        lengths = np.linalg.norm(queries, axis=1, keepdims=True)
        queries = np.divide(queries, lengths, out=np.zeros_like(queries), where=lengths > 0)
        k = min(int(k), len(matrix))
        if use_faiss is None:
            use_faiss = _faiss_installed()
        scores, indices = (self._faiss_search if use_faiss else self._numpy_search)(
            model, queries, k)
        names = self.ids(model)[indices]
        if single:
            return Neighbours(names[0], scores[0], indices[0])
        return Neighbours(names, scores, indices)

    def _numpy_search(self, model: str, queries: np.ndarray, k: int
                      ) -> tuple[np.ndarray, np.ndarray]:
        matrix, norms = self[model], self._row_norms(model)
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        indices = np.zeros((len(queries), k), dtype=np.intp)
        for q0 in range(0, len(queries), SEARCH_BLOCK_QUERIES):
            q = queries[q0:q0 + SEARCH_BLOCK_QUERIES]
            best_s, best_i = scores[q0:q0 + len(q)], indices[q0:q0 + len(q)]
            for start in range(0, len(matrix), SEARCH_BLOCK_ROWS):
                block = matrix[start:start + SEARCH_BLOCK_ROWS].astype(np.float32)
                block_norms = norms[start:start + len(block)]
                s = q @ block.T
                np.divide(s, block_norms, out=s, where=block_norms > 0)
                s[:, block_norms == 0] = 0.0
                cand_s = np.concatenate([best_s, s], axis=1)
                cand_i = np.concatenate(
                    [best_i, np.broadcast_to(np.arange(start, start + len(block)), s.shape)],
                    axis=1)
                top = np.argpartition(-cand_s, k - 1, axis=1)[:, :k] if k else cand_s[:, :0]
                best_s[:] = np.take_along_axis(cand_s, top, axis=1)
                best_i[:] = np.take_along_axis(cand_i, top, axis=1)
        order = np.lexsort((indices, -scores), axis=1)
        return np.take_along_axis(scores, order, 1), np.take_along_axis(indices, order, 1)

    def _faiss_search(self, model: str, queries: np.ndarray, k: int
                      ) -> tuple[np.ndarray, np.ndarray]:
        faiss = require("faiss", "faiss", "Embeddings.search(use_faiss=True)")
        if model not in self._faiss:
            index = faiss.IndexFlatIP(self[model].shape[1])
            norms = self._row_norms(model)[:, None]
            for start in range(0, len(self[model]), SEARCH_BLOCK_ROWS):
                block = self[model][start:start + SEARCH_BLOCK_ROWS].astype(np.float32)
                part = norms[start:start + len(block)]
                index.add(np.divide(block, part, out=np.zeros_like(block), where=part > 0))
            self._faiss[model] = index
        scores, indices = self._faiss[model].search(np.ascontiguousarray(queries), k)
        return scores.astype(np.float32), indices.astype(np.intp)

    def _row_norms(self, model: str) -> np.ndarray:
        if model not in self._norms:
            matrix = self[model]
            self._norms[model] = np.concatenate([
                np.linalg.norm(matrix[s:s + SEARCH_BLOCK_ROWS].astype(np.float32), axis=1)
                for s in range(0, len(matrix), SEARCH_BLOCK_ROWS)] or [np.zeros(0, np.float32)])
        return self._norms[model]

    def _load(self, model: str) -> None:
        if model in self._matrix:
            return
        if model not in self._models:
            raise NotFoundError(f"model {model!r} is not loaded here; loaded: "
                                f"{', '.join(self._models)} (load_embeddings('all') loads all)")
        path = self._paths[model]
        try:
            with h5py.File(path, "r") as f:
                matrix = f["embedding"][()]
                ids = f["image_ids"].asstr()[()]
                valid = f["valid"][()].astype(bool) if "valid" in f else np.ones(len(ids), bool)
        except KeyError as exc:
            raise InvalidDataError(f"{path} lacks a dataset ({exc}); expected 'embedding', "
                                   f"'image_ids' and 'valid'. Download it again") from exc
        if matrix.ndim != 2 or len(matrix) != len(ids) or len(valid) != len(ids):
            raise InvalidDataError(f"{path}: 'embedding' {matrix.shape}, 'image_ids' "
                                   f"{ids.shape} and 'valid' {valid.shape} do not match")
        names = ids.astype(object)
        index = {name: row for row, name in enumerate(names.tolist())}
        if len(index) != len(names):
            repeated = pd.Index(names)
            raise InvalidDataError(f"{path}: image_ids repeat, e.g. "
                                   f"{list(repeated[repeated.duplicated()][:3])}")
        matrix.flags.writeable = False
        self._matrix[model], self._ids[model] = matrix, names
        self._index[model], self._valid[model] = index, valid


def _queries(query: object) -> tuple[bool, list[str] | None, np.ndarray | None]:
    """``(single, names, vectors)`` of a search query (names or vectors, one or several)."""
    if isinstance(query, str):
        return True, [query], None
    values = query.to_numpy() if isinstance(query, pd.Series) else query
    if isinstance(values, (list, tuple)) and not values:
        return False, [], None
    if not isinstance(values, np.ndarray):
        values = list(values) if isinstance(values, (list, tuple)) else values
        if isinstance(values, list) and values and all(isinstance(v, str) for v in values):
            return False, values, None
        values = np.asarray(values)
    if values.dtype.kind in "USO":
        if values.ndim == 0:
            return True, [str(values)], None
        if values.ndim == 1 and all(isinstance(v, str) for v in values.tolist()):
            return False, [str(v) for v in values.tolist()], None
        raise InvalidDataError("a search query is image names or numeric vectors, not a mix "
                               f"(got an array of {values.dtype} with shape {values.shape})")
    if values.ndim not in (1, 2) or values.size == 0:
        raise InvalidDataError(f"a query vector is 1-D (one query) or 2-D (one per row); got "
                               f"shape {values.shape}")
    return values.ndim == 1, None, np.atleast_2d(values)


def _faiss_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("faiss") is not None


def load_embeddings(models: str | Iterable[str] = "all",
                    data_dir: str | os.PathLike | None = None) -> Embeddings:
    """Embeddings of ``models`` (``"all"``, a name, or several) from ``data_dir``."""
    return Embeddings(models, data_dir=data_dir)
