"""Several subjects aligned on shared stimuli, the PyTorch dataset, and the subject download
from moto's S3 server on loopback."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from imagesets import laion_fmri
from imagesets.laion_fmri.brain_layout import betas_key
from imagesets.laion_fmri.download import download
from imagesets.laion_fmri.exceptions import SubjectNotFoundError
from imagesets.laion_fmri.layout import trials_key

from ..laion_fmri.conftest import s3_client
from .conftest import masked_betas

pytestmark = pytest.mark.filterwarnings("ignore:sub-01 ses-04 has no trials file")


def shared_rows(root, subject: str, session: str) -> tuple[np.ndarray, np.ndarray]:
    """A subject's shared-trial betas and their image names, straight from the files."""
    labels = pd.read_csv(root / trials_key(subject, session), sep="\t")["label"].astype(str)
    keep = labels.str.startswith("shared_").to_numpy()
    return masked_betas(root, subject, session)[keep], labels[keep].to_numpy()


def test_shared_betas_are_aligned_on_the_same_stimuli(brain) -> None:
    group = laion_fmri.load_subjects("all", brain.root)
    assert group.subject_ids == ["sub-01", "sub-03"] and len(group) == 2
    assert group[1].subject_id == "sub-03" and group["sub-01"].subject_id == "sub-01"
    with pytest.raises(KeyError, match="sub-05"):
        group["sub-05"]
    result = group.get_shared_betas("ses-01", roi="face")
    rows = {s: shared_rows(brain.root, s, "ses-01") for s in group.subject_ids}
    common = sorted(set(rows["sub-01"][1]) & set(rows["sub-03"][1]))
    assert result.stimuli == common and len(common) > 0
    for subject_id, (betas, names) in rows.items():
        roi = group[subject_id].get_roi_mask("face")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            expected = np.stack([np.nanmean(betas[names == n][:, roi], axis=0) for n in common])
        assert result[subject_id].shape == (len(common), roi.sum())
        np.testing.assert_allclose(result[subject_id], expected, rtol=1e-6)


def test_shared_betas_can_keep_repeats(brain) -> None:
    group = laion_fmri.load_subjects(["sub-01", 3], brain.root)
    result = group.get_shared_betas(["ses-01", "ses-02"], roi="EBA", repeats="keep")
    rows = {}
    for subject_id in group.subject_ids:
        parts = [shared_rows(brain.root, subject_id, s) for s in ("ses-01", "ses-02")]
        rows[subject_id] = (np.concatenate([p[0] for p in parts]),
                            np.concatenate([p[1] for p in parts]))
    for subject_id, (betas, names) in rows.items():
        roi = group[subject_id].get_roi_mask("EBA")
        for i, (name, k) in enumerate(zip(result.stimuli, result.repeat, strict=True)):
            np.testing.assert_array_equal(result[subject_id][i],
                                          betas[np.flatnonzero(names == name)[k]][roi])
    counts = pd.Series(result.stimuli).value_counts()
    assert counts.max() > 1


def test_torch_dataset_items_match_the_betas(brain) -> None:
    import torch

    sub = laion_fmri.load_subject(1, brain.root)
    dataset = sub.to_torch_dataset(roi="FFA1", model="CLIP", images=True)
    assert len(dataset) == len(sub.metadata) == 120
    item = dataset[45]
    meta = sub.metadata.loc[45]
    expected = masked_betas(brain.root, "sub-01", meta["session"])[meta["session_trial"]]
    np.testing.assert_array_equal(item["betas"].numpy(), expected[sub.get_roi_mask("FFA1")])
    np.testing.assert_array_equal(item["embedding"].numpy(),
                                  sub.embeddings.get("CLIP", 45).astype(np.float32))
    assert item["image"].shape == (3, 24, 24) and item["image"].dtype == torch.uint8
    assert (item["image_name"], item["session"], item["trial"]) == (
        meta["image_name"], meta["session"], 45)
    loader = torch.utils.data.DataLoader(dataset, batch_size=16, num_workers=2)
    batches = list(loader)
    assert sum(len(b["trial"]) for b in batches) == 120
    np.testing.assert_array_equal(batches[2]["betas"][13].numpy(), item["betas"].numpy())
    with pytest.raises(IndexError):
        dataset[120]


@pytest.fixture(scope="module")
def brain_bucket(moto_s3, brain) -> str:
    client = s3_client(moto_s3)
    client.create_bucket(Bucket="laion-fmri",
                         CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    for path in brain.files + [brain.root / trials_key("sub-01", s) for s in brain.sessions[
            "sub-01"]] + [brain.root / trials_key("sub-03", s) for s in brain.sessions["sub-03"]]:
        client.put_object(Bucket="laion-fmri", Key=path.relative_to(brain.root).as_posix(),
                          Body=path.read_bytes(), ACL="public-read")
    return moto_s3


def test_download_a_subject_then_read_its_betas(brain_bucket, brain, tmp_path) -> None:
    target = tmp_path / "data"
    target.mkdir()
    got = download("sub-03", ses=["ses-02"], data_dir=target, endpoint=brain_bucket,
                   n_jobs=2, verbose=False)
    keys = sorted(p.relative_to(target).as_posix() for p in got)
    assert betas_key("sub-03", "ses-02") in keys and trials_key("sub-03", "ses-02") in keys
    assert not any("/ses-01/" in k or "/ses-03/" in k for k in keys)
    assert any(k.startswith("derivatives/rois/sub-03/face/") for k in keys)
    assert any("desc-brain_mask" in k for k in keys)
    assert any("desc-NoiseceilingAllrep" in k for k in keys)
    for path in got:
        assert path.read_bytes() == (brain.root / path.relative_to(target)).read_bytes()
    sub = laion_fmri.load_subject("sub-03", target)
    np.testing.assert_array_equal(sub.get_betas("ses-02", roi="OFA"),
                                  masked_betas(brain.root, "sub-03", "ses-02")[
                                      :, sub.get_roi_mask("OFA")])


def test_download_filters_averages_suffix_and_subjects(brain_bucket, tmp_path) -> None:
    target = tmp_path / "data"
    target.mkdir()
    averages = download(1, ses="averages", include_rois=False, include_anatomical=False,
                        data_dir=target, endpoint=brain_bucket, verbose=False)
    assert averages and all("/ses-" not in p.as_posix() for p in averages)
    assert all("/rois/" not in p.as_posix() for p in averages)
    trials = download("sub-01", suffix="trials", data_dir=target, endpoint=brain_bucket,
                      verbose=False)
    assert len(trials) == 3 and all(p.name.endswith("_trials.tsv") for p in trials)
    with pytest.raises(SubjectNotFoundError, match="sub-02"):
        download("sub-02", data_dir=target, endpoint=brain_bucket, verbose=False)
    with pytest.raises(laion_fmri.exceptions.NoMatchingDataError):
        download("sub-05", data_dir=target, endpoint=brain_bucket, verbose=False)
