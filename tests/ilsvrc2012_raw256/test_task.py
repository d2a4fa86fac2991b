"""The raw256 task end to end: outputs, metadata, quirks in a tree, corrupt files, options."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import h5py
import numpy as np
import pytest
from PIL import Image

import imagesets
from imagesets.catalog import Registry
from imagesets.errors import InvalidDataError
from imagesets.ilsvrc2012 import build_classification_metadata
from imagesets.ilsvrc2012.raw256 import output_relpath
from imagesets.ilsvrc2012.scan import SetListing

from .images import cmyk_jpeg, gray_jpeg, image_tree, jpeg, png, train_image, truncated_jpeg


def plant_quirks(tree) -> dict[str, str]:
    """Replace four training images by the ImageNet quirks; return relpath -> quirk."""
    quirks = {"cmyk": cmyk_jpeg(), "png": png(), "grayscale": gray_jpeg(),
              "small": jpeg(160, 120)}
    planted = {}
    for index, (name, data) in enumerate(quirks.items()):
        path = train_image(tree, index)
        path.write_bytes(data)
        planted[path.relative_to(tree.root).as_posix()] = name
    return planted


def short_sides(loader, set_name: str) -> set[int]:
    return {min(Image.open(p).size) for p in loader.absolute_paths(set_name)}


def test_prepare_writes_resized_copies_and_the_classification_layout(tmp_path):
    tree = image_tree(tmp_path / "imagenet")
    planted = plant_quirks(tree)
    ds = imagesets.load("ilsvrc2012", task="raw256", data_dir=tree.root, verbose=False,
                        workers=2)
    reference = tmp_path / "classification.h5"
    build_classification_metadata(tree.root, reference, verbose=False)
    with h5py.File(reference, "r") as h5:
        for set_name in ("train", "val"):
            expected = [p.replace(f"{set_name}/", f"{set_name}256/", 1) for p in
                        (b.tobytes().rstrip(b"\0").decode()
                         for b in h5[set_name]["image_filenames"][()])]
            assert ds[set_name].field("image_filenames").strings() == expected
            for name in ("object_ids", "classes", "labels", "list_image_filenames_per_class"):
                assert np.array_equal(ds[set_name].field(name)[:], h5[set_name][name][()])
            assert short_sides(ds, set_name) == {256}
    for relpath in planted:
        out = tree.root / relpath.replace("train/", "train256/", 1)
        with Image.open(out) as image:
            assert (image.format, image.mode) == ("JPEG", "RGB")
    record = ds.record("train", 0)
    assert record["path"].startswith(str(tree.root / "train256"))
    attributes = ds.attributes
    assert attributes["task"] == "raw256" and attributes["quality"] == 90
    assert attributes["excluded_files"] == {}


def test_corrupt_file_blocks_registration_until_excluded_or_fixed(tmp_path, imagesets_home):
    tree = image_tree(tmp_path / "imagenet")
    bad = train_image(tree, 2)
    bad.write_bytes(truncated_jpeg())
    relpath = bad.relative_to(tree.root).as_posix()
    total = len(list(tree.root.rglob("*.JPEG")))
    with pytest.raises(InvalidDataError, match=relpath) as caught:
        imagesets.load("ilsvrc2012", task="raw256", data_dir=tree.root, verbose=False)
    assert "--exclude-corrupt" in str(caught.value)
    assert Registry(imagesets_home).get("ilsvrc2012", "raw256") is None
    report = imagesets_home / "ilsvrc2012" / "raw256_failures.txt"
    assert report.read_text().startswith(f"{relpath}\tOSError: image file is truncated")
    assert len(list((tree.root / "train256").rglob("*.JPEG"))) + \
        len(list((tree.root / "val256").rglob("*.JPEG"))) == total - 1

    ds = imagesets.load("ilsvrc2012", task="raw256", data_dir=tree.root, verbose=False,
                        exclude_corrupt=True)
    assert list(ds.attributes["excluded_files"]) == [relpath]
    assert len(ds["train"]) == 8 and relpath.split("/")[-1] not in \
        " ".join(ds["train"].field("image_filenames").strings())
    assert Registry(imagesets_home).get("ilsvrc2012", "raw256").parameters["exclude_corrupt"]

    bad.write_bytes(jpeg())
    fixed = imagesets.process("ilsvrc2012", task="raw256", data_dir=tree.root, verbose=False)
    assert len(fixed["train"]) == 9 and fixed.attributes["excluded_files"] == {}
    assert not report.exists()


def test_output_dir_quality_and_reuse(tmp_path, imagesets_home):
    tree = image_tree(tmp_path / "imagenet", per_class=1, val_count=2)
    out = tmp_path / "resized"
    ds = imagesets.load("ilsvrc2012", task="raw256", data_dir=tree.root, verbose=False,
                        output_dir=str(out), quality=70)
    assert not (tree.root / "train256").exists()
    assert ds.image_root() == out
    assert all(p.startswith(str(out / "val256")) for p in ds.absolute_paths("val"))
    manifest = json.loads((out / "train256" / ".imagesets-raw256.json").read_text())
    assert manifest == {"format": "JPEG", "quality": 70, "short_side": 256}
    record = Registry(imagesets_home).get("ilsvrc2012", "raw256")
    assert record.parameters == {"output_dir": str(out), "quality": 70,
                                 "sets": ["train", "val"], "exclude_corrupt": False}
    created = record.created
    again = imagesets.load("ilsvrc2012", task="raw256", verbose=False)
    assert again.hdf5_filepath == ds.hdf5_filepath
    assert Registry(imagesets_home).get("ilsvrc2012", "raw256").created == created
    with pytest.raises(InvalidDataError, match="quality"):
        imagesets.process("ilsvrc2012", task="raw256", verbose=False, output_dir=str(out),
                          quality=90)


def test_cli_prepare_raw256_and_one_line_errors(tmp_path):
    tree = image_tree(tmp_path / "imagenet", per_class=1, val_count=2)
    command = [sys.executable, "-m", "imagesets.cli.main", "--home", str(tmp_path / "home"),
               "prepare", "ilsvrc2012", "--task", "raw256", "--data-dir", str(tree.root)]
    done = subprocess.run(command + ["--workers", "2", "--quality", "85"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "raw256: 5 resized, 0 already done, 0 failed" in done.stdout
    assert done.stdout.strip().endswith("ilsvrc2012/raw256 ready (train: 3, val: 2)")
    with Image.open(next((tree.root / "val256").glob("*.JPEG"))) as image:
        assert image.format == "JPEG"
    bad = train_image(tree, 0)
    bad.write_bytes(b"not a jpeg")
    failed = subprocess.run(command + ["--force", "--quality", "85"], capture_output=True,
                            text=True, timeout=120)
    assert failed.returncode == 1
    last = failed.stderr.strip().splitlines()[-1]  # after the progress bar
    assert "Traceback" not in failed.stderr
    assert last.startswith("imagesets: error: 1 image(s) could not be resized")
    assert bad.relative_to(tree.root).as_posix() in last
    assert f"could not resize {bad.relative_to(tree.root).as_posix()}" in failed.stdout
    wrong = subprocess.run(command + ["--workers", "0"], capture_output=True, text=True,
                           timeout=120)
    assert wrong.returncode == 1 and "workers must be at least 1" in wrong.stderr
    with Image.open(io.BytesIO((tree.root / "train256" / bad.relative_to(
            tree.root / "train")).read_bytes())) as image:
        assert min(image.size) == 256  # the earlier good copy is kept, not deleted


@pytest.mark.parametrize(("source_dir", "relpath", "expected"), [
    ("train", "train/n01440764/n01440764_1.JPEG", "train256/n01440764/n01440764_1.JPEG"),
    ("ILSVRC/Data/CLS-LOC/train", "ILSVRC/Data/CLS-LOC/train/n01440764/a.JPEG",
     "train256/n01440764/a.JPEG"),
    ("ILSVRC2012_img_train", "ILSVRC2012_img_train/n01440764/b.png",
     "train256/n01440764/b.png.JPEG"),
    ("val", "val/ILSVRC2012_val_00000001.jpg", "val256/ILSVRC2012_val_00000001.jpg")])
def test_output_paths_in_every_layout(tmp_path, source_dir, relpath, expected):
    listing = SetListing([relpath], np.zeros(1, dtype=np.int32), tmp_path / source_dir)
    set_name = expected.split("256/")[0]
    assert output_relpath(set_name, listing, tmp_path, relpath) == expected
