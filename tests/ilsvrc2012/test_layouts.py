"""Every layout people have: devkit files, devkit archive, packaged fallback, sorted val, Kaggle."""

from __future__ import annotations

import pytest

from imagesets.ilsvrc2012 import scan_ilsvrc2012

from .trees import (
    BY_DEVKIT_ID,
    BY_WNID,
    expected_set,
    ground_truth_text,
    make_kaggle_tree,
    make_tree,
    meta_mat_bytes,
    touch,
    write_devkit_archive,
    write_devkit_files,
)


def listing(scanned, set_name):
    wnids = scanned.classes.wnids
    data = scanned.sets[set_name]
    return data.relpaths, [wnids[i] for i in data.class_indices]


def assert_matches(scanned, tree):
    for set_name in ("train", "val"):
        assert listing(scanned, set_name) == expected_set(tree, set_name), set_name


def test_devkit_meta_mat_and_ground_truth(tmp_path):
    tree = make_tree(tmp_path)
    write_devkit_files(tree)
    scanned = scan_ilsvrc2012(tmp_path, verbose=False)
    assert_matches(scanned, tree)
    assert scanned.classes.source.startswith("meta.mat")


def test_meta_mat_words_are_used(tmp_path):
    tree = make_tree(tmp_path)
    touch(tmp_path / "meta.mat", meta_mat_bytes(words_suffix=" (from meta)"))
    touch(tmp_path / "ILSVRC2012_validation_ground_truth.txt", ground_truth_text(tree).encode())
    scanned = scan_ilsvrc2012(tmp_path, verbose=False)
    assert scanned.classes.words[0] == BY_WNID["n01440764"].words + " (from meta)"
    assert scanned.classes.ilsvrc2012_ids[0] == 449


def test_devkit_archive_read_without_extracting(tmp_path):
    tree = make_tree(tmp_path)
    write_devkit_archive(tree)
    scanned = scan_ilsvrc2012(tmp_path, verbose=False)
    assert_matches(scanned, tree)
    assert not (tmp_path / "ILSVRC2012_devkit_t12").exists()


def test_packaged_classes_when_only_ground_truth(tmp_path):
    tree = make_tree(tmp_path, val_count=30)
    touch(tmp_path / "ILSVRC2012_validation_ground_truth.txt", ground_truth_text(tree).encode())
    scanned = scan_ilsvrc2012(tmp_path, verbose=False)
    assert_matches(scanned, tree)
    assert scanned.classes.source == "packaged class list"


def test_ground_truth_ids_are_devkit_ids_not_wnid_positions(tmp_path):
    make_tree(tmp_path, val_count=1)
    touch(tmp_path / "ILSVRC2012_validation_ground_truth.txt", b"1\n")
    scanned = scan_ilsvrc2012(tmp_path, verbose=False)
    _, wnids = listing(scanned, "val")
    assert wnids == [BY_DEVKIT_ID[1].wnid] == ["n02119789"]
    assert sorted(BY_WNID)[0] != "n02119789"


def test_original_archive_folder_names_and_sorted_val(tmp_path):
    tree = make_tree(tmp_path / "in", train_dir="ILSVRC2012_img_train",
                     val_dir="ILSVRC2012_img_val", val_sorted=True)
    scanned = scan_ilsvrc2012(tmp_path / "in", verbose=False)
    assert_matches(scanned, tree)


def test_nested_data_dir_found(tmp_path):
    tree = make_tree(tmp_path / "imagenet" / "2012")
    write_devkit_files(tree)
    scanned = scan_ilsvrc2012(tmp_path, verbose=False)
    paths, _ = listing(scanned, "train")
    assert paths[0].startswith("imagenet/2012/train/")


def test_kaggle_layout(tmp_path):
    tree = make_kaggle_tree(tmp_path)
    scanned = scan_ilsvrc2012(tmp_path, verbose=False)
    assert_matches(scanned, tree)
    assert scanned.sets["train"].relpaths[0].startswith("ILSVRC/Data/CLS-LOC/train/")


def test_stray_file_in_val_does_not_shift_labels(tmp_path):
    tree = make_tree(tmp_path, val_count=8)
    write_devkit_files(tree)
    touch(tmp_path / "val" / "ILSVRC2012_val_00000000.txt", b"notes")
    touch(tmp_path / "val" / "Thumbs.db", b"x")
    scanned = scan_ilsvrc2012(tmp_path, verbose=False)
    assert_matches(scanned, tree)
    assert sorted(scanned.ignored_files) == ["val/ILSVRC2012_val_00000000.txt", "val/Thumbs.db"]


def test_ground_truth_without_final_newline_read_whole(tmp_path):
    tree = make_tree(tmp_path, val_count=9)
    touch(tmp_path / "ILSVRC2012_validation_ground_truth.txt",
          ground_truth_text(tree, final_newline=False).encode())
    scanned = scan_ilsvrc2012(tmp_path, verbose=False)
    assert_matches(scanned, tree)
    assert len(scanned.sets["val"].relpaths) == 9


def test_train_and_val_share_one_class_index_when_a_set_lacks_classes(tmp_path):
    tree = make_tree(tmp_path, train_counts={"n15075141": 2}, val_count=5)
    write_devkit_files(tree)
    scanned = scan_ilsvrc2012(tmp_path, verbose=False)
    assert scanned.sets["train"].class_indices.tolist() == [999, 999]
    assert len(scanned.classes.wnids) == 1000


@pytest.mark.parametrize("sets", [("val",), ("train",)])
def test_only_some_sets(tmp_path, sets):
    tree = make_tree(tmp_path)
    write_devkit_files(tree)
    (tmp_path / ("train" if sets == ("val",) else "val")).rename(tmp_path / "elsewhere")
    scanned = scan_ilsvrc2012(tmp_path, sets=sets, verbose=False)
    assert list(scanned.sets) == list(sets)
    assert listing(scanned, sets[0]) == expected_set(tree, sets[0])
