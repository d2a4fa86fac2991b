"""The betas store: built on first use and by the prepare task, resumable per session after a
kill, rebuilt when its source changes, and clear errors for missing or inconsistent files."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

import imagesets
from imagesets import laion_fmri
from imagesets.laion_fmri.betas_store import default_root, store_path
from imagesets.laion_fmri.brain_layout import betas_key
from imagesets.laion_fmri.exceptions import DataNotDownloadedError
from imagesets.laion_fmri.layout import trials_key

from .conftest import masked_betas

REPO = Path(__file__).resolve().parents[2]


def stores(data: Path, subject: str = "sub-01") -> dict[str, Path]:
    return {s: store_path(default_root(), data, subject, s, "anatomical")
            for s in ("ses-01", "ses-02", "ses-03")}


def test_first_use_builds_a_chunked_float32_store_read_by_voxel_and_trial(brain_copy) -> None:
    sub = laion_fmri.load_subject(1, brain_copy)
    path = stores(brain_copy)["ses-01"]
    assert not path.exists()
    sub.get_betas("ses-01", roi="FFA1")
    with h5py.File(path, "r") as f:
        betas = f["betas"]
        assert betas.dtype == np.float32 and betas.shape == (40, sub.get_n_voxels())
        assert betas.chunks[0] < 40 and betas.chunks[1] < betas.shape[1]
    assert not stores(brain_copy)["ses-02"].exists()


def test_prepare_runs_sessions_in_parallel_and_skips_current_ones(brain_copy) -> None:
    sub = laion_fmri.load_subject(1, brain_copy)
    made = sub.prepare_betas(workers=2, verbose=False)
    assert list(made) == ["ses-01", "ses-02", "ses-03"]
    before = {s: p.stat().st_mtime_ns for s, p in made.items()}
    sub.prepare_betas(workers=2, verbose=False)
    assert {s: p.stat().st_mtime_ns for s, p in made.items()} == before
    for session, path in made.items():
        with h5py.File(path, "r") as f:
            np.testing.assert_array_equal(f["betas"][:],
                                          masked_betas(brain_copy, "sub-01", session))


KILLER = """
import os, signal, sys
from imagesets import laion_fmri
from imagesets.laion_fmri import nifti

original = nifti.stream_volumes

def dying(path, offsets, block=16):
    for n, part in enumerate(original(path, offsets, block=8)):
        if "ses-02" in str(path) and n == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        yield part

nifti.stream_volumes = dying
laion_fmri.load_subject(1, sys.argv[1]).prepare_betas(workers=1, verbose=False)
"""


def test_killed_conversion_keeps_finished_sessions_and_resumes(brain_copy,
                                                               imagesets_home) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "IMAGESETS_HOME": str(imagesets_home)}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(KILLER), str(brain_copy)],
                          env=env, capture_output=True, text=True)
    assert done.returncode == -9, done.stderr
    paths = stores(brain_copy)
    assert paths["ses-01"].is_file()
    assert not paths["ses-02"].exists() and not paths["ses-03"].exists()
    first = paths["ses-01"].stat().st_mtime_ns
    sub = laion_fmri.load_subject(1, brain_copy)
    sub.prepare_betas(workers=1, verbose=False)
    assert paths["ses-01"].stat().st_mtime_ns == first
    np.testing.assert_array_equal(sub.get_betas("ses-02"),
                                  masked_betas(brain_copy, "sub-01", "ses-02"))


def test_a_changed_source_file_invalidates_its_session(brain_copy) -> None:
    import nibabel as nib

    sub = laion_fmri.load_subject(1, brain_copy)
    old = sub.get_betas("ses-03", roi="EBA")
    source = brain_copy / betas_key("sub-01", "ses-03")
    image = nib.load(str(source))
    doubled = nib.Nifti1Image(image.get_fdata(dtype=np.float32) * 2, image.affine)
    nib.save(doubled, str(source))
    fresh = laion_fmri.load_subject(1, brain_copy)
    np.testing.assert_array_equal(fresh.get_betas("ses-03", roi="EBA"), old * 2)


def test_store_still_serves_after_the_source_is_deleted(brain_copy) -> None:
    sub = laion_fmri.load_subject(1, brain_copy)
    expected = sub.get_betas("ses-01")
    (brain_copy / betas_key("sub-01", "ses-01")).unlink()
    np.testing.assert_array_equal(laion_fmri.load_subject(1, brain_copy).get_betas("ses-01"),
                                  expected)


def test_missing_betas_file_is_data_not_downloaded_naming_it(brain_copy) -> None:
    source = brain_copy / betas_key("sub-01", "ses-02")
    source.unlink()
    sub = laion_fmri.load_subject(1, brain_copy)
    with pytest.raises(DataNotDownloadedError, match=source.name) as caught:
        sub.get_betas("ses-02")
    assert isinstance(caught.value, FileNotFoundError)
    assert "download('sub-01', ses=['ses-02'])" in str(caught.value)


def test_subject_without_any_betas_file_is_an_error_not_an_empty_task(brain_copy) -> None:
    for path in (brain_copy / "derivatives").rglob("*SingletrialBetas_statmap.nii.gz"):
        if "sub-01" in path.name:
            path.unlink()
    with pytest.raises(DataNotDownloadedError, match="no session of sub-01 has a single-trial"):
        laion_fmri.load_subject(1, brain_copy).prepare_betas()
    with pytest.raises(DataNotDownloadedError):
        imagesets.load("laion_fmri", task="betas", data_dir=brain_copy, subject="sub-01",
                       verbose=False)
    assert imagesets.catalog.Registry().get("laion_fmri", "betas") is None


def test_trials_table_of_another_length_names_both_counts(brain_copy) -> None:
    path = brain_copy / trials_key("sub-01", "ses-01")
    table = pd.read_csv(path, sep="\t")
    table.iloc[:-3].to_csv(path, sep="\t", index=False)
    sub = laion_fmri.load_subject(1, brain_copy)
    with pytest.raises(ValueError, match="has 40 volumes but its trials table .* has 37 rows"):
        sub.get_betas("ses-01")


def test_truncated_betas_file_fails_that_session_only(brain_copy) -> None:
    source = brain_copy / betas_key("sub-01", "ses-02")
    data = gzip.decompress(source.read_bytes())
    source.write_bytes(gzip.compress(data[: len(data) // 2]))
    sub = laion_fmri.load_subject(1, brain_copy)
    with pytest.raises(laion_fmri.exceptions.ImagesetsError,
                       match="1 of 3 sub-01 sessions failed.*ses-02.*truncated"):
        sub.prepare_betas(workers=2, verbose=False)
    paths = stores(brain_copy)
    assert paths["ses-01"].is_file() and paths["ses-03"].is_file()
    assert not paths["ses-02"].exists()
    left = [p.name for p in paths["ses-02"].parent.iterdir() if "ses-02" in p.name]
    assert left == ["ses-02_mask-anatomical.h5.lock"]  # no temp file left behind


def test_cli_prepare_betas_task(brain, imagesets_home) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "IMAGESETS_HOME": str(imagesets_home)}
    done = subprocess.run([sys.executable, "-m", "imagesets.cli.main", "prepare", "laion_fmri",
                           "--task", "betas", "--subject", "sub-03", "--data-dir",
                           str(brain.root), "--workers", "2", "--quiet"],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "laion_fmri/betas ready (ses-01: 40, ses-02: 40, ses-03: 40)" in done.stdout
    record = json.loads((imagesets_home / "laion_fmri" / "betas-sub-03.json").read_text())
    assert sorted(record["sessions"]) == ["ses-01", "ses-02", "ses-03"]
    some = subprocess.run([sys.executable, "-m", "imagesets.cli.main", "prepare", "laion_fmri",
                           "--task", "betas", "--subject", "1", "--sessions", "ses-01", "ses-03",
                           "--data-dir", str(brain.root), "--quiet"],
                          env=env, capture_output=True, text=True)
    assert some.returncode == 0, some.stderr
    assert "laion_fmri/betas ready (ses-01: 40, ses-03: 40)" in some.stdout
    fresh = {**env, "IMAGESETS_HOME": str(imagesets_home / "fresh")}
    bad = subprocess.run([sys.executable, "-m", "imagesets.cli.main", "prepare", "laion_fmri",
                          "--task", "betas", "--data-dir", str(brain.root), "--quiet"],
                         env=fresh, capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stderr.strip().count("\n") == 0 and "--subject sub-01" in bad.stderr


def test_catalog_open_gives_sessions_of_trials(brain) -> None:
    import imagesets

    ds = imagesets.load("laion_fmri", task="betas", data_dir=brain.root, subject="sub-03",
                        verbose=False)
    assert ds.sets == ("ses-01", "ses-02", "ses-03")
    record = ds["ses-02"][4]
    expected = masked_betas(brain.root, "sub-03", "ses-02")
    np.testing.assert_array_equal(record["betas"], expected[4])
    assert record["label"] == pd.read_csv(brain.root / trials_key("sub-03", "ses-02"),
                                          sep="\t")["label"][4]
    np.testing.assert_array_equal(np.stack([r["betas"] for r in ds["ses-02"][[7, 1]]]),
                                  expected[[7, 1]])
    assert ds.info()["sets"] == {"ses-01": 40, "ses-02": 40, "ses-03": 40}


def test_a_changed_brain_mask_invalidates_the_store(brain_copy) -> None:
    import nibabel as nib

    from imagesets.laion_fmri.brain_layout import anatomical_mask_key

    sub = laion_fmri.load_subject(1, brain_copy)
    before = sub.get_betas("ses-01").shape[1]
    path = brain_copy / anatomical_mask_key("sub-01")
    image = nib.load(str(path))
    smaller = np.asarray(image.dataobj).copy()
    smaller[:, :, :9] = 0
    nib.save(nib.Nifti1Image(smaller, image.affine), str(path))
    fresh = laion_fmri.load_subject(1, brain_copy)
    after = fresh.get_betas("ses-01")
    assert after.shape[1] == fresh.get_n_voxels() < before
    np.testing.assert_array_equal(after, masked_betas(brain_copy, "sub-01", "ses-01"))
