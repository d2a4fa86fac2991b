"""Bad inputs give one clear error naming what was expected, where, and how to fix it."""

from __future__ import annotations

import pytest

from imagesets.errors import InvalidDataError, NotFoundError
from imagesets.ilsvrc2012 import scan_ilsvrc2012

from .trees import ground_truth_text, make_tree, touch, write_devkit_files


def scan(path):
    return scan_ilsvrc2012(path, verbose=False)


def test_missing_data_dir(tmp_path):
    with pytest.raises(NotFoundError, match="does not exist"):
        scan(tmp_path / "nope")


@pytest.mark.parametrize("missing", ["train", "val"])
def test_missing_set_folder(tmp_path, missing):
    tree = make_tree(tmp_path)
    write_devkit_files(tree)
    (tmp_path / missing).rename(tmp_path / "moved")
    with pytest.raises(NotFoundError, match=f"no {missing} folder .* found under .*--sets"):
        scan(tmp_path)


def test_unknown_wnid_folder(tmp_path):
    tree = make_tree(tmp_path)
    write_devkit_files(tree)
    touch(tmp_path / "train" / "n99999999" / "x.JPEG")
    with pytest.raises(InvalidDataError, match="'n99999999' .* not one of the 1000"):
        scan(tmp_path)


def test_empty_class_folder(tmp_path):
    tree = make_tree(tmp_path)
    write_devkit_files(tree)
    (tmp_path / "train" / "n01443537").mkdir()
    with pytest.raises(InvalidDataError, match="n01443537 contains no images"):
        scan(tmp_path)


@pytest.mark.parametrize("lines", [5, 11])
def test_ground_truth_with_wrong_number_of_lines(tmp_path, lines):
    make_tree(tmp_path, val_count=10)
    text = "\n".join(["1"] * lines) + "\n"
    touch(tmp_path / "ILSVRC2012_validation_ground_truth.txt", text.encode())
    with pytest.raises(InvalidDataError, match=f"has {lines} lines; expected 50,000"):
        scan(tmp_path)


def test_ground_truth_with_bad_id(tmp_path):
    make_tree(tmp_path, val_count=3)
    touch(tmp_path / "ILSVRC2012_validation_ground_truth.txt", b"1\n1001\n3\n")
    with pytest.raises(InvalidDataError, match="line 2: class id 1001"):
        scan(tmp_path)


def test_unreadable_meta_mat(tmp_path):
    tree = make_tree(tmp_path)
    touch(tmp_path / "meta.mat", b"MATLAB 5.0 MAT-file, but truncated")
    touch(tmp_path / "ILSVRC2012_validation_ground_truth.txt", ground_truth_text(tree).encode())
    with pytest.raises(InvalidDataError, match="cannot read the ILSVRC2012 devkit meta.mat"):
        scan(tmp_path)


def test_flat_val_without_ground_truth(tmp_path):
    make_tree(tmp_path)
    with pytest.raises(NotFoundError, match="ILSVRC2012_validation_ground_truth.txt"):
        scan(tmp_path)


def test_unnumbered_val_image(tmp_path):
    tree = make_tree(tmp_path)
    write_devkit_files(tree)
    touch(tmp_path / "val" / "my_photo.JPEG")
    with pytest.raises(InvalidDataError, match="my_photo.JPEG is not named ILSVRC2012_val_"):
        scan(tmp_path)


def test_unextracted_train_archives(tmp_path):
    tree = make_tree(tmp_path)
    write_devkit_files(tree)
    (tmp_path / "train").rename(tmp_path / "old")
    touch(tmp_path / "train" / "n01440764.tar", b"")
    with pytest.raises(InvalidDataError, match="per-class .tar archives .* extract them"):
        scan(tmp_path)
