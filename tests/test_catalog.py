"""Catalog entries, the per-user registry, and the load/process/remove API."""

from __future__ import annotations

import json
import multiprocessing
import os

import pytest

import imagesets
from imagesets.catalog import PreparedTask, Registry, data_home, get_entry
from imagesets.errors import InvalidDataError, NotFoundError

from .ilsvrc2012.trees import make_tree, write_devkit_files


def test_catalog_lists_ilsvrc2012():
    rows = {row["name"]: row for row in imagesets.list_datasets()}
    assert rows["ilsvrc2012"]["downloadable"] == "no"
    assert rows["ilsvrc2012"]["tasks"].split(", ")[0] == "classification*"
    entry = get_entry("ILSVRC2012")
    assert entry.resolve_task(None) == "classification"
    with pytest.raises(NotFoundError, match="no task 'segm'.*classification"):
        entry.resolve_task("segm")
    with pytest.raises(NotFoundError, match="unknown dataset 'coco'.*ilsvrc2012"):
        get_entry("coco")
    summary = imagesets.info("ilsvrc2012")
    assert summary["downloadable"] is False and "image-net.org" in summary["setup"]
    assert summary["prepared"] == {}


def test_data_home_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("IMAGESETS_HOME", str(tmp_path / "env"))
    assert data_home() == tmp_path / "env"
    assert data_home(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("IMAGESETS_HOME")
    assert data_home().name == "imagesets"


def test_load_is_idempotent_and_process_rebuilds(tmp_path):
    tree = make_tree(tmp_path / "data")
    write_devkit_files(tree)
    first = imagesets.load("ilsvrc2012", data_dir=tree.root, verbose=False)
    path = first.hdf5_filepath
    stamp = os.stat(path).st_mtime_ns
    os.utime(path, ns=(stamp - 10**9, stamp - 10**9))
    stamp = os.stat(path).st_mtime_ns
    second = imagesets.load("ilsvrc2012", verbose=False)
    assert second.hdf5_filepath == path and os.stat(path).st_mtime_ns == stamp
    assert len(second["val"]) == len(tree.val_labels)
    record = Registry().get("ilsvrc2012", "classification")
    assert record.data_dir == str(tree.root) and len(record.fingerprint) == 64
    third = imagesets.process("ilsvrc2012", verbose=False)
    assert os.stat(third.hdf5_filepath).st_mtime_ns != stamp


def test_load_rebuilds_when_options_differ(tmp_path):
    tree = make_tree(tmp_path / "data")
    write_devkit_files(tree)
    both = imagesets.load("ilsvrc2012", data_dir=tree.root, verbose=False)
    assert both.sets == ("train", "val")
    only_val = imagesets.load("ilsvrc2012", verbose=False, sets=["val"])
    assert only_val.sets == ("val",)


def test_remove_forgets_and_deletes_metadata(tmp_path):
    tree = make_tree(tmp_path / "data")
    write_devkit_files(tree)
    loader = imagesets.load("ilsvrc2012", data_dir=tree.root, verbose=False)
    loader.close()
    removed = imagesets.remove("ilsvrc2012")
    assert [r.task for r in removed] == ["classification"]
    assert not os.path.exists(removed[0].metadata_file)
    assert imagesets.info("ilsvrc2012")["prepared"] == {}
    assert tree.root.exists()
    assert imagesets.remove("ilsvrc2012") == []


def test_load_without_data_dir_explains(tmp_path):
    with pytest.raises(NotFoundError, match="no data directory is known for 'ilsvrc2012'"):
        imagesets.load("ilsvrc2012", verbose=False)


def test_corrupt_registry_is_reported_not_dropped(imagesets_home):
    path = imagesets_home / "registry.json"
    path.write_text("{ this is not json")
    with pytest.raises(InvalidDataError, match=r"registry.json cannot be parsed.*mv"):
        imagesets.list_datasets()
    assert path.read_text() == "{ this is not json"


def _record_many(home: str, worker: int) -> None:
    registry = Registry(home)
    for i in range(25):
        registry.record(PreparedTask(f"ds{worker}", f"task{i}", "/data", f"/m/{worker}-{i}.h5"))


def test_concurrent_writers_lose_nothing(imagesets_home):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_record_many, args=(str(imagesets_home), w))
               for w in range(3)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    data = json.loads((imagesets_home / "registry.json").read_text())
    assert {name: len(d["tasks"]) for name, d in data["datasets"].items()} == {
        "ds0": 25, "ds1": 25, "ds2": 25}
    assert not list(imagesets_home.glob(".registry.json.*"))


def test_options_a_task_does_not_take_are_refused(tmp_path):
    tree = make_tree(tmp_path / "data")
    write_devkit_files(tree)
    with pytest.raises(NotFoundError, match=r"ilsvrc2012/classification does not take the "
                                            r"option\(s\) workers; it takes: sets"):
        imagesets.load("ilsvrc2012", data_dir=tree.root, verbose=False, workers=2)
    assert imagesets.info("ilsvrc2012")["prepared"] == {}
    with pytest.raises(NotFoundError, match="laion_fmri/stimuli does not take .*no options"):
        imagesets.load("laion_fmri", data_dir=tree.root, verbose=False, sets=["x"])


def test_path_options_are_recorded_as_strings_and_reused(tmp_path):
    from imagesets.demo import sample_path

    images = tmp_path / "images"
    first = imagesets.load("panocaps", data_dir=sample_path("panocaps"), verbose=False,
                           images_dir=images)
    record = Registry().get("panocaps", "grounded_captioning")
    assert record.parameters == {"sets": None, "images_dir": str(images)}
    again = imagesets.load("panocaps", verbose=False, images_dir=images)
    assert again.info()["images_dir"] == first.info()["images_dir"] == str(images)
    assert Registry().get("panocaps", "grounded_captioning").created == record.created
