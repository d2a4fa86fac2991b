"""``imagesets.laion_fmri`` as a drop-in for the original ``laion_fmri`` package: its exception
classes and the standard errors it raises, the names it exposes, Python indexing, and the
extensions (search, typo detection) behaving without surprises."""

from __future__ import annotations

import warnings

import h5py
import numpy as np
import pandas as pd
import pytest

from imagesets import laion_fmri
from imagesets.errors import ImagesetsError
from imagesets.laion_fmri import embeddings as embeddings_module
from imagesets.laion_fmri import load_embeddings, load_stimuli, load_subject

#: The original package's classes and bases (laion_fmri/_errors.py), as published.
ORIGINAL_BASES = {
    "DataDirNotSetError": Exception,
    "DataNotFoundError": FileNotFoundError,
    "DataNotDownloadedError": "DataNotFoundError",
    "NoMatchingDataError": "DataNotFoundError",
    "SubjectNotFoundError": ValueError,
    "StimuliNotDownloadedError": FileNotFoundError,
    "LicenseNotAcceptedError": RuntimeError,
}
EXAMPLE = "shared_12rep_LAION_cluster_1003_i0.jpg"


@pytest.fixture
def sub(sample) -> laion_fmri.Subject:
    subject = load_subject("sub-01", sample.root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _ = subject.metadata
    return subject


def test_exception_classes_have_the_original_bases() -> None:
    for name, base in ORIGINAL_BASES.items():
        cls = getattr(laion_fmri, name)
        base = getattr(laion_fmri, base) if isinstance(base, str) else base
        assert issubclass(cls, base) and issubclass(cls, ImagesetsError), name


def test_code_written_for_the_original_handles_our_errors(sample, tmp_path) -> None:
    """The error handling of a script written against laion_fmri, unchanged."""
    caught = []
    try:
        load_subject("sub-07", sample.root)
    except laion_fmri.DataNotDownloadedError:
        caught.append("not downloaded")
    try:
        load_subject("sub-x y", sample.root)
    except laion_fmri.SubjectNotFoundError:
        caught.append("bad subject")
    try:
        laion_fmri.get_data_dir()
    except laion_fmri.DataDirNotSetError:
        caught.append("no data dir")
    try:
        load_embeddings("ResNet", sample.root)
    except ValueError:
        caught.append("unknown model")
    try:
        load_embeddings("CLIP", tmp_path)
    except FileNotFoundError:
        caught.append("missing file")
    try:
        laion_fmri.Captions(tmp_path)
    except laion_fmri.DataNotFoundError:
        caught.append("no captions")
    assert caught == ["not downloaded", "bad subject", "no data dir", "unknown model",
                      "missing file", "no captions"]


def test_standard_errors_as_published(sample, sub) -> None:
    emb = load_embeddings("CLIP", sample.root)
    with pytest.raises(KeyError, match="not loaded here"):
        emb.get("DINOv2", EXAMPLE)
    with pytest.raises(KeyError, match="'nope.jpg'"):
        emb.get("CLIP", "nope.jpg")
    n = len(sub.metadata)
    for call in (lambda: sub.embeddings.get("CLIP", n), lambda: sub.captions.human(n),
                 lambda: sub.segmentations.nouns(-n - 1), lambda: sub.images[n]):
        with pytest.raises(IndexError, match=f"valid indices are {-n}..{n - 1}"):
            call()


def test_names_the_original_exposes(sample, sub) -> None:
    assert embeddings_module.AVAILABLE_MODELS == ("CLIP", "DINOv2", "PEcore", "SigLIP2")
    emb = load_embeddings(["CLIP", "SigLIP2"], sample.root)
    assert "CLIP" in emb and "DINOv2" not in emb
    assert ("CLIP", EXAMPLE) in emb and ("SigLIP2", EXAMPLE) in emb
    assert ("CLIP", "nope.jpg") not in emb and ("DINOv2", EXAMPLE) not in emb
    assert 3 not in emb and ("CLIP",) not in emb and ("CLIP", 3) not in emb
    stim = load_stimuli(sample.root)
    names = stim.images.names()
    assert names == stim.metadata["image_name"].tolist()
    assert stim.images.index_of(names[5]) == 5
    with pytest.raises(KeyError, match="no stimulus is named 'nope.jpg'"):
        stim.images.index_of("nope.jpg")
    n = len(names)
    assert names[0] in stim.images and "nope.jpg" not in stim.images
    assert 0 in stim.images and np.int64(n - 1) in stim.images and -n in stim.images
    assert n not in stim.images and -n - 1 not in stim.images
    assert None not in stim.images and 1.0 not in stim.images and True not in stim.images
    pd.testing.assert_frame_equal(sub.captions.for_image(2),
                                  stim.captions.get(sub.metadata.loc[2, "image_name"]))


def test_negative_indices_work_as_in_python(sample, sub) -> None:
    stim = load_stimuli(sample.root)
    n = len(stim)
    assert stim.images[-1] == stim.images[n - 1]
    assert stim["stimuli"][-1] == stim["stimuli"][n - 1]
    with pytest.raises(IndexError, match=f"valid indices are {-n}..{n - 1}"):
        stim["stimuli"][n]
    last = len(sub.metadata) - 1
    np.testing.assert_array_equal(sub.embeddings.get("CLIP", -1),
                                  sub.embeddings.get("CLIP", last))
    np.testing.assert_array_equal(sub.embeddings.get("CLIP", [-1, 0]),
                                  sub.embeddings.get("CLIP", [last, 0]))
    assert sub.captions.human(-1) == sub.captions.human(last)
    assert sub.captions.ai(-2) == sub.captions.ai(last - 1)
    assert sub.segmentations.nouns(-1) == sub.segmentations.nouns(last)
    assert sub.images[-1] == sub.images[last]
    assert sub.image_names(np.int64(-1)) == sub.metadata.loc[last, "image_name"]


def test_session_without_trials_gives_empty_arrays(sample, sub) -> None:
    assert sub.embeddings.all("CLIP", session=sample.empty_session).shape == (0, 1024)
    assert sub.embeddings.all("SigLIP2", session="ses-99").shape == (0, 1152)
    first = sub.metadata["session"].iloc[0]
    images = list(sub.images.all(session=first))
    assert len(images) == (sub.metadata["session"] == first).sum()
    assert images[0].tobytes() == sub.images.get(0).tobytes()


def test_search_queries_one_or_several(sample) -> None:
    emb = load_embeddings("PEcore", sample.root)
    names = emb.ids("PEcore")
    picked = np.array(names[[3, 8, 1]])
    several = emb.search("PEcore", picked, k=4)
    assert several.names.shape == (3, 4) and list(several.names[:, 0]) == list(picked)
    series = pd.Series(picked, index=[10, 20, 30])
    from_series = emb.search("PEcore", series, k=4)
    np.testing.assert_array_equal(from_series.indices, several.indices)
    vector = emb.get("PEcore", names[5]).astype(np.float64)
    as_list = emb.search("PEcore", vector.tolist(), k=3)
    as_array = emb.search("PEcore", vector, k=3)
    assert as_list.names.shape == (3,) and as_list.names[0] == names[5]
    np.testing.assert_array_equal(as_list.indices, as_array.indices)
    assert emb.search("PEcore", names[5], k=1).names.shape == (1,)
    for k in (0, -2):
        with pytest.raises(ValueError, match="k must be a positive number"):
            emb.search("PEcore", names[5], k=k)
    with pytest.raises(KeyError, match="'nope.jpg'"):
        emb.search("PEcore", np.array([names[0], "nope.jpg"]), k=2)


def test_typos_are_key_errors_real_stimuli_without_data_are_empty(sample) -> None:
    stim = load_stimuli(sample.root)
    seg, caps = stim.segmentations, stim.captions
    unique = next(n for n in sample.names if n.startswith("unique_"))
    assert not seg.has_image(unique)
    assert seg.nouns(unique) == [] and seg.for_image(unique).empty
    with pytest.raises(KeyError, match="no segmentation masks"):
        seg.get(unique, "hand")
    for typo in (EXAMPLE[:-4], "shared_12rep_LAION_cluster_1003_i0.jpeg", "hand.jpg"):
        for call in (seg.nouns, seg.for_image, caps.human, caps.ai, caps.get):
            with pytest.raises(KeyError, match="is not a stimulus name"):
                call(typo)
        with pytest.raises(KeyError, match="is not a stimulus name"):
            seg.get(typo, "hand")
        assert not seg.has_image(typo) and typo not in caps
    with pytest.raises(IndexError, match=r"valid indices are -\d+\.\.\d+"):
        seg[10 ** 6]
    with h5py.File(sample.root / "stimuli" / "task-images_desc-segmentations.h5") as f:
        np.testing.assert_array_equal(seg[-1], f["masks"][len(f["masks"]) - 1])
