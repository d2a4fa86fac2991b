"""Reuse that is never stale, rebuilds that never surprise: input stamps, format versions and
declared options, through the public API on real trees and real metadata files."""

from __future__ import annotations

import json
import shutil

import h5py
import pytest

import imagesets
from imagesets.catalog import Registry
from imagesets.demo import sample_path
from imagesets.errors import InvalidDataError, NotFoundError
from imagesets.store.writer import ATTRIBUTE

from .ilsvrc2012.trees import BY_WNID, make_tree, touch, write_devkit_files
from .ilsvrc2012_raw256.images import image_tree, jpeg, train_image


@pytest.fixture
def tree(tmp_path):
    tree = make_tree(tmp_path / "data", val_count=6)
    write_devkit_files(tree)
    return tree


def test_unchanged_inputs_are_reused_without_work(tree, capsys):
    imagesets.load("ilsvrc2012", data_dir=tree.root, verbose=False)
    path = Registry().get("ilsvrc2012", "classification").metadata_file
    stamp = h5py.File(path, "r").id.get_filesize()
    again = imagesets.load("ilsvrc2012", verbose=True)
    assert len(again["train"]) == 10 and h5py.File(path, "r").id.get_filesize() == stamp
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("change", ["add train image", "remove train image", "new class folder",
                                    "add val image", "rewrite ground truth"])
def test_changed_inputs_rebuild_with_one_line(tree, capsys, change):
    imagesets.load("ilsvrc2012", data_dir=tree.root, verbose=False)
    before = Registry().get("ilsvrc2012", "classification").inputs
    expected_train, expected_val = 10, 6
    if change == "add train image":
        touch(tree.root / "train" / "n01440764" / "n01440764_999999.JPEG")
        expected_train += 1
    elif change == "remove train image":
        (tree.root / "train" / "n07920052" / tree.train["n07920052"][0]).unlink()
        expected_train -= 1
    elif change == "new class folder":
        touch(tree.root / "train" / "n01443537" / "n01443537_1.JPEG")
        expected_train += 1
    elif change == "add val image":
        touch(tree.root / "val" / "ILSVRC2012_val_00000007.JPEG")
        truth = tree.root / "ILSVRC2012_devkit_t12" / "data" / \
            "ILSVRC2012_validation_ground_truth.txt"
        truth.write_text(truth.read_text() + "1\n")
        expected_val += 1
    else:
        truth = tree.root / "ILSVRC2012_devkit_t12" / "data" / \
            "ILSVRC2012_validation_ground_truth.txt"
        labels = truth.read_text().split()
        first = str(BY_WNID["n01440764"].devkit_id)
        truth.write_text("\n".join([first] + labels[1:]) + "\n")
    loader = imagesets.load("ilsvrc2012", verbose=True)
    out = capsys.readouterr().out
    assert f"ilsvrc2012/classification: rebuilding: the files in {tree.root} changed" in out
    assert Registry().get("ilsvrc2012", "classification").inputs != before
    assert (len(loader["train"]), len(loader["val"])) == (expected_train, expected_val)
    if change == "rewrite ground truth":
        assert loader["val"][0]["classes"] == "n01440764"


def test_a_plain_load_after_one_set_gives_the_default_sets(tree, capsys):
    only_val = imagesets.load("ilsvrc2012", data_dir=tree.root, verbose=False, sets=["val"])
    assert only_val.sets == ("val",)
    assert Registry().get("ilsvrc2012", "classification").parameters == {"sets": ["val"]}
    both = imagesets.load("ilsvrc2012", verbose=True)
    assert both.sets == ("train", "val")
    assert "rebuilding: options changed: sets ['val'] -> ['train', 'val']" in \
        capsys.readouterr().out
    assert Registry().get("ilsvrc2012", "classification").parameters == {
        "sets": ["train", "val"]}


def test_option_values_are_checked_against_their_declaration(tree):
    with pytest.raises(InvalidDataError, match="option sets must be one of train, val, got"):
        imagesets.load("ilsvrc2012", data_dir=tree.root, verbose=False, sets=["test"])
    with pytest.raises(InvalidDataError, match="option quality takes a int, got '90'"):
        imagesets.load("ilsvrc2012", task="raw256", data_dir=tree.root, verbose=False,
                       quality="90")
    with pytest.raises(InvalidDataError, match="option workers must be at least 1, got 0"):
        imagesets.load("ilsvrc2012", task="raw256", data_dir=tree.root, verbose=False,
                       workers=0)
    with pytest.raises(NotFoundError, match="does not take the option.*colour"):
        imagesets.load("ilsvrc2012", data_dir=tree.root, verbose=False, colour=True)
    assert imagesets.info("ilsvrc2012")["prepared"] == {}


def test_newer_format_is_refused_older_is_rebuilt(tree, capsys):
    loader = imagesets.load("ilsvrc2012", data_dir=tree.root, verbose=False)
    path = loader.hdf5_filepath
    loader.close()
    def stamp(version: int) -> None:
        with h5py.File(path, "a") as h5:
            attributes = json.loads(h5.attrs[ATTRIBUTE])
            h5.attrs[ATTRIBUTE] = json.dumps({**attributes, "format_version": version})

    stamp(99)
    with pytest.raises(InvalidDataError, match=r"newer imagesets \(format 99; this one reads "
                                               r"format 1\).*--force"):
        imagesets.load("ilsvrc2012", verbose=False)
    stamp(0)
    imagesets.load("ilsvrc2012", verbose=True)
    assert "rebuilding: its metadata file has format 0" in capsys.readouterr().out
    with h5py.File(path, "r") as h5:
        assert json.loads(h5.attrs[ATTRIBUTE])["format_version"] == 1


def test_newer_format_in_the_registry_is_refused_for_json_indexes(tmp_path):
    imagesets.load("panocaps", data_dir=sample_path("panocaps"), verbose=False)
    registry = Registry()
    data = json.loads(registry.path.read_text())
    data["datasets"]["panocaps"]["tasks"]["grounded_captioning"]["format_version"] = 2
    registry.path.write_text(json.dumps(data))
    with pytest.raises(InvalidDataError, match="newer imagesets.*prepare panocaps --task "
                                               "grounded_captioning --force"):
        imagesets.load("panocaps", verbose=False)
    imagesets.process("panocaps", verbose=False)
    assert Registry().get("panocaps", "grounded_captioning").format_version == 1


def test_panocaps_and_laion_fmri_rebuild_when_their_files_change(tmp_path, capsys):
    root = tmp_path / "panocaps"
    shutil.copytree(sample_path("panocaps"), root)
    imagesets.load("panocaps", data_dir=root, verbose=False)
    (root / "annotations" / "val_caption.json").write_text(
        (root / "annotations" / "val_caption.json").read_text() + "\n")
    imagesets.load("panocaps", verbose=True)
    assert "panocaps/grounded_captioning: rebuilding: the files in" in capsys.readouterr().out
    imagesets.load("panocaps", verbose=True)
    assert "rebuilding" not in capsys.readouterr().out

    stimuli = tmp_path / "laion" / "stimuli"
    stimuli.mkdir(parents=True)
    (stimuli / "task-images_desc-captions.csv").write_text("image_name,caption\n")
    imagesets.load("laion_fmri", data_dir=tmp_path / "laion", verbose=False)
    (stimuli / "task-images_metadata.csv").write_text("image_name\n")
    imagesets.load("laion_fmri", verbose=True)
    assert "laion_fmri/stimuli: rebuilding: the files in" in capsys.readouterr().out
    assert "task-images_metadata.csv" in json.loads(
        open(Registry().get("laion_fmri", "stimuli").metadata_file).read())["files"]


def test_runtime_options_never_rebuild_nor_drop_the_output_dir(tmp_path, capsys):
    tree = image_tree(tmp_path / "imagenet", per_class=1, val_count=2)
    out = tmp_path / "resized"
    imagesets.load("ilsvrc2012", task="raw256", data_dir=tree.root, verbose=False,
                   output_dir=out, workers=1)
    record = Registry().get("ilsvrc2012", "raw256")
    assert record.parameters == {"sets": ["train", "val"], "output_dir": str(out),
                                 "quality": 90, "exclude_corrupt": False}
    for options in ({"workers": 2}, {"workers": 2, "engine": "local", "output_dir": out}):
        again = imagesets.load("ilsvrc2012", task="raw256", verbose=True, **options)
        assert capsys.readouterr().out == ""
        assert again.image_root() == out
    assert Registry().get("ilsvrc2012", "raw256") == record
    assert not (tree.root / "train256").exists()


def test_exclude_corrupt_then_without_it_rebuilds_with_the_fixed_files(tmp_path, capsys):
    tree = image_tree(tmp_path / "imagenet", per_class=1, val_count=2)
    bad = train_image(tree, 0)
    good = bad.read_bytes()
    bad.write_bytes(b"not a jpeg")
    first = imagesets.load("ilsvrc2012", task="raw256", data_dir=tree.root, verbose=False,
                           exclude_corrupt=True)
    assert len(first["train"]) == 2
    assert first.attributes["excluded_files"].keys() == {bad.relative_to(tree.root).as_posix()}
    first.close()
    bad.write_bytes(good if good != b"not a jpeg" else jpeg())
    fixed = imagesets.load("ilsvrc2012", task="raw256", verbose=True)
    assert "options changed: exclude_corrupt True -> False" in capsys.readouterr().out
    assert len(fixed["train"]) == 3 and fixed.attributes["excluded_files"] == {}


def test_a_record_from_before_input_stamps_is_rebuilt_once(tree, capsys):
    imagesets.load("ilsvrc2012", data_dir=tree.root, verbose=False)
    registry = Registry()
    data = json.loads(registry.path.read_text())
    old = data["datasets"]["ilsvrc2012"]["tasks"]["classification"]
    del old["inputs"], old["format_version"]
    registry.path.write_text(json.dumps(data))
    imagesets.load("ilsvrc2012", verbose=True)
    assert "rebuilding: no stamp of its input files was recorded" in capsys.readouterr().out
    imagesets.load("ilsvrc2012", verbose=True)
    assert capsys.readouterr().out == ""
