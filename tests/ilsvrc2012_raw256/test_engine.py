"""The shared engine: local processes and a real local Ray instance, failures collected."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from imagesets.engine import run_items
from imagesets.errors import InvalidDataError, MissingDependencyError
from imagesets.ilsvrc2012 import resize_ilsvrc2012, scan_ilsvrc2012

from .images import image_tree, train_image, truncated_jpeg


def test_local_engine_runs_every_item_and_collects_failures():
    items = [str(n) for n in range(200)] + ["x", "1.5"]
    run = run_items(int, items, workers=2, verbose=False)
    assert sorted(run.results) == list(range(200))
    assert [(f.item, f.error.split(":")[0]) for f in run.failures] == \
        [("x", "ValueError"), ("1.5", "ValueError")]
    assert run.workers == 2 and run.engine == "local" and run.items_per_second > 0


def test_empty_and_invalid_runs():
    assert run_items(int, [], verbose=False).results == []
    with pytest.raises(InvalidDataError, match="workers must be at least 1"):
        run_items(int, ["1"], workers=0)
    with pytest.raises(InvalidDataError, match="choose one of local, ray"):
        run_items(int, ["1"], engine="spark")


def test_ray_missing_gives_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without ray sees
    with pytest.raises(MissingDependencyError, match=r"pip install 'imagesets\[ray\]'"):
        run_items(int, ["1"], engine="ray")


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")}


def test_ray_job_matches_the_local_engine_byte_for_byte(tmp_path):
    tree = image_tree(tmp_path / "imagenet", per_class=4, val_count=4)
    bad = train_image(tree, 1)
    bad.write_bytes(truncated_jpeg())
    scanned = scan_ilsvrc2012(tree.root, verbose=False)
    local = resize_ilsvrc2012(scanned, tmp_path / "local", workers=2, verbose=False)
    on_ray = resize_ilsvrc2012(scanned, tmp_path / "ray", workers=2, engine="ray",
                               verbose=False)
    assert on_ray.workers == 2
    expected = files(tmp_path / "local")
    assert len(expected) == 12 + 4 - 1
    assert files(tmp_path / "ray") == expected
    relpath = bad.relative_to(tree.root).as_posix()
    assert list(on_ray.failed_relpaths(tree.root)) == list(local.failed_relpaths(tree.root)) \
        == [relpath]
    assert sum(on_ray.kinds.values()) == sum(local.kinds.values()) == 15
