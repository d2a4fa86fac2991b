"""``remove --delete-data`` deletes only what imagesets downloaded, says what, and asks first."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
from pathlib import Path

import pytest

import imagesets
from imagesets.catalog import Registry
from imagesets.demo import sample_path
from imagesets.downloads.manifest import MANIFEST_NAME, DownloadManifest
from imagesets.errors import ImagesetsError

from .ilsvrc2012.trees import make_tree, write_devkit_files
from .test_cli import command, run

DOWNLOADED = ("data/train-00000-of-00001.parquet", "data/val-00000-of-00001.parquet")


def _downloaded_panocaps(tmp_path: Path) -> Path:
    """A prepared PanoCaps folder whose Parquet files imagesets 'downloaded' (manifest), beside
    the user's own files: the JSON annotations, notes, and a file of theirs inside data/."""
    root = tmp_path / "panocaps"
    shutil.copytree(sample_path("panocaps"), root)
    manifest = DownloadManifest(root)
    for relative in DOWNLOADED:
        manifest.record(relative, size=(root / relative).stat().st_size, verified="sha256",
                        source="https://example.invalid/" + relative)
    manifest.record("data/gone-00000.parquet", size=1, verified="sha256")   # deleted since
    (root / "my_notes.txt").write_text("mine")
    (root / "data" / "my_split.parquet").write_bytes(b"mine too")
    imagesets.load("panocaps", data_dir=root, verbose=False).close()
    return root


def _user_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and not p.name.startswith(MANIFEST_NAME))


def test_cli_deletes_only_downloaded_files_with_yes(tmp_path: Path, imagesets_home: Path):
    root = _downloaded_panocaps(tmp_path)
    before = _user_files(root)
    done = run("remove", "panocaps", "--delete-data", "--yes", home=imagesets_home)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("--delete-data deletes 2 downloaded file(s)")
    assert [line.strip() for line in lines[1:3]] == [str(root / r) for r in DOWNLOADED]
    assert "removed panocaps/grounded_captioning" in done.stdout
    assert _user_files(root) == sorted(set(before) - set(DOWNLOADED))
    assert "data/my_split.parquet" in _user_files(root) and (root / "my_notes.txt").exists()
    assert not (root / MANIFEST_NAME).exists()
    assert Registry(imagesets_home).read()["datasets"] == {}


def test_cli_refuses_without_a_terminal_and_without_yes(tmp_path: Path, imagesets_home: Path):
    root = _downloaded_panocaps(tmp_path)
    before = _user_files(root)
    refused = subprocess.run([command(), "remove", "panocaps", "--delete-data"],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=120, env={**os.environ, "IMAGESETS_HOME": str(imagesets_home)})
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "rerun with --yes" in refused.stderr
    assert _user_files(root) == before
    assert Registry(imagesets_home).get("panocaps", "grounded_captioning") is not None


def _remove_on_a_terminal(answer: str, home: Path) -> tuple[int, str]:
    leader, follower = pty.openpty()
    process = subprocess.Popen([command(), "remove", "panocaps", "--delete-data"],
                               stdin=follower, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env={**os.environ, "IMAGESETS_HOME": str(home)})
    os.close(follower)
    os.write(leader, answer.encode() + b"\n")
    output, _ = process.communicate(timeout=120)
    os.close(leader)
    return process.returncode, output


def test_cli_asks_on_a_terminal(tmp_path: Path, imagesets_home: Path):
    root = _downloaded_panocaps(tmp_path)
    before = _user_files(root)
    code, output = _remove_on_a_terminal("n", imagesets_home)
    assert code == 1 and "Delete them? [y/N]" in output and "not confirmed" in output
    assert _user_files(root) == before
    code, output = _remove_on_a_terminal("y", imagesets_home)
    assert code == 0, output
    assert _user_files(root) == sorted(set(before) - set(DOWNLOADED))


def test_user_provided_data_is_never_deleted(tmp_path: Path, imagesets_home: Path):
    tree = make_tree(tmp_path / "imagenet")
    write_devkit_files(tree)
    imagesets.load("ilsvrc2012", data_dir=tree.root, verbose=False).close()
    before = sorted(tree.root.rglob("*"))
    refused = run("remove", "ilsvrc2012", "--delete-data", "--yes", home=imagesets_home)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "provided by you" in refused.stderr and "Traceback" not in refused.stderr
    assert sorted(tree.root.rglob("*")) == before
    assert Registry(imagesets_home).get("ilsvrc2012", "classification") is not None

    own = tmp_path / "own_panocaps"
    shutil.copytree(sample_path("panocaps"), own)
    imagesets.load("panocaps", data_dir=own, verbose=False).close()
    with pytest.raises(ImagesetsError, match=r"downloaded nothing there .*files are yours"):
        imagesets.remove("panocaps", delete_data=True, confirm=True)
    assert len(_user_files(own)) == 6


def test_api_needs_confirmation_and_a_whole_dataset(tmp_path: Path):
    root = _downloaded_panocaps(tmp_path)
    before = _user_files(root)
    with pytest.raises(ImagesetsError, match=r"2 downloaded file\(s\) of panocaps was not "
                                             r"confirmed"):
        imagesets.remove("panocaps", delete_data=True)
    with pytest.raises(ImagesetsError, match="leave out the task"):
        imagesets.remove("panocaps", task="grounded_captioning", delete_data=True, confirm=True)
    seen: list[list[Path]] = []
    with pytest.raises(ImagesetsError, match="not confirmed"):
        imagesets.remove("panocaps", delete_data=True, confirm=lambda f: seen.append(f) or False)
    assert seen == [[root / r for r in DOWNLOADED]] and _user_files(root) == before
    removed = imagesets.remove("panocaps", delete_data=True, confirm=True)
    assert [r.task for r in removed] == ["grounded_captioning"]
    assert _user_files(root) == sorted(set(before) - set(DOWNLOADED))
