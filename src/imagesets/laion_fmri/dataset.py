"""The catalog object ``imagesets.load("laion_fmri")`` returns: the dataset contract over the
published API.

Set ``stimuli`` holds one record per stimulus (a row of ``task-images_metadata.csv``); each
subject present under ``derivatives/glmsingle-tedana/`` is a set whose records are its trials.
The published objects stay as published and are handed out: ``ds.stimuli`` (the
:class:`~imagesets.laion_fmri.stimuli.Stimuli` hub, which indexes images by name) and
``ds.subject(id)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from ..contract import INFO_KEYS, DatasetBase, resolve_index
from ..errors import NotFoundError
from .config import NAME
from .layout import GLM_DIR, METADATA_CSV, STIMULI_DIR
from .stimuli import Stimuli
from .subject import Subject, bids_id

TASK = "stimuli"


class TableSplit:
    """A contract split over a table read on first use: one record (a dict) per row."""

    def __init__(self, name: str, read: Any) -> None:
        self.name = name
        self._read = read

    def __repr__(self) -> str:
        return f"<TableSplit {self.name}: {len(self)} records>"

    @cached_property
    def table(self) -> pd.DataFrame:
        """The rows, as read (a fresh 0..n-1 index)."""
        return self._read().reset_index(drop=True)

    @cached_property
    def _records(self) -> list[dict[str, Any]]:
        return self.table.to_dict("records")

    @property
    def fields(self) -> list[str]:
        return [str(c) for c in self.table.columns]

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, key: Any) -> dict[str, Any] | list[dict[str, Any]]:
        positions = resolve_index(key, len(self), f"LAION-fMRI set '{self.name}'")
        if isinstance(positions, int):
            return self._records[positions]
        return [self._records[i] for i in positions]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._records)

    def column(self, name: str) -> list[Any]:
        if name not in self.table.columns:
            raise NotFoundError(f"records of LAION-fMRI set '{self.name}' have no key "
                                f"'{name}'; their keys are: {', '.join(self.fields)}")
        return self.table[name].tolist()


class LaionFmriDataset(DatasetBase):
    """LAION-fMRI in the catalog: set ``stimuli`` and one set of trials per subject present."""

    name = NAME
    task = TASK

    def __init__(self, data_dir: str | os.PathLike, license: str = "") -> None:
        self.data_dir = Path(data_dir)
        self.license = license
        glm = self.data_dir / GLM_DIR
        subjects = sorted(p.name for p in glm.iterdir()
                          if p.is_dir() and p.name.startswith("sub-")) if glm.is_dir() else []
        self.sets: tuple[str, ...] = (TASK, *subjects)
        self._splits: dict[str, TableSplit] = {}
        self._subjects: dict[str, Subject] = {}

    def __repr__(self) -> str:
        return f"<LaionFmriDataset {self.data_dir} sets={list(self.sets)}>"

    @cached_property
    def stimuli(self) -> Stimuli:
        """The published stimulus hub (metadata, images by name, embeddings, masks, captions)."""
        return Stimuli(self.data_dir)

    def subject(self, subject_id: int | str) -> Subject:
        """The published :class:`~imagesets.laion_fmri.subject.Subject` of a subject present."""
        key = bids_id(subject_id, "sub")
        if key not in self.sets:
            raise NotFoundError(f"no subject {key} under {self.data_dir / GLM_DIR}; subjects "
                                f"present: {', '.join(self.sets[1:]) or 'none'}")
        if key not in self._subjects:
            self._subjects[key] = Subject(key, self.data_dir)
        return self._subjects[key]

    def _read_stimuli(self) -> pd.DataFrame:
        if (self.data_dir / METADATA_CSV).is_file():
            return self.stimuli.metadata
        return pd.DataFrame({"image_name": self.stimuli.names()})

    def __getitem__(self, set_name: str) -> TableSplit:
        if set_name not in self._splits:
            if set_name not in self.sets:
                raise NotFoundError(f"LAION-fMRI in {self.data_dir} has no set {set_name!r}; "
                                    f"sets: {', '.join(self.sets)}")
            read = (self._read_stimuli if set_name == TASK
                    else lambda: self.subject(set_name).metadata)
            self._splits[set_name] = TableSplit(set_name, read)
        return self._splits[set_name]

    def files(self) -> list[str]:
        """The files this object reads: the stimulus files and the subjects' trial tables."""
        stimuli = self.data_dir / STIMULI_DIR
        found = [p for p in stimuli.iterdir() if p.is_file() and not p.name.startswith(".")] \
            if stimuli.is_dir() else []
        for subject in self.sets[1:]:
            found += (self.data_dir / GLM_DIR / subject).glob("ses-*/func/*_trials.tsv")
        return sorted(str(p) for p in found)

    def info(self) -> dict[str, Any]:
        """The contract's description (:data:`~imagesets.contract.INFO_KEYS`)."""
        values = {"name": self.name, "task": self.task,
                  "sets": {s: len(self[s]) for s in self.sets}, "data_dir": str(self.data_dir),
                  "files": self.files(), "license": self.license}
        return {key: values[key] for key in INFO_KEYS}

    def close(self) -> None:
        """Close the files the published objects hold open (they reopen when needed)."""
        if "stimuli" in self.__dict__:
            self.stimuli.close()
        for subject in self._subjects.values():
            if "stimuli" in subject.__dict__:
                subject.stimuli.close()
