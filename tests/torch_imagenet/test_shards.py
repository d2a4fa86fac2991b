"""raw256 --format shards: the files, the index, webdataset reading them, resume after a kill,
truncated shards named on read, ImageNetShards over workers, ranks and fsspec URLs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import fsspec
import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

import imagesets
from imagesets.errors import InvalidDataError, NotFoundError
from imagesets.ilsvrc2012.shards import parse_size
from imagesets.torch import ImageNetShards
from imagesets.torch import transforms as T

from ..ilsvrc2012.trees import make_tree, write_devkit_files
from ..ilsvrc2012_raw256.images import image_tree, jpeg, train_image, truncated_jpeg

SHARD_SIZE = "60KB"  # two or three 341×256 samples per shard


def prepare(tree, home: Path, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "imagesets.cli.main", "--home", str(home), "prepare",
               "ilsvrc2012", "--task", "raw256", "--format", "shards", "--data-dir",
               str(tree.root), "--shard-size", SHARD_SIZE, "--workers", "2", *extra]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def keys_and_labels(ds, set_name: str) -> dict[str, int]:
    """Key → class index from the metadata (independent of the shards)."""
    names = ds[set_name].field("image_filenames").strings()
    labels = np.asarray(ds[set_name].field("object_ids")[:])[:, 1]
    prefix = f"{set_name}/"
    return {n[len(prefix):].rsplit(".", 1)[0]: int(c) for n, c in zip(names, labels, strict=True)}


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    root = tmp_path_factory.mktemp("sharded")
    tree = image_tree(root / "imagenet", per_class=4, val_count=5)
    done = prepare(tree, root / "home", "--seed", "3")
    ds = imagesets.load("ilsvrc2012", task="raw256", home=root / "home", verbose=False)
    return tree, ds, done


def test_cli_writes_named_shards_and_an_index(sharded):
    tree, ds, done = sharded
    assert "raw256: " in done.stdout and "shards written" in done.stdout
    assert ds.attributes["format"] == "shards" and ds.attributes["seed"] == 3
    for set_name, count in (("train", 12), ("val", 5)):
        folder = tree.root / f"{set_name}_shards"
        index = json.loads((folder / f"{set_name}-shards.json").read_text())
        names = sorted(p.name for p in folder.glob("*.tar"))
        assert names == [f"{set_name}-{i:06d}.tar" for i in range(len(names))] and len(names) > 1
        assert [s["name"] for s in index["shards"]] == names
        assert index["num_samples"] == count == sum(s["count"] for s in index["shards"])
        expected = keys_and_labels(ds, set_name)
        found = {}
        for shard in index["shards"]:
            with open(folder / shard["name"], "rb") as fh:
                data = fh.read()
            with tarfile.open(folder / shard["name"]) as tar:
                members = tar.getmembers()
                assert [m.name for m in members] == [f"{k}.{s}" for k in shard["keys"]
                                                     for s in ("jpg", "cls")]
                for key, offset in zip(shard["keys"], shard["offsets"], strict=True):
                    header = tarfile.TarInfo.frombuf(data[offset:offset + 512], "utf-8",
                                                     "surrogateescape")
                    assert header.name == f"{key}.jpg"  # shard i, sample j found by offset
                    found[key] = int(tar.extractfile(f"{key}.cls").read())
                    with Image.open(tar.extractfile(f"{key}.jpg")) as image:
                        assert min(image.size) == 256 and image.mode == "RGB"
        assert found == expected
        order = [k for s in index["shards"] for k in s["keys"]]
        assert order != sorted(order)  # shuffled, by the seed


def test_same_seed_same_order_other_seed_other_order(sharded, tmp_path):
    tree, _, _ = sharded
    index = json.loads((tree.root / "val_shards" / "val-shards.json").read_text())
    out = tmp_path / "out"
    for seed, same in ((3, True), (4, False)):
        prepare(tree, tmp_path / f"home{seed}", "--seed", str(seed), "--sets", "val",
                "--output-dir", str(out / str(seed)))
        other = json.loads((out / str(seed) / "val_shards" / "val-shards.json").read_text())
        keys = [[k for k in s["keys"]] for s in other["shards"]]
        assert (keys == [s["keys"] for s in index["shards"]]) is same


def test_webdataset_reads_the_shards_without_torchvision(sharded):
    tree, ds, _ = sharded
    code = """
import json, sys, webdataset as wds
urls = sorted(str(p) for p in __import__('pathlib').Path(sys.argv[1]).glob('*.tar'))
out = {s['__key__']: s['cls'] for s in wds.WebDataset(urls, shardshuffle=False).decode('rgb')
       if s['jpg'].shape[2] == 3}
print(json.dumps({'labels': out, 'torchvision': 'torchvision' in sys.modules}))
"""
    done = subprocess.run([sys.executable, "-c", code, str(tree.root / "train_shards")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["labels"] == keys_and_labels(ds, "train")
    assert result["torchvision"] is False


def test_imagenet_shards_every_sample_once_across_workers_and_ranks(sharded, monkeypatch):
    tree, ds, _ = sharded
    expected = sorted(keys_and_labels(ds, "train").values())
    transform = T.Compose([T.RandomResizedCrop(64), T.RandomHorizontalFlip(), T.ToTensor()])
    data = ImageNetShards(tree.root / "train_shards", transform=transform, shuffle_buffer=4)
    assert data.num_samples == 12 and data.classes == ds["train"].field("classes").strings()
    seen = []
    for rank in range(2):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "2")
        loader = DataLoader(data, batch_size=2, num_workers=2)
        for images, targets in loader:
            assert images.shape[1:] == (3, 64, 64)
            seen += targets.tolist()
    assert sorted(seen) == expected
    monkeypatch.delenv("RANK")
    monkeypatch.delenv("WORLD_SIZE")
    orders = []
    for epoch in (0, 1, 0):
        data.set_epoch(epoch)
        orders.append([int(t) for _, t in data])
    assert sorted(orders[0]) == expected and orders[0] == orders[2] != orders[1]


def test_fsspec_url_and_index_file(sharded):
    tree, ds, _ = sharded
    fs = fsspec.filesystem("memory")
    for path in (tree.root / "val_shards").iterdir():
        fs.pipe(f"/imagenet/val_shards/{path.name}", path.read_bytes())
    from_url = ImageNetShards("memory://imagenet/val_shards", transform=T.ToTensor(False))
    local = ImageNetShards(tree.root / "val_shards" / "val-shards.json",
                           transform=T.ToTensor(False))
    pairs = [(image, target) for image, target in from_url]
    assert [t for _, t in pairs] == [t for _, t in local]
    assert all(torch.equal(a, b) for (a, _), (b, _) in zip(pairs, local, strict=True))
    with pytest.raises(NotFoundError, match="expected one"):
        ImageNetShards(tree.root)


def test_truncated_shard_is_named_on_read(sharded, tmp_path):
    tree, _, _ = sharded
    folder = tmp_path / "val_shards"
    folder.mkdir()
    for path in (tree.root / "val_shards").iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    victim = folder / "val-000001.tar"
    data = victim.read_bytes()
    victim.write_bytes(data[:len(data) // 2])
    with pytest.raises(InvalidDataError, match="val-000001.tar is truncated"):
        list(ImageNetShards(folder))
    with tarfile.open(fileobj=__import__("io").BytesIO(data)) as tar:  # cut at a member end
        first = tar.getmembers()[:2]
        end = first[-1].offset_data + 512
    victim.write_bytes(data[:end])
    with pytest.raises(InvalidDataError, match=r"val-000001.tar is truncated: 1 of \d"):
        list(ImageNetShards(folder))


def shards_of(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.glob("*.tar")}


def test_killed_writer_resumes_and_never_rewrites_a_finished_shard(tmp_path):
    tree = make_tree(tmp_path / "imagenet", train_counts={"n01440764": 60, "n02123045": 60},
                     val_count=2)
    write_devkit_files(tree)
    data = jpeg(500, 375)
    for path in tree.root.rglob("*.JPEG"):
        path.write_bytes(data)
    folder = tree.root / "train_shards"
    command = [sys.executable, "-m", "imagesets.cli.main", "--home", str(tmp_path / "home"),
               "prepare", "ilsvrc2012", "--task", "raw256", "--format", "shards",
               "--data-dir", str(tree.root), "--shard-size", "20KB", "--workers", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while len(shards_of(folder)) < 5:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    before = shards_of(folder)
    assert 5 <= len(before) < 120 and not (folder / "train-shards.json").exists()
    for name in before:  # every tar under a final name is complete
        with tarfile.open(folder / name) as tar:
            assert len(tar.getmembers()) % 2 == 0 and tar.getmembers()
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{len(before)} of" in done.stdout and "already written" in done.stdout
    after = shards_of(folder)
    assert all(after[name] == stamp for name, stamp in before.items())  # never rewritten
    assert not [p for p in folder.iterdir() if p.name.startswith(".") and "tmp" in p.name]
    index = json.loads((folder / "train-shards.json").read_text())
    assert index["num_samples"] == 120 and len(index["shards"]) == len(after)
    assert sum(1 for _ in ImageNetShards(folder, decode="array")) == 120


def test_corrupt_image_keeps_its_shard_unwritten_until_fixed_or_excluded(tmp_path):
    tree = image_tree(tmp_path / "imagenet", per_class=2, val_count=2)
    bad = train_image(tree, 1)
    bad.write_bytes(truncated_jpeg())
    relpath = bad.relative_to(tree.root).as_posix()
    failed = prepare(tree, tmp_path / "home", check=False)
    assert failed.returncode == 1 and relpath in failed.stderr.splitlines()[-1]
    assert "truncated" in failed.stderr and "BytesIO" not in failed.stderr
    assert not (tree.root / "train_shards" / "train-shards.json").exists()
    report = (tmp_path / "home" / "ilsvrc2012" / "raw256_failures.txt").read_text()
    assert report.startswith(f"{relpath}\tOSError: image file is truncated")
    prepare(tree, tmp_path / "home", "--exclude-corrupt")
    ds = imagesets.load("ilsvrc2012", task="raw256", home=tmp_path / "home", verbose=False,
                        exclude_corrupt=True)
    assert list(ds.attributes["excluded_files"]) == [relpath]
    index_file = tree.root / "train_shards" / "train-shards.json"
    index = json.loads(index_file.read_text())
    assert index["num_samples"] == 5 == len(ds["train"])
    still = prepare(tree, tmp_path / "home", check=False)  # not excluded any more: refused
    assert still.returncode == 1 and relpath in still.stderr and not index_file.exists()
    bad.write_bytes(jpeg())  # fixed: the shard that lacked it is rewritten, the others kept
    before = shards_of(tree.root / "train_shards")
    prepare(tree, tmp_path / "home")
    after = shards_of(tree.root / "train_shards")
    assert sum(before[name] != stamp for name, stamp in after.items()) == 1
    fixed = imagesets.load("ilsvrc2012", task="raw256", home=tmp_path / "home", verbose=False)
    assert fixed.attributes["excluded_files"] == {} and len(fixed["train"]) == 6
    assert json.loads(index_file.read_text())["num_samples"] == 6


def test_bad_shard_options_are_one_line_errors(tmp_path):
    tree = image_tree(tmp_path / "imagenet", per_class=1, val_count=1)
    done = prepare(tree, tmp_path / "home", "--shard-size", "lots", check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "shard size 'lots' is not a size" in done.stderr
    assert parse_size("1GB") == 10**9 and parse_size("2GiB") == 2 * 2**30
    assert parse_size(12345) == 12345
    with pytest.raises(InvalidDataError, match="format must be one of folders, shards"):
        imagesets.process("ilsvrc2012", task="raw256", data_dir=tree.root,
                          home=tmp_path / "h2", verbose=False, format="zip")


def test_map_style_dataset_points_shard_users_to_imagenet_shards(sharded):
    from imagesets.torch import ImageNet

    _, ds, _ = sharded
    with pytest.raises(InvalidDataError, match="read them with imagesets.torch.ImageNetShards"):
        ImageNet(ds, "train")
