"""The classification metadata file: every published field's dtype, shape, padding, content."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import imagesets
from imagesets.ilsvrc2012 import build_classification_metadata

from .trees import BY_WNID, SYNSETS, expected_set, make_tree, write_devkit_files


def padded(strings: list[str]) -> np.ndarray:
    """Independent encoding: one row per string, ASCII codes, zero padded to longest + 1."""
    width = max(len(s) for s in strings) + 1
    out = np.zeros((len(strings), width), dtype=np.uint8)
    for i, s in enumerate(strings):
        out[i, : len(s)] = [ord(c) for c in s]
    return out


@pytest.fixture()
def built(tmp_path):
    tree = make_tree(tmp_path / "imagenet", val_count=15)
    write_devkit_files(tree)
    out = tmp_path / "classification.h5"
    build_classification_metadata(tree.root, out, verbose=False)
    return tree, out


def test_published_fields_exactly(built):
    tree, out = built
    wnids = [s.wnid for s in SYNSETS]
    with h5py.File(out, "r") as h5:
        assert sorted(h5.keys()) == ["train", "val"]
        for set_name in ("train", "val"):
            group = h5[set_name]
            paths, set_wnids = expected_set(tree, set_name)
            class_index = [wnids.index(w) for w in set_wnids]
            expected = {
                "image_filenames": padded(paths),
                "classes": padded(wnids),
                "labels": padded([BY_WNID[w].words for w in wnids]),
                "descriptions": padded([BY_WNID[w].gloss for w in wnids]),
                "object_fields": padded(["image_filenames", "classes"]),
                "object_ids": np.array([[i, c] for i, c in enumerate(class_index)]),
            }
            for name, value in expected.items():
                assert group[name].dtype == (np.int32 if name == "object_ids" else np.uint8), name
                np.testing.assert_array_equal(group[name][()], value, err_msg=name)
            assert group["classes"].shape == (1000, 10)
            assert group["object_fields"].shape == (2, 16)
            per_class = group["list_image_filenames_per_class"][()]
            assert per_class.dtype == np.int32
            counts = np.bincount(class_index, minlength=1000)
            assert per_class.shape == (1000, counts.max())
            for k in range(1000):
                rows = [i for i, c in enumerate(class_index) if c == k]
                assert per_class[k, : len(rows)].tolist() == rows
                assert (per_class[k, len(rows):] == -1).all()
            np.testing.assert_array_equal(group["ilsvrc2012_ids"][()],
                                          [BY_WNID[w].devkit_id for w in wnids])


def test_loader_reads_back_records_and_strings(built):
    tree, out = built
    loader = imagesets.store.MetadataLoader(out, "ilsvrc2012", "classification")
    paths, set_wnids = expected_set(tree, "val")
    assert loader.sets == ("train", "val")
    assert len(loader["val"]) == len(paths)
    assert loader.get("val", "image_filenames", convert=True) == paths
    assert loader["val"]["classes"].strings([3, 0, 3]) == [
        sorted(BY_WNID)[i] for i in (3, 0, 3)]
    records = list(loader["val"])
    assert [r["image_filenames"] for r in records] == paths
    assert [r["classes"] for r in records] == set_wnids
    assert loader.object_field_id("val", "classes") == 1
    assert loader.size("train") == [sum(len(v) for v in tree.train.values()), 2]
    assert "list_image_filenames_per_class" in loader.list("train")


def test_loader_from_api_gives_words_and_absolute_paths(tmp_path):
    tree = make_tree(tmp_path / "data")
    write_devkit_files(tree)
    ds = imagesets.load("ilsvrc2012", data_dir=tree.root, verbose=False)
    paths, wnids = expected_set(tree, "train")
    record = ds["train"][0]
    assert record["classes"] == wnids[0]
    assert record["labels"] == BY_WNID[wnids[0]].words
    assert record["path"] == str(tree.root / paths[0])
    assert ds.absolute_paths("train") == [str(tree.root / p) for p in paths]
    assert ds.absolute_paths("train", 1) == str(tree.root / paths[1])


def test_moved_data_folder_keeps_working(tmp_path):
    tree = make_tree(tmp_path / "old")
    write_devkit_files(tree)
    out = tmp_path / "meta.h5"
    build_classification_metadata(tree.root, out, verbose=False)
    moved = tmp_path / "new"
    tree.root.rename(moved)
    loader = imagesets.ilsvrc2012.Ilsvrc2012Loader(out, data_dir=moved)
    first = loader.absolute_paths("val", 0)
    assert first.startswith(str(moved)) and (moved / loader["val"][0]["image_filenames"]).exists()


def test_interrupted_build_leaves_no_file(tmp_path, monkeypatch):
    tree = make_tree(tmp_path / "data")
    write_devkit_files(tree)
    out = tmp_path / "meta.h5"
    import imagesets.store.writer as writer

    def explode(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(writer.h5py.Group, "create_dataset", explode)
    with pytest.raises(KeyboardInterrupt):
        build_classification_metadata(tree.root, out, verbose=False)
    assert list(tmp_path.glob("*.h5")) == [] and list(tmp_path.glob(".meta.h5*")) == []
