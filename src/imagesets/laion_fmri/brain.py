"""The brain side of :class:`~imagesets.laion_fmri.subject.Subject`, with the original
``laion_fmri`` names: brain mask, single-trial betas, ROI masks, noise ceilings, NIfTI output
and voxel coordinates, plus trial-indexed betas and encoding-model data.

Voxel vectors follow the brain mask (flat C order over the volume). Betas come from the
per-session store (:mod:`.betas_store`), built on first use, so a read touches only the
requested voxels and trials instead of decompressing the whole 4-D file.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import InvalidDataError
from ..fsutil import atomic_path
from . import betas_store, nifti
from .brain_layout import (
    NOISE_CEILING_DESCS,
    betas_key,
    roi_pattern,
    rois_dir,
    session_noise_ceiling_key,
    subject_noise_ceiling_key,
)
from .exceptions import DataNotDownloadedError, NoMatchingDataError
from .layout import GLM_DIR

if TYPE_CHECKING:
    from .torch_dataset import SubjectTrialsDataset

Mask = np.ndarray | Sequence[bool] | None
Roi = str | Sequence[str] | None
STIMULI = ("shared", "unique")


def average_rows(values: np.ndarray, groups: Sequence[np.ndarray]) -> np.ndarray:
    """One row per group of row indices: the NaN-ignoring mean (NaN where all are NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.stack([np.nanmean(values[rows], axis=0) for rows in groups]).astype(np.float32)


def _session_id(value: str | int) -> str:
    """``1``, ``"01"`` or ``"ses-01"`` → ``"ses-01"`` (the subject module's rule)."""
    from .subject import bids_id

    return bids_id(value, "ses")


def _listed(value: Any) -> bool:
    return isinstance(value, (list, tuple))


class SubjectBrainMixin:
    """Brain-side accessors; the host class provides ``subject_id``, ``data_dir``,
    ``get_sessions``, ``get_trial_info``, ``metadata``, ``embeddings`` and ``image_names``."""

    subject_id: str
    data_dir: Path

    def _cache(self) -> dict[Any, Any]:
        return self.__dict__.setdefault("_brain_cache", {})

    def _brain(self, source: str = "anatomical", res: str = "1pt8"
               ) -> tuple[np.ndarray, tuple[int, ...], np.ndarray]:
        key = ("brain", source, res)
        if key not in self._cache():
            self._cache()[key] = betas_store.read_brain_mask(self.data_dir, self.subject_id,
                                                             source, res)
        return self._cache()[key]

    # ── brain mask ────────────────────────────────────────────────────────────────────

    def get_brain_mask(self, source: str = "anatomical", res: str = "1pt8") -> np.ndarray:
        """The brain mask as a flat bool vector over the volume (C order): the anatomical
        mask, or ``source="rsquare"``: R2mean ≠ 0 and not NaN."""
        return self._brain(source, res)[0].copy()

    def get_n_voxels(self, source: str = "anatomical", res: str = "1pt8") -> int:
        """Number of voxels in the brain mask."""
        return int(self._brain(source, res)[0].sum())

    # ── ROIs ──────────────────────────────────────────────────────────────────────────

    def _roi_files(self, res: str = "1pt8") -> dict[str, dict[str, Path]]:
        """category → ROI name → mask file."""
        folder = self.data_dir / rois_dir(self.subject_id)
        prefix, suffix = roi_pattern(self.subject_id, res)
        found: dict[str, dict[str, Path]] = {}
        for category in sorted(p for p in folder.glob("*") if p.is_dir()):
            names = {p.name[len(prefix):-len(suffix)]: p
                     for p in sorted(category.glob(f"{prefix}*{suffix}"))}
            if names:
                found[category.name] = names
        return found

    def get_available_categories(self) -> list[str]:
        """ROI categories of this subject (folders under ``derivatives/rois/sub-XX/``)."""
        return list(self._roi_files())

    def get_available_rois(self, category: str | None = None) -> list[str]:
        """ROI names (all, or those of one category), sorted."""
        files = self._roi_files()
        if category is None:
            return sorted({name for names in files.values() for name in names})
        if category not in files:
            raise NoMatchingDataError(
                f"{self.subject_id} has no ROI category {category!r} under "
                f"{self.data_dir / rois_dir(self.subject_id)}; categories: "
                f"{', '.join(files) or 'none (download with include_rois=True)'}")
        return sorted(files[category])

    def _roi_paths(self, query: str | Sequence[str]) -> list[Path]:
        files = self._roi_files()
        paths: list[Path] = []
        for item in [query] if isinstance(query, str) else list(query):
            if item == "all":
                paths += [p for names in files.values() for p in names.values()]
            elif item in files:
                paths += list(files[item].values())
            else:
                matched = [names[item] for names in files.values() if item in names]
                if not matched:
                    raise InvalidDataError(
                        f"ROI {item!r} not found for {self.subject_id}. Available ROIs: "
                        f"{self.get_available_rois() or 'none'}; categories: "
                        f"{list(files) or 'none'} (or 'all')")
                paths += matched
        return paths

    def get_roi_mask(self, query: str | Sequence[str], mask_source: str = "anatomical"
                     ) -> np.ndarray:
        """A bool vector over brain-mask voxels: an ROI name, a category, ``"all"`` or a
        list of them (union)."""
        inside, shape, _ = self._brain(mask_source)
        union = np.zeros(len(inside), bool)
        for path in self._roi_paths(query):
            key = ("roi", path)
            if key not in self._cache():
                flat, roi_shape = nifti.load_flat_mask(path)
                if roi_shape != shape:
                    raise InvalidDataError(f"ROI mask {path} is {roi_shape}, the brain mask "
                                           f"is {shape}")
                self._cache()[key] = flat
            union |= self._cache()[key]
        return union[inside]

    def get_roi_masks(self, rois: Sequence[str], mask_source: str = "anatomical"
                      ) -> dict[str, np.ndarray]:
        """``{roi: get_roi_mask(roi)}`` for several ROIs (or categories)."""
        return {r: self.get_roi_mask(r, mask_source) for r in rois}

    # ── voxel selection ───────────────────────────────────────────────────────────────

    def _check_mask(self, mask: Any, mask_source: str) -> np.ndarray:
        mask = np.asarray(mask)
        expected = self.get_n_voxels(mask_source)
        if mask.dtype != bool or mask.shape != (expected,):
            raise InvalidDataError(
                f"mask must be a bool array of length {expected} (one value per "
                f"{mask_source} brain-mask voxel of {self.subject_id}), got "
                f"{mask.dtype} {mask.shape}")
        return mask

    def _voxels(self, roi: Roi, mask: Mask, mask_source: str) -> np.ndarray | None:
        """A bool selection over brain-mask voxels (None: all)."""
        if roi is not None and mask is not None:
            raise InvalidDataError("roi and mask are mutually exclusive; pass one of them")
        if roi is not None:
            return self.get_roi_mask(roi, mask_source)
        if mask is not None:
            return self._check_mask(mask, mask_source)
        return None

    # ── noise ceilings ────────────────────────────────────────────────────────────────

    def get_noise_ceiling(self, session: str | Sequence[str] | None = None,
                          desc: str | Sequence[str] | None = None, roi: Roi = None,
                          mask: Mask = None, mask_source: str = "anatomical"
                          ) -> np.ndarray | dict[str, np.ndarray]:
        """A noise-ceiling map in percent over brain-mask voxels (float32): one session's
        (``session=``) or a subject-level one (``desc=`` one of Noiseceiling4rep,
        Noiseceiling12rep, NoiseceilingAllrep). A list gives a dict."""
        if _listed(session):
            return {s: self.get_noise_ceiling(session=s, roi=roi, mask=mask,
                                              mask_source=mask_source) for s in session}
        if _listed(desc):
            return {d: self.get_noise_ceiling(desc=d, roi=roi, mask=mask,
                                              mask_source=mask_source) for d in desc}
        if (session is None) == (desc is None):
            raise InvalidDataError("exactly one of session or desc must be set (desc: "
                                   f"{', '.join(NOISE_CEILING_DESCS)})")
        if session is not None:
            session = _session_id(session)
            key = session_noise_ceiling_key(self.subject_id, session)
        else:
            key = subject_noise_ceiling_key(self.subject_id, desc)
        path = betas_store.required(self.data_dir / key, self.subject_id,
                                    session or "averages")
        values, _ = nifti.load_map(path)
        inside = self._brain(mask_source)[0]
        if values.size != inside.size:
            raise InvalidDataError(f"{path} is {values.shape}, the brain mask is "
                                   f"{self._brain(mask_source)[1]}")
        ceiling = values.ravel()[inside]
        selected = self._voxels(roi, mask, mask_source)
        return ceiling if selected is None else ceiling[selected]

    # ── betas ─────────────────────────────────────────────────────────────────────────

    def betas_sessions(self) -> list[str]:
        """Sessions that have a single-trial betas file."""
        return [s for s in self.get_sessions()
                if (self.data_dir / betas_key(self.subject_id, s)).is_file()]

    def prepare_betas(self, sessions: str | Sequence[str] | None = None, *,
                      mask_source: str = "anatomical", force: bool = False,
                      engine: str = "local", workers: int | None = None,
                      address: str | None = None, verbose: bool = True,
                      root: str | os.PathLike | None = None) -> dict[str, Path]:
        """Convert sessions (default: every one with a betas file) into the betas store now,
        in parallel; sessions already current are skipped. Returns session → store file."""
        if sessions is None:
            sessions = self.betas_sessions()
            if not sessions:
                raise DataNotDownloadedError(
                    f"no session of {self.subject_id} has a single-trial betas file under "
                    f"{self.data_dir / GLM_DIR / self.subject_id}; get them with "
                    f"{betas_store.DOWNLOAD_CALL.format(subject=self.subject_id, ses=None)}")
        elif isinstance(sessions, str):
            sessions = [sessions]
        return betas_store.prepare_sessions(
            self.data_dir, self.subject_id, list(sessions), mask_source=mask_source,
            root=Path(root) if root else None, force=force, engine=engine, workers=workers,
            address=address, verbose=verbose)

    def _store(self, session: str, mask_source: str) -> betas_store.SessionStore:
        key = ("store", session, mask_source)
        cache = self._cache()
        if key not in cache:
            path = self.prepare_betas([session], mask_source=mask_source, verbose=False)[session]
            n_rows = len(self.get_trial_info(session))
            store = betas_store.SessionStore(path)
            if store.shape[0] != n_rows:
                store.close()
                raise InvalidDataError(
                    f"the betas of {self.subject_id} {session} have {store.shape[0]} trials but "
                    f"its trials table has {n_rows} rows; download both files again")
            cache[key] = store
        return cache[key]

    def get_betas(self, session: str | Sequence[str], roi: Roi = None, mask: Mask = None,
                  nc_threshold: float | None = None, stimuli: str | None = None,
                  mask_source: str = "anatomical") -> np.ndarray | dict[str, np.ndarray]:
        """Single-trial betas ``(n_trials, n_voxels)`` float32 of one session, rows in
        trials-table order, NaNs kept; a list of sessions gives a dict.

        ``roi`` (name, category, "all" or list) or ``mask`` (bool over brain-mask voxels)
        select voxels; ``nc_threshold`` keeps voxels whose session noise ceiling (percent) is
        at least that; ``stimuli="shared"|"unique"`` keeps those trials.
        """
        if _listed(session):
            return {s: self.get_betas(s, roi=roi, mask=mask, nc_threshold=nc_threshold,
                                      stimuli=stimuli, mask_source=mask_source)
                    for s in session}
        if session is None or session == "":
            raise InvalidDataError("session is required (e.g. 'ses-01'): single-trial betas "
                                   f"are stored per session; sessions: {self.get_sessions()}")
        session = _session_id(session)
        if stimuli not in (None, *STIMULI):
            raise InvalidDataError(f"stimuli must be 'shared', 'unique' or None, got "
                                   f"{stimuli!r}")
        selected = self._voxels(roi, mask, mask_source)
        if nc_threshold is not None:
            if 0 < nc_threshold < 1:
                warnings.warn(f"nc_threshold={nc_threshold}: noise ceilings are percentages "
                              f"(0-100), so this keeps almost every voxel; did you mean "
                              f"{nc_threshold * 100:g}?", stacklevel=2)
            ceiling = self.get_noise_ceiling(session=session, mask_source=mask_source)
            keep = ceiling >= nc_threshold
            selected = keep if selected is None else selected & keep
        rows = None
        if stimuli is not None:
            labels = self.get_trial_info(session)["label"].astype(str)
            shared = labels.str.startswith("shared_").to_numpy()
            rows = np.flatnonzero(shared if stimuli == "shared" else ~shared)
        store = self._store(session, mask_source)
        return store.read(rows, None if selected is None else np.flatnonzero(selected))

    def betas(self, trials: int | Sequence[int] | np.ndarray, roi: Roi = None,
              mask: Mask = None, mask_source: str = "anatomical") -> np.ndarray:
        """Betas of global trial indices (rows of ``sub.metadata``, any order and
        sessions): ``(n_voxels,)`` for one index, ``(n, n_voxels)`` for several."""
        single = np.ndim(trials) == 0
        index = np.atleast_1d(np.asarray(trials))
        self.image_names(index)
        meta = self.metadata
        selected = self._voxels(roi, mask, mask_source)
        columns = None if selected is None else np.flatnonzero(selected)
        sessions = meta["session"].to_numpy(object)[index]
        within = meta["session_trial"].to_numpy()[index]
        width = self.get_n_voxels(mask_source) if columns is None else len(columns)
        out = np.empty((len(index), width), np.float32)
        for session in dict.fromkeys(sessions):
            where = np.flatnonzero(sessions == session)
            out[where] = self._store(session, mask_source).read(within[where], columns)
        return out[0] if single else out

    # ── brain space ───────────────────────────────────────────────────────────────────

    def _positions(self, roi: Roi, mask: Mask, mask_source: str) -> np.ndarray:
        """Flat C-order volume positions of the selected brain-mask voxels."""
        positions = np.flatnonzero(self._brain(mask_source)[0])
        selected = self._voxels(roi, mask, mask_source)
        return positions if selected is None else positions[selected]

    def to_nifti(self, values: np.ndarray, output_path: str | os.PathLike, roi: Roi = None,
                 mask: Mask = None, mask_source: str = "anatomical") -> Path:
        """Write per-voxel ``values`` (brain mask, or the ``roi``/``mask`` selection) as a
        3-D float32 NIfTI in the subject's T1w space, zeros elsewhere (atomically)."""
        positions = self._positions(roi, mask, mask_source)
        values = np.asarray(values, np.float32).ravel()
        if len(values) != len(positions):
            raise InvalidDataError(f"values has {len(values)} entries; the selected voxels "
                                   f"number {len(positions)}")
        _, shape, affine = self._brain(mask_source)
        volume = np.zeros(int(np.prod(shape)), np.float32)
        volume[positions] = values
        nib = nifti.nibabel()
        output_path = Path(output_path)
        image = nib.Nifti1Image(volume.reshape(shape), affine)
        image.header.set_xyzt_units("mm")
        suffix = ".nii.gz" if output_path.name.endswith(".gz") else ".nii"
        with atomic_path(output_path) as tmp:
            staged = tmp.with_name(tmp.name + suffix)
            try:
                nib.save(image, str(staged))
                os.replace(staged, tmp)
            finally:
                staged.unlink(missing_ok=True)
        return output_path

    def get_voxel_coordinates(self, roi: Roi = None, mask: Mask = None,
                              mask_source: str = "anatomical") -> np.ndarray:
        """``(n_voxels, 3)`` coordinates in millimetres of the selected voxels, in the
        subject's own T1w space (the original documents them as MNI; they are not)."""
        _, shape, affine = self._brain(mask_source)
        ijk = np.stack(np.unravel_index(self._positions(roi, mask, mask_source), shape), axis=1)
        return ijk @ affine[:3, :3].T + affine[:3, 3]

    # ── encoding models ───────────────────────────────────────────────────────────────

    def encoding_data(self, model: str, sessions: str | Sequence[str] | None = None,
                      roi: Roi = None, mask: Mask = None, stimuli: str | None = None,
                      average_repeats: bool = False, mask_source: str = "anatomical"
                      ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
        """``(X, Y, trials)``: float32 embeddings of ``model`` and betas aligned row by row,
        ready for a regression. ``trials`` is the matching rows of ``sub.metadata``; with
        ``average_repeats`` each image is one row (betas averaged over its trials, NaNs kept
        where every repeat is NaN) and ``trials`` has ``image_name``, ``n_repeats``,
        ``trials`` (the global indices averaged)."""
        meta = self.metadata
        if sessions is None:
            sessions = self.betas_sessions()
        index = self.trial_indices(sessions)
        if stimuli is not None:
            if stimuli not in STIMULI:
                raise InvalidDataError(f"stimuli must be 'shared', 'unique' or None, got "
                                       f"{stimuli!r}")
            shared = meta["image_name"].astype(str).str.startswith("shared_").to_numpy()[index]
            index = index[shared if stimuli == "shared" else ~shared]
        Y = self.betas(index, roi=roi, mask=mask, mask_source=mask_source)
        if not average_repeats:
            return self.embeddings.get(model, index).astype(np.float32), Y, meta.loc[index]
        names = meta["image_name"].to_numpy(object)[index]
        groups = pd.Series(np.arange(len(index))).groupby(names, sort=False)
        order = list(groups.indices.items())
        Y = average_rows(Y, [rows for _, rows in order])
        firsts = np.array([index[rows[0]] for _, rows in order])
        table = pd.DataFrame({"image_name": [name for name, _ in order],
                              "n_repeats": [len(rows) for _, rows in order],
                              "trials": [index[rows].tolist() for _, rows in order]})
        return self.embeddings.get(model, firsts).astype(np.float32), Y, table

    def to_torch_dataset(self, **kwargs: Any) -> SubjectTrialsDataset:
        """This subject's trials as a ``torch.utils.data.Dataset`` (see
        :class:`~imagesets.laion_fmri.torch_dataset.SubjectTrialsDataset`)."""
        from .torch_dataset import SubjectTrialsDataset

        return SubjectTrialsDataset(self, **kwargs)
