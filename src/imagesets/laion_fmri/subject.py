"""One subject's trials across sessions, and the stimulus derivatives aligned to them.

``Subject.metadata`` concatenates every session's trials table (index = global trial index);
``sub.embeddings``, ``sub.segmentations``, ``sub.captions`` and ``sub.images`` take those trial
indices. None of it needs the access-gated images file except ``sub.images``.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from ..contract import resolve_index
from ..errors import InvalidDataError
from .brain import SubjectBrainMixin
from .config import resolve_data_dir
from .embeddings import Embeddings
from .exceptions import (
    DataNotDownloadedError,
    DataNotFoundError,
    NoMatchingDataError,
    StimuliNotDownloadedError,
    SubjectNotFoundError,
)
from .layout import DOWNLOAD_HINT, GLM_DIR, trials_key
from .stimuli import Stimuli, read_stimulus_metadata
from .tables import read_table

TRIAL_COLUMNS = ("session", "run", "beta_index", "label")
Trials = int | Sequence[int] | np.ndarray
Sessions = str | int | Sequence[str | int] | None


def bids_id(value: int | str, prefix: str) -> str:
    """``1``, ``"1"``, ``"01"`` or ``"sub-01"`` → ``"sub-01"`` (likewise for ``ses``); a
    malformed subject id is a SubjectNotFoundError, a malformed session id a ValueError."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0:
        return f"{prefix}-{int(value):02d}"
    if isinstance(value, str):
        bare = value.strip().removeprefix(f"{prefix}-")
        if re.fullmatch(r"\d+", bare):
            return f"{prefix}-{int(bare):02d}"
        if re.fullmatch(r"[A-Za-z0-9]+", bare):
            return f"{prefix}-{bare}"
    error = SubjectNotFoundError if prefix == "sub" else InvalidDataError
    raise error(f"{value!r} is not a {prefix} identifier; use e.g. '{prefix}-01' or 1")


class Subject(SubjectBrainMixin):
    """A subject's trial table (``metadata``) and trial-aligned stimulus accessors."""

    def __init__(self, subject_id: str, data_dir: str | os.PathLike) -> None:
        self.subject_id = subject_id
        self.data_dir = Path(data_dir)
        self.folder = self.data_dir / GLM_DIR / subject_id
        self.embeddings = SubjectEmbeddings(self)
        self.segmentations = SubjectSegmentations(self)
        self.captions = SubjectCaptions(self)
        self.images = SubjectImages(self)

    def __repr__(self) -> str:
        return f"Subject({self.subject_id!r}, data_dir={str(self.data_dir)!r})"

    @cached_property
    def stimuli(self) -> Stimuli:
        """The dataset-wide stimulus hub these trials point into."""
        return Stimuli(self.data_dir)

    def get_sessions(self) -> list[str]:
        """Session folders of this subject, sorted (``['ses-01', ...]``)."""
        return sorted(p.name for p in self.folder.iterdir()
                      if p.is_dir() and p.name.startswith("ses-"))

    def get_trial_info(self, session: str | int) -> pd.DataFrame:
        """One session's trials table: ``session, run, beta_index, label``."""
        session = bids_id(session, "ses")
        path = self.data_dir / trials_key(self.subject_id, session)
        if not path.is_file():
            raise NoMatchingDataError(f"no trials file for {self.subject_id} {session} at {path}"
                                      f"; sessions here: {', '.join(self.get_sessions())}")
        return read_table(path, TRIAL_COLUMNS, ("session", "label"), sep="\t")

    @cached_property
    def metadata(self) -> pd.DataFrame:
        """All sessions' trials, indexed 0..n-1 (the global trial index), with
        ``session_trial``, ``image_name``, ``stim_idx``, ``unique_or_shared`` and ``dataset``."""
        frames = []
        for session in self.get_sessions():
            path = self.data_dir / trials_key(self.subject_id, session)
            if not path.is_file():
                warnings.warn(f"{self.subject_id} {session} has no trials file ({path}); "
                              f"session skipped", stacklevel=3)
                continue
            trials = self.get_trial_info(session)
            trials["session"] = session
            trials["session_trial"] = np.arange(len(trials))
            frames.append(trials)
        if not frames:
            raise DataNotDownloadedError(f"no trials files under {self.folder}; get "
                                         f"{DOWNLOAD_HINT['subject']}")
        trials = pd.concat(frames, ignore_index=True)
        trials["image_name"] = trials["label"]
        names = trials["image_name"].to_numpy(object)
        prefix = np.where(pd.Series(names).str.startswith("shared_"), "shared", "unique")
        try:
            stimuli = read_stimulus_metadata(self.data_dir)
        except (DataNotFoundError, StimuliNotDownloadedError) as exc:
            warnings.warn(f"{exc}; stim_idx is -1 and dataset is missing, unique_or_shared "
                          f"comes from the name prefix", stacklevel=3)
            trials["stim_idx"] = -1
            trials["unique_or_shared"] = prefix
            trials["dataset"] = None
            return trials
        rows = pd.Index(stimuli["image_name"]).get_indexer(names)
        found = rows >= 0
        trials["stim_idx"] = rows
        trials["unique_or_shared"] = np.where(
            found, stimuli["unique_or_shared"].to_numpy(object)[rows], prefix)
        trials["dataset"] = np.where(found, stimuli["dataset"].to_numpy(object)[rows], None)
        return trials

    def trial_positions(self, trials: Trials) -> int | list[int]:
        """Rows of ``sub.metadata`` for one global trial index (an int) or several (a list);
        negative indices count from the end, anything out of range is an IndexError."""
        return resolve_index(trials, len(self.metadata),
                             f"the trials of {self.subject_id} (rows of sub.metadata)")

    def image_names(self, trials: Trials) -> str | list[str]:
        """The image name of one global trial index, or a list for several."""
        names = self.metadata["image_name"].to_numpy(object)
        rows = self.trial_positions(trials)
        return str(names[rows]) if isinstance(rows, int) else names[rows].tolist()

    def trial_indices(self, session: Sessions = None) -> np.ndarray:
        """Global trial indices of one or several sessions (all trials for None); a session
        without trials gives none, as in the original package."""
        meta = self.metadata
        if session is None:
            return np.arange(len(meta))
        wanted = [bids_id(s, "ses") for s in ([session] if isinstance(session, (str, int))
                                              else session)]
        return np.flatnonzero(meta["session"].isin(wanted).to_numpy())


class SubjectEmbeddings:
    """Embeddings by trial: ``get(model, trial)``, ``all(model, session=None)``."""

    def __init__(self, subject: Subject) -> None:
        self._subject = subject
        self._rows: dict[str, np.ndarray] = {}

    @property
    def source(self) -> Embeddings:
        return self._subject.stimuli.embeddings

    @property
    def models(self) -> list[str]:
        return self.source.models

    def _trial_rows(self, model: str) -> np.ndarray:
        if model not in self._rows:
            names = self._subject.metadata["image_name"].to_numpy(object)
            self._rows[model] = self.source.indices(model, names)
        return self._rows[model]

    def get(self, model: str, trial: Trials) -> np.ndarray:
        """``(D,)`` for one trial index, ``(n, D)`` for several."""
        rows = self._subject.trial_positions(trial)
        return self.source[model][self._trial_rows(model)[rows]]

    def all(self, model: str, session: Sessions = None) -> np.ndarray:
        """``(n_trials, D)`` for every trial, or those of one or several sessions."""
        return self.source[model][self._trial_rows(model)[self._subject.trial_indices(session)]]


class SubjectSegmentations:
    """Masks of the image shown on a trial (empty results for unique images)."""

    def __init__(self, subject: Subject) -> None:
        self._subject = subject

    def has_image(self, trial: int) -> bool:
        return self._subject.stimuli.segmentations.has_image(self._subject.image_names(trial))

    def nouns(self, trial: int, localized_only: bool = True) -> list[str]:
        return self._subject.stimuli.segmentations.nouns(self._subject.image_names(trial),
                                                         localized_only)

    def for_image(self, trial: int) -> pd.DataFrame:
        return self._subject.stimuli.segmentations.for_image(self._subject.image_names(trial))

    def get(self, trial: int, noun: str, instance: int = 0) -> np.ndarray:
        return self._subject.stimuli.segmentations.get(self._subject.image_names(trial), noun,
                                                       instance)


class SubjectCaptions:
    """Captions of the image shown on a trial."""

    def __init__(self, subject: Subject) -> None:
        self._subject = subject

    def human(self, trial: int, limit: int | None = None) -> list[str]:
        return self._subject.stimuli.captions.human(self._subject.image_names(trial), limit)

    def ai(self, trial: int) -> str | None:
        return self._subject.stimuli.captions.ai(self._subject.image_names(trial))

    def list(self, trial: int, source: str | None = None) -> list[str]:
        return self._subject.stimuli.captions.list(self._subject.image_names(trial), source)

    def get(self, trial: int) -> pd.DataFrame:
        return self._subject.stimuli.captions.get(self._subject.image_names(trial))

    for_image = get


class SubjectImages:
    """The image shown on a trial: ``[trial]`` → bytes, ``get(trial)`` → PIL, ``array()``."""

    def __init__(self, subject: Subject) -> None:
        self._subject = subject

    def __len__(self) -> int:
        return len(self._subject.metadata)

    def __getitem__(self, trial: int) -> bytes:
        return self._subject.stimuli.images[self._subject.image_names(trial)]

    def get(self, trial: int, as_displayed: bool = True) -> Image.Image:
        return self._subject.stimuli.images.get(self._subject.image_names(trial), as_displayed)

    def all(self, session: Sessions = None) -> Iterator[Image.Image]:
        """Displayed images of every trial of ``session`` (all for None), in trial order."""
        images = self._subject.stimuli.images
        return (images.get(name) for name in
                self._subject.image_names(self._subject.trial_indices(session)))

    def array(self, session: Sessions = None) -> np.ndarray:
        """Displayed images of every trial of ``session`` (all for None), ``(n, H, W, 3)``."""
        return self._subject.stimuli.images.array(
            self._subject.image_names(self._subject.trial_indices(session)))


def load_subject(subject: int | str, data_dir: str | os.PathLike | None = None) -> Subject:
    """A subject by id (``"sub-01"``, ``"01"`` or ``1``) from ``data_dir``."""
    subject_id = bids_id(subject, "sub")
    root = resolve_data_dir(data_dir)
    folder = root / GLM_DIR / subject_id
    if not folder.is_dir():
        present = sorted(p.name for p in (root / GLM_DIR).glob("sub-*") if p.is_dir())
        raise DataNotDownloadedError(f"no data for {subject_id} at {folder} (subjects here: "
                            f"{', '.join(present) or 'none'}); get {DOWNLOAD_HINT['subject']}")
    return Subject(subject_id, root)
