"""Every brain accessor against a direct nibabel computation on the sample."""

from __future__ import annotations

import warnings

import nibabel as nib
import numpy as np
import pytest

from imagesets import laion_fmri
from imagesets.laion_fmri.brain_layout import (
    NOISE_CEILING_DESCS,
    anatomical_mask_key,
    r2mean_key,
    session_noise_ceiling_key,
    subject_noise_ceiling_key,
)
from imagesets.testing.laion_fmri import SAMPLE_ROIS

from .conftest import brain_mask, masked_betas, roi_in_brain, volume

SUBJECTS = ("sub-01", "sub-03")


@pytest.fixture
def sub01(brain):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return laion_fmri.load_subject("sub-01", brain.root)


@pytest.mark.parametrize("subject", SUBJECTS)
def test_brain_masks_match_nibabel(brain, subject: str) -> None:
    sub = laion_fmri.load_subject(subject, brain.root)
    expected = brain_mask(brain.root, subject)
    got = sub.get_brain_mask()
    assert got.dtype == bool and got.shape == (int(np.prod(brain.shape)),)
    np.testing.assert_array_equal(got, expected)
    assert sub.get_n_voxels() == expected.sum()
    r2 = volume(brain.root / r2mean_key(subject)).ravel()
    np.testing.assert_array_equal(sub.get_brain_mask("rsquare"), (r2 != 0) & ~np.isnan(r2))
    assert sub.get_n_voxels("rsquare") < sub.get_n_voxels()


@pytest.mark.parametrize("subject", SUBJECTS)
def test_betas_of_every_session_equal_the_nibabel_computation(brain, subject: str) -> None:
    sub = laion_fmri.load_subject(subject, brain.root)
    for session in brain.sessions[subject]:
        got = sub.get_betas(session)
        expected = masked_betas(brain.root, subject, session)
        assert got.dtype == np.float32
        assert got.shape == (len(sub.get_trial_info(session)), sub.get_n_voxels())
        assert np.isnan(got).any()
        np.testing.assert_array_equal(got, expected)


def test_roi_masks_names_and_categories(brain, sub01) -> None:
    assert sub01.get_available_categories() == sorted(SAMPLE_ROIS)
    assert sub01.get_available_rois() == sorted(r for names in SAMPLE_ROIS.values()
                                                for r in names)
    assert sub01.get_available_rois("face") == sorted(SAMPLE_ROIS["face"])
    for category, names in SAMPLE_ROIS.items():
        for roi in names:
            np.testing.assert_array_equal(sub01.get_roi_mask(roi),
                                          roi_in_brain(brain.root, "sub-01", category, roi))
    face = roi_in_brain(brain.root, "sub-01", "face", "FFA1") | roi_in_brain(
        brain.root, "sub-01", "face", "OFA")
    np.testing.assert_array_equal(sub01.get_roi_mask("face"), face)
    union = face | roi_in_brain(brain.root, "sub-01", "body", "EBA")
    np.testing.assert_array_equal(sub01.get_roi_mask(["face", "EBA"]), union)
    everything = sub01.get_roi_mask("all")
    assert everything.sum() > union.sum()
    masks = sub01.get_roi_masks(["FFA1", "EBA"])
    assert list(masks) == ["FFA1", "EBA"]


def test_betas_by_roi_mask_threshold_and_stimuli(brain, sub01) -> None:
    full = masked_betas(brain.root, "sub-01", "ses-02")
    roi = sub01.get_roi_mask("FFA1")
    np.testing.assert_array_equal(sub01.get_betas("ses-02", roi="FFA1"), full[:, roi])
    custom = np.zeros(sub01.get_n_voxels(), bool)
    custom[[0, 5, 17, 300]] = True
    np.testing.assert_array_equal(sub01.get_betas("ses-02", mask=custom), full[:, custom])
    ceiling = volume(brain.root / session_noise_ceiling_key("sub-01", "ses-02")).ravel()[
        brain_mask(brain.root, "sub-01")]
    kept = roi & (ceiling >= 40)
    assert 0 < kept.sum() < roi.sum()
    np.testing.assert_array_equal(
        sub01.get_betas("ses-02", roi="FFA1", nc_threshold=40), full[:, kept])
    labels = sub01.get_trial_info("ses-02")["label"].astype(str)
    shared = labels.str.startswith("shared_").to_numpy()
    assert 0 < shared.sum() < len(shared)
    np.testing.assert_array_equal(sub01.get_betas("ses-02", stimuli="shared"), full[shared])
    np.testing.assert_array_equal(sub01.get_betas("ses-02", roi="face", stimuli="unique"),
                                  full[~shared][:, sub01.get_roi_mask("face")])
    both = sub01.get_betas(["ses-01", "ses-02"], roi="EBA")
    assert list(both) == ["ses-01", "ses-02"]
    np.testing.assert_array_equal(both["ses-02"], full[:, sub01.get_roi_mask("EBA")])


def test_threshold_below_one_warns_that_ceilings_are_percent(sub01) -> None:
    with pytest.warns(UserWarning, match="percent"):
        got = sub01.get_betas("ses-01", roi="FFA1", nc_threshold=0.3)
    ceiling = sub01.get_noise_ceiling(session="ses-01", roi="FFA1")
    kept = ceiling >= 0.3                       # still applied, as percent, after the warning
    assert kept.any()
    np.testing.assert_array_equal(got, sub01.get_betas("ses-01", roi="FFA1")[:, kept])


def test_betas_by_global_trial_index_in_any_order(brain, sub01) -> None:
    meta = sub01.metadata
    trials = [len(meta) - 1, 3, 45, 3, 0]
    got = sub01.betas(trials, roi="OFA")
    roi = sub01.get_roi_mask("OFA")
    for row, trial in zip(got, trials, strict=True):
        session, within = meta.loc[trial, ["session", "session_trial"]]
        np.testing.assert_array_equal(row, masked_betas(brain.root, "sub-01", session)[within,
                                                                                        roi])
    assert sub01.betas(45).shape == (sub01.get_n_voxels(),)


def test_noise_ceilings_in_percent(brain, sub01) -> None:
    inside = brain_mask(brain.root, "sub-01")
    session = sub01.get_noise_ceiling(session="ses-01")
    expected = volume(brain.root / session_noise_ceiling_key("sub-01", "ses-01")).ravel()[inside]
    assert session.dtype == np.float32
    np.testing.assert_array_equal(session, expected)
    assert session.max() > 1 and session.max() <= 100
    maps = sub01.get_noise_ceiling(desc=list(NOISE_CEILING_DESCS), roi="EBA")
    for desc, values in maps.items():
        expected = volume(brain.root / subject_noise_ceiling_key("sub-01", desc)).ravel()
        np.testing.assert_array_equal(values, expected[inside][sub01.get_roi_mask("EBA")])
    with pytest.raises(ValueError, match="exactly one"):
        sub01.get_noise_ceiling()
    with pytest.raises(ValueError, match="exactly one"):
        sub01.get_noise_ceiling(session="ses-01", desc="Noiseceiling4rep")


def test_voxel_coordinates_are_the_affine_of_the_mask_voxels(brain, sub01) -> None:
    image = nib.load(str(brain.root / anatomical_mask_key("sub-01")))
    ijk = np.argwhere(np.asarray(image.dataobj) != 0)
    expected = nib.affines.apply_affine(image.affine, ijk)
    np.testing.assert_allclose(sub01.get_voxel_coordinates(), expected, atol=1e-5)
    roi = sub01.get_roi_mask("FFA1")
    np.testing.assert_allclose(sub01.get_voxel_coordinates(roi="FFA1"), expected[roi],
                               atol=1e-5)


def test_to_nifti_round_trips_through_nibabel(brain, sub01, tmp_path) -> None:
    values = np.arange(sub01.get_roi_mask("face").sum(), dtype=np.float32) + 1
    path = sub01.to_nifti(values, tmp_path / "face.nii.gz", roi="face")
    image = nib.load(str(path))
    assert image.shape == brain.shape and image.get_data_dtype() == np.float32
    np.testing.assert_allclose(image.affine, brain.affines["sub-01"])
    flat = np.asarray(image.dataobj).ravel()
    positions = np.flatnonzero(brain_mask(brain.root, "sub-01"))[sub01.get_roi_mask("face")]
    np.testing.assert_array_equal(flat[positions], values)
    assert np.count_nonzero(flat) == len(values)
    whole = sub01.to_nifti(np.ones(sub01.get_n_voxels()), tmp_path / "brain.nii")
    assert np.asarray(nib.load(str(whole)).dataobj).sum() == sub01.get_n_voxels()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["brain.nii", "face.nii.gz"]


def test_bad_input_gives_one_clear_error_each(brain, sub01) -> None:
    with pytest.raises(ValueError, match=r"ROI 'V9' not found.*FFA1"):
        sub01.get_betas("ses-01", roi="V9")
    with pytest.raises(ValueError, match=f"length {sub01.get_n_voxels()}"):
        sub01.get_betas("ses-01", mask=np.ones(10, bool))
    with pytest.raises(ValueError, match="mutually exclusive"):
        sub01.get_betas("ses-01", roi="FFA1", mask=sub01.get_roi_mask("FFA1"))
    with pytest.raises(ValueError, match="session is required"):
        sub01.get_betas(None)
    with pytest.raises(ValueError, match="stimuli must be"):
        sub01.get_betas("ses-01", stimuli="both")
    with pytest.raises(ValueError, match="values has 3 entries"):
        sub01.to_nifti(np.ones(3), brain.root / "never.nii.gz", roi="FFA1")
    assert not (brain.root / "never.nii.gz").exists()
    with pytest.raises(laion_fmri.exceptions.NoMatchingDataError, match="categories"):
        sub01.get_available_rois("places")


def test_rsquare_mask_source_selects_its_own_voxels(brain, sub01) -> None:
    r2 = volume(brain.root / r2mean_key("sub-01")).ravel()
    inside = (r2 != 0) & ~np.isnan(r2)
    data = volume(brain.root / "derivatives/glmsingle-tedana/sub-01/ses-01/func/"
                  "sub-01_ses-01_task-images_space-T1w_stat-effect_desc-SingletrialBetas_"
                  "statmap.nii.gz")
    expected = data.reshape(-1, data.shape[3])[inside].T
    np.testing.assert_array_equal(sub01.get_betas("ses-01", mask_source="rsquare"), expected)
    roi = (volume(brain.root / "derivatives/rois/sub-01/face/sub-01_space-T1w_res-1pt8_"
                  "label-OFA_mask.nii.gz").ravel() != 0)[inside]
    np.testing.assert_array_equal(sub01.get_betas("ses-01", roi="OFA", mask_source="rsquare"),
                                  expected[:, roi])
