"""The ``imagesets`` command, run for real in a subprocess."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import imagesets
from imagesets import catalog
from imagesets.catalog import DatasetEntry, Option, PreparedTask, PrepareRequest, Task, register
from imagesets.cli.main import build_parser, main
from imagesets.fsutil import atomic_write_text

from .ilsvrc2012.trees import make_tree, write_devkit_files
from .ilsvrc2012_raw256.images import image_tree


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
    text = run("info", "ilsvrc2012", home=imagesets_home).stdout
    assert "Options (imagesets prepare ilsvrc2012 --task TASK" in text
    assert '{"sets": ["train", "val"]}' in text and "--output-dir DIR" in text


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


def test_demo_runs_offline_and_keeps_what_it_prints(tmp_path):
    result = subprocess.run([command(), "demo"], capture_output=True, text=True, timeout=300,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"imagesets demo: writing to {tmp_path / 'imagesets-demo'}" in out
    assert "train: 8 images" in out and "val: 4 images" in out
    assert "ILSVRC2012_val_00000002.JPEG" in out and "tabby, tabby cat" in out
    assert "== panocaps" in out and "== laion_fmri" in out
    assert "embeddings SigLIP2  (8, 1152) float16" in out
    assert "mask 'fingers' (1000, 1000) uint8" in out and "sub-01: sessions ses-01, ses-02" in out
    assert out.rstrip().splitlines()[-1].startswith("then in Python: ")
    assert "imagesets prepare ilsvrc2012 --data-dir /path/to/imagenet" in out
    printed = re.findall(r"(?:metadata file: |rendered |saved to )(\S+)", out)
    assert len(printed) == 3 and all(Path(p).is_file() for p in printed)
    assert all(Path(p).is_relative_to(tmp_path / "imagesets-demo") for p in printed)
    kept = subprocess.run([command(), "demo", "-o", str(tmp_path / "elsewhere")],
                          capture_output=True, text=True, timeout=300)
    assert kept.returncode == 0 and (tmp_path / "elsewhere" / "laion_fmri_example.png").is_file()


def test_prepare_help_lists_datasets_tasks_and_their_options(imagesets_home):
    helped = run("prepare", "--help", home=imagesets_home)
    assert helped.returncode == 0
    text = helped.stdout
    assert "DATASET               one of: ilsvrc2012, laion_fmri, panocaps" in text
    for line in ("  ilsvrc2012", "    --task classification*: image paths",
                 "      --sets SET ...         only these sets [default: train val]",
                 "    --task raw256: images resized", "      --quality INT", "[remembered]",
                 "      --workers INT          parallel worker processes",
                 "  laion_fmri", "    --task stimuli*:", "      (no options)",
                 "    --task grounded_captioning*:", "      --images-dir DIR"):
        assert line in text, line
    assert "--n-jobs" not in run("download", "--help").stdout
    assert "one of: ilsvrc2012, laion_fmri, panocaps" in run("info", "--help").stdout


def test_home_is_accepted_before_or_after_the_command(tmp_path):
    tree = make_tree(tmp_path / "data", val_count=5)
    write_devkit_files(tree)
    env = {k: v for k, v in os.environ.items() if k != "IMAGESETS_HOME"}
    for home, args in ((tmp_path / "h1", ["--home", str(tmp_path / "h1"), "prepare"]),
                       (tmp_path / "h2", ["prepare", "--home", str(tmp_path / "h2")])):
        done = subprocess.run([command(), *args, "ilsvrc2012", "--data-dir", str(tree.root),
                               "--quiet", "--split", "val"], capture_output=True, text=True,
                              env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "ilsvrc2012/classification ready (val: 5)" in done.stdout
        assert (home / "registry.json").is_file()
    listed = subprocess.run([command(), "list", "--home", str(tmp_path / "h2")],
                            capture_output=True, text=True, env=env, timeout=120)
    row = next(line for line in listed.stdout.splitlines() if line.startswith("ilsvrc2012"))
    assert row.rstrip().endswith("  classification")


def test_one_vocabulary_old_spellings_still_parse():
    parser = build_parser()
    for flag in ("--workers", "--n-jobs"):
        args = parser.parse_args(["download", "laion_fmri", flag, "3"])
        assert args.workers == 3
    for flag in ("--data-dir", "--root"):
        args = parser.parse_args(["validate", "panocaps", flag, "/x"])
        assert args.root == "/x"
        args = parser.parse_args(["evaluate", "panocaps", flag, "/x", "--pred", "p.json"])
        assert args.root == "/x"
    for flag in ("--split", "--sets"):
        assert parser.parse_args(["prepare", "panocaps", flag, "val"]).sets == ["val"]
        assert parser.parse_args(["validate", "panocaps", flag, "val"]).split == ["val"]
    assert not hasattr(parser.parse_args(["prepare", "ilsvrc2012"]), "sets")


def test_changing_only_workers_keeps_the_output_dir(tmp_path):
    tree = image_tree(tmp_path / "imagenet", per_class=1, val_count=2)
    out = tmp_path / "resized"
    first = run("prepare", "ilsvrc2012", "--task", "raw256", "--data-dir", str(tree.root),
                "--output-dir", str(out), "--workers", "1")
    assert first.returncode == 0 and "raw256: 5 resized" in first.stdout
    again = run("prepare", "ilsvrc2012", "--task", "raw256", "--workers", "2")
    assert again.returncode == 0, again.stderr
    assert again.stdout == "ilsvrc2012/raw256 ready (train: 3, val: 2)\n"
    assert not (tree.root / "train256").exists()
    forced = run("prepare", "ilsvrc2012", "--task", "raw256", "--force", "--workers", "2")
    assert "raw256: 0 resized, 5 already done" in forced.stdout
    assert not (tree.root / "train256").exists()


@pytest.fixture
def toy_dataset(tmp_path):
    """A dataset declared in a test: one option, declared once, nothing else written for it."""
    def prepare(request: PrepareRequest) -> PreparedTask:
        output = request.metadata_dir / "toy.json"
        atomic_write_text(output, json.dumps(dict(request.options)))
        return PreparedTask("toy", request.task, str(request.data_dir), str(output))

    entry = register(DatasetEntry(
        name="toy", title="Toy", description="a test dataset", keywords=(), size="0",
        downloadable=False, default_task="count", sets=("all",), fields=(), setup="",
        license="", homepage="", prepare=prepare, open=lambda r: r,
        tasks=(Task("count", "counts", (
            Option("repeats", "how many times", type=int, default=3, minimum=1),
            Option("threads", "threads", type=int, changes_output=False))),)))
    (tmp_path / "toy").mkdir()
    yield entry
    del catalog._ENTRIES["toy"]


def test_a_new_option_is_one_declaration(toy_dataset, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["prepare", "--help"])
    help_text = capsys.readouterr().out
    assert "--repeats INT          how many times [default: 3]" in help_text
    assert "--threads INT          threads [does not change the output]" in help_text
    data = str(tmp_path / "toy")
    with pytest.raises(SystemExit):
        main(["prepare", "toy", "--data-dir", data, "--repeats", "many"])
    assert main(["prepare", "toy", "--data-dir", data, "--repeats", "0"]) == 1
    assert "option repeats must be at least 1, got 0" in capsys.readouterr().err
    record = imagesets.load("toy", data_dir=data, threads=2, verbose=False)
    assert record.parameters == {"repeats": 3}
    assert json.loads(Path(record.metadata_file).read_text()) == {"repeats": 3, "threads": 2}
    assert imagesets.load("toy", repeats=5, verbose=False).parameters == {"repeats": 5}
