"""The laion_fmri API against naive, independent reads of the same files (h5py, pandas)."""

from __future__ import annotations

import io
import json
import shutil
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from PIL import Image

import imagesets
from imagesets import laion_fmri
from imagesets.errors import InvalidDataError, NotFoundError
from imagesets.laion_fmri import (
    Captions,
    Segmentations,
    config,
    dataset_initialize,
    get_data_dir,
    load_embeddings,
    load_stimuli,
    load_subject,
)

STIMULI = "stimuli"


def naive_embeddings(root: Path, model: str) -> dict[str, np.ndarray]:
    with h5py.File(root / STIMULI / f"task-images_desc-{model}_embeddings.h5") as f:
        ids = [x.decode() for x in f["image_ids"][()]]
        return dict(zip(ids, f["embedding"][()], strict=True))


def naive_table(path: Path, sep: str = ",") -> pd.DataFrame:
    return pd.read_csv(path, sep=sep, keep_default_na=False)


def copy_without(sample, tmp_path: Path, *names: str) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(sample.root, target, ignore=shutil.ignore_patterns(*names))
    return target


# --- embeddings -----------------------------------------------------------------------------

def test_embeddings_are_matched_by_name_in_each_file(sample) -> None:
    emb = load_embeddings("all", sample.root)
    assert emb.models == ["CLIP", "DINOv2", "PEcore", "SigLIP2"]
    assert list(emb.ids("CLIP")) != list(emb.ids("DINOv2"))
    wanted = [sample.names[5], sample.names[0], sample.names[5]] + [
        n for n in sample.names if " " in n][:2]
    for model, dim in (("CLIP", 1024), ("DINOv2", 1024), ("PEcore", 1024), ("SigLIP2", 1152)):
        truth = naive_embeddings(sample.root, model)
        rows = emb.get(model, wanted)
        assert rows.shape == (len(wanted), dim) and rows.dtype == np.float16
        np.testing.assert_array_equal(rows, np.stack([truth[n] for n in wanted]))
        one = emb.get(model, wanted[-1])
        assert one.shape == (dim,)
        np.testing.assert_array_equal(one, truth[wanted[-1]])
        assert emb.get(model, []).shape == (0, dim)
        assert emb[model].shape == (len(sample.names), dim)
    norms = np.linalg.norm(emb["CLIP"].astype(np.float32), axis=1)
    assert np.allclose(norms, 1, atol=2e-3)
    assert not np.allclose(np.linalg.norm(emb["DINOv2"].astype(np.float32), axis=1), 1, atol=0.1)
    assert emb.valid("CLIP").all() and len(emb) == len(sample.names)


def test_embedding_errors_name_what_is_wrong(sample) -> None:
    emb = load_embeddings(["CLIP"], sample.root)
    with pytest.raises(KeyError, match="2 image name.*'nope.jpg'"):
        emb.get("CLIP", [sample.names[0], "nope.jpg", "other.png"])
    with pytest.raises(NotFoundError, match="not loaded here"):
        emb.get("DINOv2", sample.names[0])
    with pytest.raises(NotFoundError, match="CLIP, DINOv2, PEcore, SigLIP2"):
        load_embeddings("ResNet", sample.root)


@pytest.mark.parametrize("use_faiss", [False, True])
def test_search_is_exact_cosine(sample, use_faiss: bool) -> None:
    emb = load_embeddings("DINOv2", sample.root)
    matrix = emb["DINOv2"].astype(np.float64)
    unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    names = emb.ids("DINOv2")
    hits = emb.search("DINOv2", names[7], k=5, use_faiss=use_faiss)
    expected = np.argsort(-(unit @ unit[7]))[:5]
    assert hits.names[0] == names[7] and list(hits.indices) == list(expected)
    np.testing.assert_allclose(hits.scores, (unit @ unit[7])[expected], atol=1e-5)
    queries = np.random.default_rng(0).standard_normal((3, 1024)).astype(np.float32)
    batch = emb.search("DINOv2", queries, k=4, use_faiss=use_faiss)
    direct = (queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ unit.T
    assert batch.names.shape == (3, 4)
    np.testing.assert_array_equal(batch.indices, np.argsort(-direct, axis=1)[:, :4])
    assert len(emb.search("DINOv2", [names[0]], k=10_000, use_faiss=use_faiss).names[0]) == \
        len(names)
    with pytest.raises(InvalidDataError, match="1152"):
        emb.search("DINOv2", np.zeros(1152), use_faiss=use_faiss)


# --- segmentations --------------------------------------------------------------------------

def test_segmentations_match_a_naive_reader(sample) -> None:
    seg = Segmentations(sample.root)
    table = naive_table(sample.root / STIMULI / "task-images_desc-segmentations_metadata.csv")
    assert seg.images() == list(dict.fromkeys(table["image_name"]))
    assert len(seg) == len(table)
    with h5py.File(sample.root / STIMULI / "task-images_desc-segmentations.h5") as f:
        masks = f["masks"]
        assert masks.shape[1:] == (1000, 1000) and masks.dtype == np.uint8
        assert masks.compression == "gzip" and masks.shuffle
        for name in seg.images()[:6]:
            rows = table[table["image_name"] == name]
            localized = rows[rows["localized"] == 1]
            assert seg.nouns(name) == list(dict.fromkeys(localized["noun"]))
            assert seg.nouns(name, localized_only=False) == list(dict.fromkeys(rows["noun"]))
            pd.testing.assert_frame_equal(seg.for_image(name)[["mask_row", "noun"]],
                                          rows[["mask_row", "noun"]].reset_index(drop=True))
            for row in rows.itertuples():
                mask = seg.get(name, row.noun, row.instance_id)
                np.testing.assert_array_equal(mask, masks[row.mask_row])
    unlocalised = table[table["localized"] == 0].iloc[0]
    name = unlocalised["image_name"]
    assert unlocalised["noun"] not in seg.nouns(name)
    assert seg.get(name, unlocalised["noun"]).all()
    assert seg.nouns(name, localized_only=False).count(unlocalised["noun"]) == 1


def test_uncovered_images_give_empty_results_and_keyerrors_say_what_exists(sample) -> None:
    seg = Segmentations(sample.root)
    shared = [n for n in sample.names if n.startswith("shared_")]
    uncovered = [n for n in shared if not seg.has_image(n)]
    unique = [n for n in sample.names if n.startswith("unique_")][0]
    assert uncovered and len(uncovered) < len(shared)
    for name in (uncovered[0], unique):
        assert seg.nouns(name) == [] and seg.for_image(name).empty
        assert list(seg.for_image(name).columns) == list(seg.metadata.columns)
        with pytest.raises(KeyError, match="shared images"):
            seg.get(name, "hand")
    name = "shared_12rep_LAION_cluster_1003_i0.jpg"
    with pytest.raises(KeyError, match=r"no noun 'piano'; its nouns are \['fingers', 'hand'"):
        seg.get(name, "piano")
    with pytest.raises(KeyError, match=r"no instance 7 of 'fingers'; its instances are \[0"):
        seg.get(name, "fingers", instance=7)


# --- captions -------------------------------------------------------------------------------

def test_captions_match_a_naive_reader_and_keep_na_text(sample) -> None:
    caps = Captions(sample.root)
    table = naive_table(sample.root / STIMULI / "task-images_desc-captions.csv")
    assert len(caps) == len(table) and set(caps.images()) == set(sample.names)
    for name in sample.names[:12] + [n for n in sample.names if " " in n]:
        rows = table[table["image_name"] == name].sort_values("caption_idx")
        assert caps.human(name) == rows.loc[rows["source"] == "human", "caption"].tolist()
        assert caps.list(name) == rows["caption"].tolist()
        assert caps.list(name, source="ai") == rows.loc[rows["source"] == "ai", "caption"].tolist()
        assert caps.get(name)["caption_idx"].tolist() == rows["caption_idx"].tolist()
    first, second = sample.names[:2]
    assert caps.human(first)[1] == "NA" and caps.human(second)[1] == "n/a"
    assert caps.human(sample.names[3])[1] == "two lines\nof caption"
    assert caps.human(first, limit=2) == caps.human(first)[:2]
    ood = next(n for n in sample.names if "_OOD_" in n)
    unique = next(n for n in sample.names if n.startswith("unique_"))
    assert caps.ai(first) == table.loc[(table["image_name"] == first)
                                       & (table["source"] == "ai"), "caption"].item()
    assert caps.ai(ood) is None and caps.ai(unique) is None
    assert len(caps.human(ood)) == 5 and len(caps.human(unique)) == 3
    for call in (caps.human, caps.ai, caps.list, caps.get):
        with pytest.raises(KeyError, match="'not_a_stimulus.jpg' is not a stimulus name"):
            call("not_a_stimulus.jpg")
    assert caps.metadata.loc[caps.metadata["source"] == "ai", "participant_id"].isna().all()
    with pytest.raises(ValueError, match="'human', 'ai' or None"):
        caps.list(first, source="robot")


def test_caption_index_is_cached_in_the_data_home_and_follows_the_file(
        sample, tmp_path: Path, imagesets_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = copy_without(sample, tmp_path, "*.h5")
    first = Captions(root)
    expected = {n: (first.human(n), first.ai(n), first.list(n)) for n in sample.names}
    cached = list((imagesets_home / "laion_fmri" / "cache").glob("captions-*"))
    assert len(cached) == 1 and (cached[0] / "names.npy").is_file()
    again = Captions(root)
    assert again.human(sample.names[0])[1] == "NA"
    assert isinstance(np.load(cached[0] / "text.npy", mmap_mode="r"), np.memmap)
    assert {n: (again.human(n), again.ai(n), again.list(n)) for n in sample.names} == expected
    assert again.images() == first.images() and len(again) == len(first)
    csv = root / STIMULI / "task-images_desc-captions.csv"
    table = naive_table(csv)
    table.loc[table["image_name"] == sample.names[0], "caption"] = "changed"
    table.to_csv(csv, index=False)
    assert Captions(root).human(sample.names[0]) == ["changed"] * 5
    assert len(list((imagesets_home / "laion_fmri" / "cache").glob("captions-*"))) == 2
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the data home should be")
    monkeypatch.setenv("IMAGESETS_HOME", str(blocked))
    assert Captions(root).ai(sample.names[0]) == "changed"


# --- stimuli --------------------------------------------------------------------------------

def test_stimulus_images_by_index_numpy_index_and_name(sample) -> None:
    stim = load_stimuli(sample.root)
    assert list(stim.metadata.columns) == ["image_name", "dataset", "participant",
                                           "unique_or_shared", "n_reps"]
    with h5py.File(sample.root / STIMULI / "task-images_stimuli.h5") as f:
        raw = bytes(f["images"][3])
    name = stim.metadata.loc[3, "image_name"]
    assert stim.images[3] == stim.images[np.int64(3)] == stim.images[name] == raw
    assert stim.images.get(name).mode == "RGB"
    png = next(n for n in sample.names if n.endswith(".png"))
    original = stim.images.get(png, as_displayed=False)
    shown = np.asarray(stim.images.get(png))
    assert original.mode == "RGBA" and shown.shape[2] == 3
    assert (shown[0, 0] == 128).all()
    np.testing.assert_array_equal(shown[-1], np.asarray(original)[-1, :, :3])
    assert stim.images.array([0, name]).shape == (2, 24, 24, 3)
    n = len(sample.names)
    assert stim.images[-1] == stim.images[n - 1] and stim.images[-n] == stim.images[0]
    for bad in (n, -n - 1):
        with pytest.raises(IndexError, match=f"valid indices are {-n}..{n - 1}"):
            stim.images[bad]
    with pytest.raises(NotFoundError, match="no stimulus is named"):
        stim.images["missing.jpg"]
    assert stim["stimuli"][3]["image_name"] == name and len(stim["stimuli"]) == len(stim)


def test_stimuli_open_with_only_the_derivative_files(sample, tmp_path: Path) -> None:
    root = copy_without(sample, tmp_path, "task-images_stimuli.h5", "task-images_metadata.csv")
    stim = load_stimuli(root)
    assert stim.names() == list(stim.embeddings.image_ids)
    assert stim.captions.human(sample.names[0])[1] == "NA"
    assert stim.segmentations.nouns("shared_12rep_LAION_cluster_1003_i0.jpg")[0] == "fingers"
    with pytest.raises(laion_fmri.StimuliNotDownloadedError,
                       match="stimulus metadata not found.*request access"):
        stim.images[0]
    with pytest.raises(laion_fmri.DataNotDownloadedError, match="no stimuli/ folder"):
        load_stimuli(tmp_path)


# --- subject --------------------------------------------------------------------------------

def test_subject_metadata_concatenates_sessions(sample) -> None:
    with pytest.warns(UserWarning, match=f"{sample.empty_session} has no trials file"):
        sub = load_subject("sub-01", sample.root)
        meta = sub.metadata
    assert list(meta.columns) == ["session", "run", "beta_index", "label", "session_trial",
                                  "image_name", "stim_idx", "unique_or_shared", "dataset"]
    stimuli = naive_table(sample.root / STIMULI / "task-images_metadata.csv")
    frames = [naive_table(sample.root / "derivatives/glmsingle-tedana/sub-01" / s / "func" /
                          f"sub-01_{s}_task-images_desc-SingletrialBetas_trials.tsv", "\t")
              for s in sample.sessions]
    assert list(meta.index) == list(range(sum(map(len, frames))))
    assert meta["label"].tolist() == pd.concat(frames)["label"].tolist()
    assert meta["session_trial"].tolist() == [i for f in frames for i in range(len(f))]
    assert meta["image_name"].equals(meta["label"])
    assert (stimuli.loc[meta["stim_idx"], "image_name"].to_numpy() == meta["image_name"]).all()
    assert (stimuli.loc[meta["stim_idx"], "dataset"].to_numpy() == meta["dataset"]).all()
    assert (meta["unique_or_shared"] == np.where(meta["label"].str.startswith("shared_"),
                                                 "shared", "unique")).all()
    assert meta.groupby("session")["label"].apply(lambda s: s.duplicated().any()).all()
    by_session = meta.groupby("session")["label"].apply(set)
    assert by_session["ses-01"] & by_session["ses-02"]
    assert (meta["label"].str.contains(" ").any() and meta["label"].str.endswith(".png").any())


def test_subject_ids_and_errors(sample) -> None:
    for subject in (1, "1", "01", "sub-01", np.int64(1)):
        assert load_subject(subject, sample.root).subject_id == "sub-01"
    with pytest.raises(laion_fmri.DataNotDownloadedError,
                       match="no data for sub-02.*subjects here: sub-01"):
        load_subject(2, sample.root)
    with pytest.raises(laion_fmri.SubjectNotFoundError, match="not a sub identifier"):
        load_subject("sub-0 1", sample.root)
    sub = load_subject(1, sample.root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        n = len(sub.metadata)
    with pytest.raises(IndexError, match=f"valid indices are {-n}..{n - 1}"):
        sub.embeddings.get("CLIP", n)
    assert sub.embeddings.all("CLIP", session=9).shape == (0, 1024)


@pytest.mark.filterwarnings("ignore:sub-01 ses-04")
def test_subject_accessors_follow_the_trials(sample) -> None:
    sub = load_subject("sub-01", sample.root)
    meta = sub.metadata
    truth = naive_embeddings(sample.root, "PEcore")
    everything = sub.embeddings.all("PEcore")
    np.testing.assert_array_equal(everything, np.stack([truth[n] for n in meta["image_name"]]))
    np.testing.assert_array_equal(sub.embeddings.get("PEcore", 5), truth[meta.loc[5,
                                                                                  "image_name"]])
    np.testing.assert_array_equal(sub.embeddings.get("PEcore", [5, 5, 0]), everything[[5, 5, 0]])
    ses2 = sub.embeddings.all("PEcore", session="ses-02")
    np.testing.assert_array_equal(ses2, everything[(meta["session"] == "ses-02").to_numpy()])
    both = sub.embeddings.all("PEcore", session=["ses-01", 3])
    assert len(both) == meta["session"].isin(["ses-01", "ses-03"]).sum()
    assert sub.embeddings.all("PEcore", session=[]).shape == (0, 1024)
    stim = load_stimuli(sample.root)
    for trial in range(len(meta)):
        name = meta.loc[trial, "image_name"]
        assert sub.segmentations.has_image(trial) == stim.segmentations.has_image(name)
        assert sub.segmentations.nouns(trial) == stim.segmentations.nouns(name)
        assert sub.captions.human(trial) == stim.captions.human(name)
        assert sub.captions.ai(trial) == stim.captions.ai(name)
    covered = next(t for t in range(len(meta)) if sub.segmentations.nouns(t))
    noun = sub.segmentations.nouns(covered)[0]
    np.testing.assert_array_equal(sub.segmentations.get(covered, noun),
                                  stim.segmentations.get(meta.loc[covered, "image_name"], noun))
    assert sub.images[covered] == stim.images[meta.loc[covered, "image_name"]]
    assert sub.images.array("ses-01").shape == ((meta["session"] == "ses-01").sum(), 24, 24, 3)
    assert Image.open(io.BytesIO(sub.images[0])).size == sub.images.get(0).size


@pytest.mark.filterwarnings("ignore:sub-01 ses-04")
def test_subject_works_without_the_gated_files(sample, tmp_path: Path) -> None:
    root = copy_without(sample, tmp_path, "task-images_stimuli.h5", "task-images_metadata.csv")
    with pytest.warns(UserWarning, match="stim_idx is -1"):
        meta = load_subject(1, root).metadata
    sub = load_subject(1, root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert sub.embeddings.all("CLIP").shape == (len(meta), 1024)
    assert (meta["stim_idx"] == -1).all() and meta["dataset"].isna().all()
    assert set(meta["unique_or_shared"]) == {"shared", "unique"}
    assert sub.captions.list(0) == load_stimuli(root).captions.list(meta.loc[0, "image_name"])


# --- configuration --------------------------------------------------------------------------

def test_data_dir_resolution_order(sample, tmp_path: Path, clean_config: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(laion_fmri.DataDirNotSetError) as caught:
        get_data_dir()
    message = str(caught.value)
    assert "LAION_FMRI_DATA_DIR" in message and "imagesets catalog" in message
    assert str(clean_config / "laion_fmri" / "config.json") in message
    config.config_file().parent.mkdir(parents=True)
    config.config_file().write_text(json.dumps({"data_dir": str(tmp_path / "from-config")}))
    assert get_data_dir() == str(tmp_path / "from-config")
    dataset_initialize(str(sample.root))
    assert json.loads(config.config_file().read_text())["data_dir"] == str(sample.root)
    assert get_data_dir() == str(sample.root)
    config.config_file().write_text(json.dumps({"data_dir": str(tmp_path / "ignored")}))
    assert get_data_dir() == str(sample.root)
    monkeypatch.setenv("LAION_FMRI_DATA_DIR", str(tmp_path))
    assert get_data_dir() == str(tmp_path)
    assert load_embeddings("CLIP", data_dir=sample.root).data_dir == sample.root
    with pytest.raises(NotFoundError, match="does not exist"):
        dataset_initialize(tmp_path / "absent")


def test_catalog_prepare_and_open(sample, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from imagesets.cli.main import main

    assert main(["prepare", "laion_fmri", "--data-dir", str(sample.root), "--quiet"]) == 0
    assert (f"laion_fmri/stimuli ready (stimuli: {len(sample.names)}, {sample.subject}: "
            in capsys.readouterr().out)
    dataset = imagesets.load("laion_fmri", verbose=False)
    assert dataset.data_dir == sample.root and dataset.stimuli.data_dir == sample.root
    assert dataset["stimuli"][0]["image_name"] == sample.names[0]
    assert dataset.sets == ("stimuli", sample.subject)
    trials = dataset.subject(sample.subject).metadata
    assert dataset[sample.subject].column("image_name") == trials["image_name"].tolist()
    assert str(sample.root / "stimuli" / "task-images_desc-captions.csv") in \
        dataset.info()["files"]
    prepared = json.loads(Path(imagesets.info("laion_fmri")["prepared"]["stimuli"]
                               ["metadata_file"]).read_text())
    assert prepared["files"]["task-images_metadata.csv"] > 0
    (tmp_path / "stimuli").mkdir()
    assert main(["prepare", "laion_fmri", "--data-dir", str(tmp_path), "--force"]) == 1
    assert "no LAION-fMRI stimulus files" in capsys.readouterr().err


def test_caption_index_lookups_follow_numpy_string_order() -> None:
    from imagesets.laion_fmri.captions import CaptionIndex

    frame = pd.DataFrame({"image_name": ["b", "é x.png", "a", "Z", "b"],
                          "caption_idx": [2, 1, 1, 0, 1], "source": ["human"] * 3 + ["ai", "human"],
                          "caption": ["b2", "é1", "a1", "Z0", "b1"]})
    index = CaptionIndex.build(frame)
    assert list(index.names) == sorted(index.names)
    assert [index.texts(n) for n in ("a", "b", "é x.png", "Z", "missing")] == [
        ["a1"], ["b1", "b2"], ["é1"], ["Z0"], []]
    assert index.texts("Z", 2) == ["Z0"] and index.texts("Z", 1) == []
    assert index.names[index.first_seen].tolist() == ["b", "é x.png", "a", "Z"]
