"""Interrupted runs (Ctrl-C, a killed worker, SIGKILL of everything) resume exactly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import imagesets
from imagesets.ilsvrc2012.raw256 import resize_bytes

from ..ilsvrc2012.trees import make_tree, write_devkit_files
from .images import jpeg

PER_CLASS = 100


def outputs(root: Path) -> dict[Path, tuple[int, int]]:
    """Finished outputs (not temp files) with their inode and modification time."""
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in (root / "train256").rglob("*.JPEG")}


def start(command: list[str]) -> subprocess.Popen:
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def stop_after(process: subprocess.Popen, root: Path, count: int, sig: int,
               worker_only: bool = False) -> tuple[int, str]:
    """Send ``sig`` to the run's process group (or to its one worker process) once ``count``
    outputs exist."""
    deadline = time.monotonic() + 60
    while len(outputs(root)) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.005)
    if worker_only:
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        assert len(children) == 1
        os.kill(int(children[0]), sig)
    else:
        os.killpg(process.pid, sig)
    _, stderr = process.communicate(timeout=60)
    return process.returncode, stderr


def test_interrupted_and_killed_runs_resume_and_every_output_is_right(tmp_path, capsys):
    counts = {"n01440764": PER_CLASS, "n02123045": PER_CLASS, "n07920052": PER_CLASS}
    tree = make_tree(tmp_path / "imagenet", train_counts=counts, val_count=2)
    write_devkit_files(tree)
    sources = [jpeg(640, 480, seed=s) for s in range(8)]
    images = sorted(tree.root.rglob("*.JPEG"))
    for number, path in enumerate(images):
        path.write_bytes(sources[number % len(sources)])
    command = [sys.executable, "-m", "imagesets.cli.main", "--home", str(tmp_path / "home"),
               "prepare", "ilsvrc2012", "--task", "raw256", "--data-dir", str(tree.root),
               "--workers", "1"]

    code, stderr = stop_after(start(command), tree.root, 20, signal.SIGINT)
    assert code == 130
    assert stderr.strip().splitlines()[-1] == \
        "imagesets: interrupted; rerun the same command to resume"
    first = outputs(tree.root)
    assert 20 <= len(first) < 3 * PER_CLASS

    code, stderr = stop_after(start(command), tree.root, len(first) + 20, signal.SIGKILL,
                              worker_only=True)
    assert code == 1
    assert stderr.strip().splitlines()[-1].startswith(
        "imagesets: error: a worker process died (killed, or out of memory); finished items "
        "are kept: rerun the same command to resume")
    killed_worker = outputs(tree.root)
    assert len(first) + 20 <= len(killed_worker) < 3 * PER_CLASS

    code, _ = stop_after(start(command), tree.root, len(killed_worker) + 20, signal.SIGKILL)
    assert code == -signal.SIGKILL
    second = outputs(tree.root)
    assert len(killed_worker) + 20 <= len(second) < 3 * PER_CLASS
    assert all(second[p] == first[p] for p in first)  # finished outputs were not redone
    assert all(second[p] == killed_worker[p] for p in killed_worker)

    capsys.readouterr()
    ds = imagesets.load("ilsvrc2012", task="raw256", data_dir=tree.root, verbose=True)
    total = 3 * PER_CLASS + 2
    assert (f"raw256: {total - len(second)} resized, {len(second)} already done, 0 failed"
            in capsys.readouterr().out)
    final = outputs(tree.root)
    assert all(final[p] == second[p] for p in second)
    assert not [p for p in tree.root.rglob("*") if p.name.endswith(".part")]
    expected = {data: resize_bytes(data)[0] for data in sources}
    paths = ds.absolute_paths("train") + ds.absolute_paths("val")
    assert len(paths) == len(set(paths)) == total
    for source, output in zip(images, sorted(paths), strict=True):
        assert Path(output).read_bytes() == expected[source.read_bytes()], output
