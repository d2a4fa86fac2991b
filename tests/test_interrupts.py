"""Ctrl-C and kills, for real: subprocesses sent SIGINT (or SIGKILL) at varied moments."""

from __future__ import annotations

import json
import os
import random
import selectors
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import h5py

import imagesets
from imagesets.catalog import Registry

from .ilsvrc2012.trees import SYNSETS, make_tree, write_devkit_files
from .test_cli import command

WRITER = textwrap.dedent("""
    import itertools, sys
    import numpy as np
    from imagesets.store import write_metadata
    folder = sys.argv[1]
    sets = {f"s{i}": {f"f{j}": np.full((2000, 40), j, np.uint8) for j in range(25)}
            for i in range(4)}
    counter = itertools.count()
    print("ready", flush=True)
    while True:
        try:
            while True:
                write_metadata(f"{folder}/m{next(counter)}.h5", sets)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            if sys.stdin.readline().strip() == "stop":
                break
""")


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
    return process.stdout.readline().strip()


def test_ctrl_c_during_hdf5_writes_is_never_lost(tmp_path: Path):
    """h5py runs weakref callbacks where a KeyboardInterrupt is only printed ("Exception
    ignored"): about one Ctrl-C in five was lost and the write finished as if none came."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], env=env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert _read_line(process, 60) == "ready"
        rng = random.Random(0)
        for attempt in range(30):
            time.sleep(rng.uniform(0.01, 0.15))
            process.send_signal(signal.SIGINT)
            assert _read_line(process, 10) == "interrupted", f"Ctrl-C number {attempt} lost"
            process.stdin.write("again\n" if attempt < 29 else "stop\n")
            process.stdin.flush()
        stderr = process.communicate(timeout=60)[1]
    finally:
        process.kill()
    assert process.returncode == 0 and "Exception ignored" not in stderr
    assert not list(tmp_path.glob(".*.tmp"))
    for path in tmp_path.glob("m*.h5"):           # every file under a final name is complete
        with h5py.File(path, "r") as h5:
            assert sorted(h5) == ["s0", "s1", "s2", "s3"] and len(h5["s3"]) == 25


def _build_tree(tmp_path: Path, home: Path) -> tuple[Any, dict[str, str]]:
    """An ImageNet tree big enough for a build to take a moment, and the CLI's environment."""
    tree = make_tree(tmp_path / "data", train_counts={s.wnid: 40 for s in SYNSETS[:60]},
                     val_count=300)
    write_devkit_files(tree)
    return tree, {**os.environ, "IMAGESETS_HOME": str(home)}


def test_prepare_interrupted_at_varied_moments_exits_130_with_nothing_registered(
        tmp_path: Path, imagesets_home: Path):
    tree, env = _build_tree(tmp_path, imagesets_home)
    metadata = imagesets_home / "ilsvrc2012"
    prepare = [command(), "prepare", "ilsvrc2012", "--data-dir", str(tree.root), "--force"]
    start = time.monotonic()
    subprocess.run(prepare, env=env, capture_output=True, check=True, timeout=120)
    duration = time.monotonic() - start
    Registry(imagesets_home).remove("ilsvrc2012")
    interrupted = 0
    # Twice the moment the metadata temp file appears (mid-write, whatever the machine's load),
    # then at fractions of a whole run.
    for fraction in (None, None, 0.4, 0.55, 0.7, 0.8, 0.9, 0.95, 1.0):
        process = subprocess.Popen(prepare, env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if fraction is None:
            while process.poll() is None and not list(metadata.glob(".*.h5.*.tmp")):
                time.sleep(0.0005)
        else:
            time.sleep(fraction * duration)
        if process.poll() is not None:
            process.communicate()
            continue
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
        if process.returncode in (-signal.SIGINT, 0):  # died of SIGINT (shell: 130) while
            assert not out or " ready (" in out       # importing, or signalled during the
            continue                                  # interpreter's exit once done
        assert process.returncode == 130, (fraction, out, err)
        assert "interrupted" in err and "Traceback" not in err
        if "metadata written" not in out:            # interrupted before it was recorded
            assert Registry(imagesets_home).get("ilsvrc2012", "classification") is None
            interrupted += 1
        assert not list(metadata.glob(".*.tmp"))
        Registry(imagesets_home).remove("ilsvrc2012")
    assert interrupted >= 2


def test_builds_killed_at_varied_moments_leave_no_file_that_looks_finished(
        tmp_path: Path, imagesets_home: Path):
    tree, env = _build_tree(tmp_path, imagesets_home)
    final = imagesets_home / "ilsvrc2012" / "classification.h5"
    for delay in (0.5, 0.8, 1.1, 1.4, 1.8):
        process = subprocess.Popen([command(), "prepare", "ilsvrc2012", "--data-dir",
                                    str(tree.root), "--force", "--quiet"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.kill()
        process.wait(timeout=60)
        if final.exists():                              # under its final name: complete
            with h5py.File(final, "r") as h5:
                assert sorted(h5) == ["train", "val"] and len(h5["val/object_ids"]) == 300
            final.unlink()
        Registry(imagesets_home).remove("ilsvrc2012")
    loader = imagesets.load("ilsvrc2012", data_dir=tree.root, verbose=False)
    assert len(loader["train"]) == 2400
    assert not list((imagesets_home / "ilsvrc2012").glob(".*.tmp"))


def test_a_killed_build_leaves_temp_files_that_the_next_run_removes(tmp_path: Path,
                                                                   imagesets_home: Path):
    tree = make_tree(tmp_path / "data")
    write_devkit_files(tree)
    metadata = imagesets_home / "ilsvrc2012"
    metadata.mkdir(parents=True)
    stale = metadata / ".classification.h5.k1ll3d.tmp"
    stale.write_bytes(b"\x89HDF\r\n\x1a\n half of a file")
    other = metadata / ".raw256.h5.k1ll3d.tmp"        # another task's build may be running
    other.write_bytes(b"")
    loader = imagesets.load("ilsvrc2012", data_dir=tree.root, verbose=False)
    assert len(loader["val"]) == 12
    assert not stale.exists() and other.exists()
    assert json.loads((imagesets_home / "registry.json").read_text())["datasets"]


def test_cli_closed_pipe_exits_quietly():
    process = subprocess.Popen([command(), "list"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdout.close()                              # like `imagesets list | head -0`
    stderr = process.communicate(timeout=60)[1]
    assert stderr == b"" and process.returncode == 141


def test_ctrl_c_turned_into_another_error_by_a_library_still_exits_130(capsys) -> None:
    """An import interrupted half-way raises ImportError, not KeyboardInterrupt: still 130."""
    from imagesets.cli import catalog_commands, main

    def interrupted_import(args: object) -> int:
        os.kill(os.getpid(), signal.SIGINT)      # the real signal, through the CLI's handler
        time.sleep(0.5)
        return 0

    def swallowing(args: object) -> int:
        try:
            interrupted_import(args)
        except KeyboardInterrupt as exc:         # what an import machinery wrapper does
            raise ImportError("cannot import name 'loadmat' (partially initialized)") from exc
        return 0

    original = catalog_commands.run_list
    catalog_commands.run_list = swallowing
    try:
        assert main.main(["list"]) == 130
    finally:
        catalog_commands.run_list = original
    assert "interrupted" in capsys.readouterr().err
