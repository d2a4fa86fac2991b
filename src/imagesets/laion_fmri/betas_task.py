"""The catalog's ``betas`` task: ``imagesets prepare laion_fmri --task betas --subject sub-01``
converts a subject's sessions into the betas store; opening it gives one set per session whose
records are trials (``trial``, ``label``, ``betas``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..catalog import PreparedTask, PrepareRequest
from ..contract import DatasetBase, resolve_index
from ..errors import InvalidDataError
from ..fsutil import atomic_write_text
from .betas_store import SessionStore, stamp
from .subject import load_subject

FIELDS = ("trial", "label", "betas")


def prepare(request: PrepareRequest) -> PreparedTask:
    """Convert the subject's sessions (all with a betas file, or ``sessions``) in parallel."""
    options = dict(request.options)
    if not options.get("subject"):
        raise InvalidDataError("the betas task needs a subject: imagesets prepare laion_fmri "
                               "--task betas --subject sub-01 (python: subject='sub-01')")
    subject = load_subject(options["subject"], request.data_dir)
    stores = subject.prepare_betas(
        options.get("sessions"), mask_source=options.get("mask_source", "anatomical"),
        engine=options.get("engine") or "local", workers=options.get("workers"),
        address=options.get("address"), verbose=request.verbose,
        root=request.metadata_dir / "betas")
    listing = {session: {"store": str(path), "stamp": stamp(path)}
               for session, path in stores.items()}
    output = request.metadata_dir / f"{request.task}-{subject.subject_id}.json"
    atomic_write_text(output, json.dumps({"subject": subject.subject_id,
                                          "data_dir": str(request.data_dir),
                                          "sessions": listing}, indent=2))
    fingerprint = hashlib.sha256(json.dumps(listing, sort_keys=True).encode()).hexdigest()[:16]
    return PreparedTask(request.dataset, request.task, str(request.data_dir), str(output),
                        options, fingerprint)


class SessionTrials:
    """One session's trials: ``len``, ``[i]`` → ``{trial, label, betas}``, ``column``."""

    fields = FIELDS

    def __init__(self, store: SessionStore, labels: list[str], where: str) -> None:
        self._store = store
        self._labels = labels
        self._where = where

    def __len__(self) -> int:
        return len(self._labels)

    def _record(self, trial: int, betas: np.ndarray) -> dict[str, Any]:
        return {"trial": trial, "label": self._labels[trial], "betas": betas}

    def __getitem__(self, key: Any) -> Any:
        index = resolve_index(key, len(self), self._where)
        if isinstance(index, int):
            return self._record(index, self._store.read(np.array([index]))[0])
        rows = self._store.read(np.array(index, np.intp))
        return [self._record(i, row) for i, row in zip(index, rows, strict=True)]

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        for trial in range(len(self)):
            yield self[trial]

    def column(self, name: str) -> Any:
        if name not in FIELDS:
            raise KeyError(f"{self._where} has no field {name!r}; fields: {', '.join(FIELDS)}")
        if name == "betas":
            return self._store.read()
        return list(range(len(self))) if name == "trial" else list(self._labels)


class SubjectBetas(DatasetBase):
    """A prepared subject: one set per session (``ds["ses-01"]``)."""

    name = "laion_fmri"
    task = "betas"

    def __init__(self, prepared: PreparedTask) -> None:
        record = json.loads(Path(prepared.metadata_file).read_text(encoding="utf-8"))
        self.subject = load_subject(record["subject"], prepared.data_dir)
        self.data_dir = prepared.data_dir
        self._stores = {s: SessionStore(v["store"]) for s, v in record["sessions"].items()}

    @property
    def sets(self) -> tuple[str, ...]:
        return tuple(self._stores)

    def __getitem__(self, session: str) -> SessionTrials:
        if session not in self._stores:
            raise KeyError(f"{self.subject.subject_id} has no prepared session {session!r}; "
                           f"sets: {', '.join(self.sets)}")
        labels = self.subject.get_trial_info(session)["label"].astype(str).tolist()
        return SessionTrials(self._stores[session], labels,
                             f"laion_fmri/betas {self.subject.subject_id} {session}")

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "task": self.task,
                "sets": {s: store.shape[0] for s, store in self._stores.items()},
                "data_dir": self.data_dir, "files": [str(s.path) for s in self._stores.values()],
                "license": "CC0 1.0", "subject": self.subject.subject_id,
                "n_voxels": {s: store.shape[1] for s, store in self._stores.items()}}

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
