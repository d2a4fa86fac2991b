"""The ``imagesets`` command, run for real in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess

from .ilsvrc2012.trees import make_tree, write_devkit_files


def command() -> str:
    path = shutil.which("imagesets")
    assert path, "the imagesets console script is not installed (pip install -e .)"
    return path


def run(*args: str, home=None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if home is not None:
        env["IMAGESETS_HOME"] = str(home)
    return subprocess.run([command(), *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_list_and_info(imagesets_home):
    listed = run("list", home=imagesets_home)
    assert listed.returncode == 0
    assert "ilsvrc2012" in listed.stdout and "classification*" in listed.stdout
    info = run("info", "ilsvrc2012", home=imagesets_home)
    assert info.returncode == 0
    assert "downloadable  no" in info.stdout and "imagesets prepare ilsvrc2012" in info.stdout


def test_prepare_then_info_shows_it(tmp_path, imagesets_home):
    tree = make_tree(tmp_path / "data", val_count=5)
    write_devkit_files(tree)
    done = run("prepare", "ilsvrc2012", "--data-dir", str(tree.root), "--quiet",
               home=imagesets_home)
    assert done.returncode == 0, done.stderr
    assert "ilsvrc2012/classification ready (train: 10, val: 5)" in done.stdout
    info = run("info", "ilsvrc2012", "--json", home=imagesets_home)
    assert '"classification"' in info.stdout and str(tree.root) in info.stdout


def test_errors_are_one_line_and_nonzero(tmp_path, imagesets_home):
    missing = run("prepare", "ilsvrc2012", "--data-dir", str(tmp_path / "nowhere"),
                  home=imagesets_home)
    assert missing.returncode == 1
    assert missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr
    assert missing.stderr.startswith("imagesets: error: ILSVRC2012 data directory")
    unknown = run("info", "nosuch", home=imagesets_home)
    assert unknown.returncode == 1 and "known datasets: " in unknown.stderr
    (imagesets_home / "registry.json").write_text("[")
    broken = run("list", home=imagesets_home)
    assert broken.returncode == 1 and "cannot be parsed" in broken.stderr


def test_demo_runs_offline(tmp_path):
    result = subprocess.run([command(), "demo", "-o", str(tmp_path)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "train: 8 images" in result.stdout and "val: 4 images" in result.stdout
    assert "ILSVRC2012_val_00000002.JPEG" in result.stdout and "tabby, tabby cat" in result.stdout
