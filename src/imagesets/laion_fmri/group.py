"""Several subjects at once (the original's ``load_subjects`` / ``Group``), with shared-stimulus
betas aligned across subjects: the same images, in the same order, in every subject's rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import InvalidDataError
from .brain import average_rows
from .config import resolve_data_dir
from .exceptions import NoMatchingDataError
from .layout import GLM_DIR
from .subject import Subject, load_subject

REPEATS = ("mean", "keep")


class SharedBetas(dict):
    """``{subject: (n_rows, n_voxels) betas}`` whose rows are the same stimuli in the same
    order for every subject; ``stimuli`` names them and ``repeat`` numbers the repeats
    (0 for every row when repeats are averaged)."""

    def __init__(self, betas: dict[str, np.ndarray], stimuli: list[str],
                 repeat: np.ndarray) -> None:
        super().__init__(betas)
        self.stimuli = stimuli
        self.repeat = repeat


def load_subjects(subjects: Sequence[int | str] | str = "all",
                  data_dir: str | os.PathLike | None = None) -> Group:
    """Subjects by id (as :func:`load_subject` takes them), or ``"all"``: every subject
    present in the data directory."""
    if isinstance(subjects, str) and subjects == "all":
        folder = resolve_data_dir(data_dir) / GLM_DIR
        subjects = sorted(p.name for p in folder.glob("sub-*") if p.is_dir())
        if not subjects:
            raise NoMatchingDataError(f"no subject folders (sub-XX) under {folder}; download a "
                                      f"subject first")
    elif isinstance(subjects, (str, int)):
        subjects = [subjects]
    loaded = [load_subject(s, data_dir) for s in subjects]
    return Group({s.subject_id: s for s in loaded})


class Group:
    """Subjects by id; ``group[0]``/``group["sub-01"]``, ``for sub_id, sub in group``."""

    def __init__(self, subjects: dict[str, Subject]) -> None:
        self._subjects = dict(subjects)
        self.subject_ids = sorted(self._subjects)

    def __repr__(self) -> str:
        return f"Group({self.subject_ids})"

    def __len__(self) -> int:
        return len(self._subjects)

    def __getitem__(self, key: int | str) -> Subject:
        if isinstance(key, (int, np.integer)):
            return self._subjects[self.subject_ids[key]]
        if isinstance(key, str):
            if key not in self._subjects:
                raise KeyError(f"Subject '{key}' not in group ({', '.join(self.subject_ids)}).")
            return self._subjects[key]
        raise TypeError(f"Key must be int or str, got {type(key).__name__}")

    def __iter__(self) -> Iterator[tuple[str, Subject]]:
        for subject_id in self.subject_ids:
            yield subject_id, self._subjects[subject_id]

    def _shared_rows(self, subject: Subject, sessions: list[str], **options: Any
                     ) -> tuple[np.ndarray, np.ndarray]:
        """One subject's shared-stimulus betas over ``sessions`` and the name of each row."""
        names, blocks = [], []
        for session in sessions:
            labels = subject.get_trial_info(session)["label"].astype(str)
            names.append(labels[labels.str.startswith("shared_")].to_numpy(object))
            blocks.append(subject.get_betas(session, stimuli="shared", **options))
        return np.concatenate(blocks), np.concatenate(names)

    def get_shared_betas(self, session: str | Sequence[str] | None = None, roi: Any = None,
                         mask: np.ndarray | None = None, nc_threshold: float | None = None,
                         repeats: str = "mean", mask_source: str = "anatomical"
                         ) -> SharedBetas:
        """Betas of the shared stimuli that every subject saw in ``session`` (one, a list, or
        None for all of each subject's sessions), aligned across subjects: row i of every
        subject is the stimulus ``result.stimuli[i]``.

        ``repeats="mean"`` averages each stimulus's repeats (one row per stimulus, NaN only
        where every repeat is NaN); ``"keep"`` keeps the first r repeats of each stimulus,
        r being the smallest repeat count among the subjects.
        """
        if repeats not in REPEATS:
            raise InvalidDataError(f"repeats must be one of {', '.join(REPEATS)}, got "
                                   f"{repeats!r}")
        if nc_threshold is not None and not isinstance(session, str):
            raise InvalidDataError("nc_threshold uses one session's noise ceiling: pass a "
                                   "single session, or select voxels with mask=")
        options = {"roi": roi, "mask": mask, "nc_threshold": nc_threshold,
                   "mask_source": mask_source}
        rows = {}
        for subject_id, subject in self:
            sessions = (subject.betas_sessions() if session is None
                        else [session] if isinstance(session, str) else list(session))
            rows[subject_id] = self._shared_rows(subject, sessions, **options)
        counts = [dict(zip(*np.unique(names, return_counts=True), strict=True))
                  for _, names in rows.values()]
        common = sorted(set.intersection(*(set(c) for c in counts))) if counts else []
        if not common:
            where = session or "their sessions"
            raise NoMatchingDataError(f"no shared stimulus was seen by all of "
                                      f"{', '.join(self.subject_ids)} in {where}")
        keep = {name: min(c[name] for c in counts) if repeats == "keep" else 1
                for name in common}
        stimuli = [name for name in common for _ in range(keep[name])]
        repeat = np.array([k for name in common for k in range(keep[name])])
        result = {}
        for subject_id, (betas, names) in rows.items():
            positions = {name: np.flatnonzero(names == name) for name in common}
            if repeats == "keep":
                result[subject_id] = betas[np.concatenate(
                    [positions[name][:keep[name]] for name in common])]
                continue
            result[subject_id] = average_rows(betas, [positions[name] for name in common])
        return SharedBetas(result, stimuli, repeat)
