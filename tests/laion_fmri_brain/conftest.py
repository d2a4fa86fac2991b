"""The LAION-fMRI sample with its brain files (NIfTI written by nibabel), and direct nibabel
computations to compare the accessors with."""

from __future__ import annotations

import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from imagesets.laion_fmri.brain_layout import anatomical_mask_key, betas_key, roi_key
from imagesets.testing.laion_fmri import (
    BrainSample,
    write_brain_sample,
    write_sample_dataset,
)

from ..laion_fmri.conftest import clean_config, moto_s3, pick_names, real_names  # noqa: F401


@pytest.fixture(scope="session")
def brain(tmp_path_factory: pytest.TempPathFactory) -> BrainSample:
    """Sample + brain files for sub-01 and sub-03 (read-only: copy before changing)."""
    names = pick_names(real_names())
    sample = write_sample_dataset(tmp_path_factory.mktemp("laion_fmri_brain"), names)
    return write_brain_sample(sample, names)


@pytest.fixture
def brain_copy(brain: BrainSample, tmp_path: Path) -> Path:
    """A private copy of the brain sample's data folder (for tests that change files)."""
    return Path(shutil.copytree(brain.root, tmp_path / "data"))


def volume(path: Path) -> np.ndarray:
    return nib.load(str(path)).get_fdata(dtype=np.float32)


def brain_mask(root: Path, subject: str) -> np.ndarray:
    """Flat C-order bool, straight from nibabel."""
    return volume(root / anatomical_mask_key(subject)).ravel() != 0


def masked_betas(root: Path, subject: str, session: str) -> np.ndarray:
    """The original's way: load the whole 4-D file, then mask each volume."""
    data = volume(root / betas_key(subject, session))
    mask = brain_mask(root, subject)
    return np.stack([data[..., t].ravel()[mask] for t in range(data.shape[3])])


def roi_in_brain(root: Path, subject: str, category: str, roi: str) -> np.ndarray:
    return (volume(root / roi_key(subject, category, roi)).ravel() != 0)[brain_mask(root,
                                                                                    subject)]
