"""Bad input: one clear line on the command line, exit 1, nothing registered."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat

import imagesets
from imagesets.catalog import Registry
from imagesets.cli.main import main
from imagesets.errors import InvalidDataError

from .ilsvrc2012.test_layouts import assert_matches
from .ilsvrc2012.trees import expected_set, make_kaggle_tree, make_tree, touch, write_devkit_files


def _fails_in_one_line(capsys: pytest.CaptureFixture, *argv: str) -> str:
    code = main(list(argv))
    err = capsys.readouterr().err
    assert code == 1, err
    assert err.count("\n") == 1 and err.startswith("imagesets: error: "), err
    return err


def _nothing_registered(home: Path) -> None:
    assert not (home / "registry.json").exists() or not Registry(home).prepared()


@pytest.mark.parametrize("content", [
    os.urandom(64) + b"\xff\xfe\x00",
    json.dumps({"version": 1, "datasets": {}}).encode("utf-16"),
    b"[1, 2, 3]",
    b'{"version": 1, "datasets": {"ilsvrc2012": 5}}',
    b'{"version": 1, "datasets": {"ilsvrc2012": {"tasks": {"classification": {"x": 1}}}}}',
    b'{"version": 1, "datasets": {"ilsvrc2012": {"data_dir": ["a"], "tasks": {}}}}',
], ids=["random-bytes", "utf-16", "list", "dataset-not-object", "record-wrong-keys",
        "data-dir-not-string"])
def test_damaged_registry_is_one_line_and_kept(content: bytes, imagesets_home: Path,
                                               capsys: pytest.CaptureFixture):
    path = imagesets_home / "registry.json"
    path.write_bytes(content)
    for argv in (("list",), ("info", "ilsvrc2012"), ("remove", "ilsvrc2012")):
        err = _fails_in_one_line(capsys, *argv)
        assert "registry.json cannot be parsed" in err and "mv " in err
    assert path.read_bytes() == content


def test_home_that_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture):
    home = tmp_path / "home-file"
    home.write_text("not a folder")
    monkeypatch.setenv("IMAGESETS_HOME", str(home))
    err = _fails_in_one_line(capsys, "list")
    assert f"{home} (from $IMAGESETS_HOME) is a file, not a folder" in err
    err = _fails_in_one_line(capsys, "--home", str(home), "prepare", "ilsvrc2012",
                             "--data-dir", str(tmp_path))
    assert "from the home argument (CLI: --home)" in err
    assert home.read_text() == "not a folder"


def _kaggle_with(tmp_path: Path, rewrite) -> Path:
    tree = make_kaggle_tree(tmp_path)
    solution = tmp_path / "LOC_val_solution.csv"
    solution.write_bytes(rewrite(solution.read_bytes()))
    return tree


@pytest.mark.parametrize("rewrite", [
    lambda data: b"\xef\xbb\xbf" + data,
    lambda data: data.split(b"\n", 1)[1],
    lambda data: b"\xef\xbb\xbf" + data.split(b"\n", 1)[1].replace(b"\n", b"\r\n"),
], ids=["bom", "no-header", "bom-no-header-crlf"])
def test_kaggle_solution_with_bom_or_without_header(tmp_path: Path, rewrite):
    tree = _kaggle_with(tmp_path, rewrite)
    scanned = imagesets.ilsvrc2012.scan_ilsvrc2012(tmp_path, verbose=False)
    assert_matches(scanned, tree)


def test_kaggle_synset_mapping_with_bom(tmp_path: Path):
    tree = make_kaggle_tree(tmp_path)
    mapping = tmp_path / "LOC_synset_mapping.txt"
    mapping.write_bytes(b"\xef\xbb\xbf" + mapping.read_bytes())
    assert_matches(imagesets.ilsvrc2012.scan_ilsvrc2012(tmp_path, verbose=False), tree)


def test_kaggle_solution_that_is_not_one(tmp_path: Path, capsys: pytest.CaptureFixture,
                                         imagesets_home: Path):
    _kaggle_with(tmp_path, lambda data: b"id;label\n1;cat\n")
    err = _fails_in_one_line(capsys, "prepare", "ilsvrc2012", "--data-dir", str(tmp_path))
    assert "LOC_val_solution.csv, line 1: cannot read 'id;label'" in err
    assert "'ILSVRC2012_val_00000001,n01751748" in err
    _nothing_registered(imagesets_home)


def test_partly_sorted_val_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture,
                                      imagesets_home: Path):
    tree = make_tree(tmp_path, val_count=10)
    write_devkit_files(tree)
    for number in range(1, 5):                          # an interrupted sorting script
        name = f"ILSVRC2012_val_{number:08d}.JPEG"
        target = tmp_path / "val" / tree.val_labels[number] / name
        target.parent.mkdir(exist_ok=True)
        (tmp_path / "val" / name).rename(target)
    err = _fails_in_one_line(capsys, "prepare", "ilsvrc2012", "--data-dir", str(tmp_path))
    assert "partly sorted: 4 images are in class folders and 6 lie directly in it" in err
    assert "Finish sorting" in err and "move every image back up" in err
    _nothing_registered(imagesets_home)


def test_empty_train_is_refused_unless_only_val_is_asked_for(
        tmp_path: Path, capsys: pytest.CaptureFixture, imagesets_home: Path):
    tree = make_tree(tmp_path, val_count=6)
    write_devkit_files(tree)
    shutil.rmtree(tmp_path / "train")
    (tmp_path / "train").mkdir()
    err = _fails_in_one_line(capsys, "prepare", "ilsvrc2012", "--data-dir", str(tmp_path))
    assert "holds no class folders" in err and "--sets val" in err
    _nothing_registered(imagesets_home)
    loader = imagesets.load("ilsvrc2012", data_dir=tmp_path, verbose=False, sets=["val"])
    assert loader.sets == ("val",) and len(loader["val"]) == 6


def test_hidden_and_appledouble_files_are_not_images(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture):
    tree = make_tree(tmp_path, val_count=5)
    write_devkit_files(tree)
    wnid, first = next(iter(tree.train.items()))
    touch(tmp_path / "train" / wnid / f"._{first[0]}", b"\x00\x05\x16\x07AppleDouble")
    touch(tmp_path / "train" / wnid / ".hidden.jpg", b"")
    touch(tmp_path / "val" / "._ILSVRC2012_val_00000001.JPEG", b"\x00\x05\x16\x07")
    touch(tmp_path / "train" / "README.txt", b"notes")
    touch(tmp_path / "train" / "n01440764.JPEG", b"")
    loader = imagesets.load("ilsvrc2012", data_dir=tmp_path)
    out = capsys.readouterr().out
    assert loader["train"].column("image_filenames") == expected_set(tree, "train")[0]
    assert len(loader["val"]) == 5
    assert "skipped 5 non-image file(s)" in out


def test_meta_mat_without_synsets(tmp_path: Path, capsys: pytest.CaptureFixture,
                                  imagesets_home: Path):
    tree = make_tree(tmp_path)
    write_devkit_files(tree)
    buffer = io.BytesIO()
    savemat(buffer, {"classes": np.arange(3)})
    (tmp_path / "ILSVRC2012_devkit_t12" / "data" / "meta.mat").write_bytes(buffer.getvalue())
    err = _fails_in_one_line(capsys, "prepare", "ilsvrc2012", "--data-dir", str(tmp_path))
    assert "meta.mat is a MATLAB file without the 'synsets' variable" in err
    assert "(it holds: classes)" in err and "ILSVRC2012_devkit_t12.tar.gz" in err
    _nothing_registered(imagesets_home)
    with pytest.raises(InvalidDataError):
        imagesets.load("ilsvrc2012", data_dir=tmp_path, verbose=False)
