"""ILSVRC2012 ``classification`` metadata: imagesets versus dbcollection 0.2.6, same tree, same run.

Builds a synthetic ILSVRC2012 tree (1000 classes x 1300 zero-byte train files, 50,000 flat val
files, a devkit-style ``meta.mat`` and the validation ground truth) and measures:

1. the metadata build, ``imagesets.ilsvrc2012.build_classification_metadata`` against
   dbcollection 0.2.6's own ``Classification`` task;
2. 1,000 random single-row reads and a whole-column read of ``train/image_filenames``: through
   our loader and plain h5py on our file, against plain h5py on dbcollection's file (h5py
   automatic chunking + gzip, as dbcollection writes it);

then compares the two files field by field. The build target (>= 5x) is judged per CPU second,
wall time printed beside it; the read target (>= 5x) concerns the full size: on small trees
dbcollection's whole column fits h5py's 1 MiB chunk cache. dbcollection is benchmark-only,
installed beside the project without its 2018 pins: ``pip install --no-deps dbcollection==0.2.6``.

    python benchmarks/ilsvrc2012_metadata.py                # full size
    python benchmarks/ilsvrc2012_metadata.py --scale 0.1    # 130 per class, 5,000 val
    python benchmarks/ilsvrc2012_metadata.py --keep ilsvrc-tree   # build once, reuse
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import json
import os
import shutil
import sys
import tempfile
import time
import types
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import h5py
import numpy as np
import scipy.io

from imagesets.ilsvrc2012 import build_classification_metadata
from imagesets.store import MetadataLoader, ascii_to_strings
from imagesets.tables import format_table

TRAIN_PER_CLASS = 1300
VAL_PER_CLASS = 50
TREE_MARKER = ".benchmark-tree.json"
DEVKIT_FIELDS = ("ILSVRC2012_ID", "WNID", "words", "gloss", "num_children", "children",
                 "wordnet_height", "num_train_images")
THEIR_READER = "dbcollection file, plain h5py"
OUR_LOADER = 'our loader, ds["train"]["image_filenames"][i]'
PUBLISHED_FIELDS = ("image_filenames", "classes", "labels", "descriptions", "object_fields",
                    "object_ids", "list_image_filenames_per_class")


def devkit_synsets() -> list[dict[str, str]]:
    """The 1000 classes shipped with imagesets, in the devkit's ``ILSVRC2012_ID`` order."""
    text = (resources.files("imagesets.ilsvrc2012") / "ilsvrc2012_synsets.tsv").read_text("utf-8")
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t"))
    return sorted(rows, key=lambda r: int(r["ilsvrc2012_id"]))


def write_meta_mat(path: Path, synsets: list[dict[str, str]], train_per_class: int) -> None:
    """A devkit-style ``meta.mat``: a 1000 x 1 ``synsets`` struct array with the devkit fields."""
    table = np.empty((len(synsets), 1), dtype=[(name, object) for name in DEVKIT_FIELDS])
    for row, synset in enumerate(synsets):
        table[row, 0] = (np.array([[int(synset["ilsvrc2012_id"])]], dtype=np.uint16),
                         synset["wnid"], synset["words"], synset["gloss"],
                         np.array([[0]], dtype=np.uint8), np.zeros((1, 0), dtype=np.uint8),
                         np.array([[0]], dtype=np.uint8),
                         np.array([[train_per_class]], dtype=np.uint16))
    scipy.io.savemat(path, {"synsets": table})


def touch_all(paths: list[str]) -> None:
    for path in paths:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644))


def make_tree(root: Path, scale: float, seed: int) -> dict[str, int]:
    """Write the synthetic tree under ``root``; val labels are balanced like the real val set."""
    synsets = devkit_synsets()
    train_per_class = max(1, round(TRAIN_PER_CLASS * scale))
    val_per_class = max(1, round(VAL_PER_CLASS * scale))
    train = root / "train"
    val = root / "val"
    val.mkdir(parents=True)
    for synset in synsets:
        wnid = synset["wnid"]
        folder = train / wnid
        folder.mkdir(parents=True)
        touch_all([f"{folder}/{wnid}_{k}.JPEG" for k in range(1, train_per_class + 1)])
    ids = np.repeat(np.arange(1, len(synsets) + 1), val_per_class)
    np.random.default_rng(seed).shuffle(ids)
    touch_all([f"{val}/ILSVRC2012_val_{k:08d}.JPEG" for k in range(1, len(ids) + 1)])
    (root / "ILSVRC2012_validation_ground_truth.txt").write_text(
        "".join(f"{i}\n" for i in ids.tolist()))
    write_meta_mat(root / "meta.mat", synsets, train_per_class)
    shape = {"train": train_per_class * len(synsets), "val": int(ids.size), "scale": scale,
             "seed": seed}
    (root / TREE_MARKER).write_text(json.dumps(shape))
    return shape


def prepare_tree(keep: str | None, scale: float, seed: int, scratch: Path) -> tuple[Path, dict]:
    """Reuse ``--keep DIR`` when it holds a tree of this scale, else build one."""
    root = Path(keep).resolve() if keep else scratch / "ilsvrc2012"
    marker = root / TREE_MARKER
    if marker.exists():
        shape = json.loads(marker.read_text())
        if shape.get("scale") == scale and shape.get("seed") == seed:
            print(f"reusing the tree in {root}: {shape['train']:,} train, {shape['val']:,} val")
            return root, shape
        print(f"{root} holds a tree of scale {shape.get('scale')}; rebuilding at scale {scale}")
        for folder in ("train", "val"):
            shutil.rmtree(root / folder)
        for name in (TREE_MARKER, "meta.mat", "ILSVRC2012_validation_ground_truth.txt"):
            (root / name).unlink()
    elif root.exists() and any(root.iterdir()):
        sys.exit(f"{root} exists and is not a tree made by this benchmark; give --keep an empty "
                 "or new folder")
    started = time.perf_counter()
    shape = make_tree(root, scale, seed)
    print(f"made the tree in {root}: {shape['train']:,} train + {shape['val']:,} val zero-byte "
          f"files in {time.perf_counter() - started:.1f} s")
    return root, shape


def import_dbcollection_classification() -> type:
    """dbcollection 0.2.6's ILSVRC2012 ``Classification`` task, made importable on Python 3.11.

    Patches stay inside this process: the package ``__init__`` (which imports ``pkg_resources``
    and creates a cache file in the home folder) is bypassed by registering a bare package
    module; ``progressbar`` (progressbar2) and ``patoolib`` are imported at module level but only
    used when verbose or downloading, so empty stand-ins are registered when they are absent.
    """
    spec = importlib.util.find_spec("dbcollection")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("dbcollection is not installed; install it beside imagesets without its 2018 "
                 "pins: pip install --no-deps dbcollection==0.2.6")
    if "dbcollection" not in sys.modules:
        package = types.ModuleType("dbcollection")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["dbcollection"] = package
    for name in ("progressbar", "patoolib"):
        if importlib.util.find_spec(name) is None:
            sys.modules[name] = types.ModuleType(name)
    from dbcollection.datasets.imagenet.ilsvrc2012.classification import Classification

    return Classification


def timed(function: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def best_of(repeat: int, function: Callable[[], object]) -> tuple[float, float]:
    runs = [timed(function) for _ in range(repeat)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


def warm_directory_cache(root: Path) -> int:
    """List every folder once, so neither builder pays for a cold dentry cache."""
    count = 0
    for _, _, files in os.walk(root):
        count += len(files)
    return count


def ratio_row(what: str, ours: float, theirs: float) -> dict[str, str]:
    return {"build": what, "imagesets": f"{ours:.2f}", "dbcollection 0.2.6": f"{theirs:.2f}",
            "dbcollection / imagesets": f"{theirs / ours:.2f}"}


def time_rows(read: Callable[[int], object], indices: np.ndarray) -> float:
    """Microseconds per call of ``read(i)`` over ``indices``."""
    started = time.perf_counter()
    for i in indices.tolist():
        read(i)
    return (time.perf_counter() - started) / len(indices) * 1e6


def time_column(read: Callable[[], object], repeat: int = 3) -> float:
    """Milliseconds of the fastest of ``repeat`` whole-column reads."""
    return min(timed(read)[0] for _ in range(repeat)) * 1e3


def measure_reads(ours: Path, theirs: Path, reads: int,
                  seed: int) -> dict[str, tuple[float, float]]:
    """Row and column reads of ``train/image_filenames``; each case opens its file afresh.

    Each case reads row 0 once untimed (file open and dataset lookup), then times ``reads``
    random rows in the same order, then the whole column.
    """
    field = "train/image_filenames"
    with h5py.File(theirs, "r") as h5:
        count, chunks = h5[field].shape[0], h5[field].chunks
    indices = np.random.default_rng(seed + 1).integers(0, count, size=reads)

    def plain_h5py(path: Path) -> tuple[float, float]:
        with h5py.File(path, "r") as h5:
            dataset = h5[field]
            dataset[0]
            return time_rows(lambda i: dataset[i], indices), time_column(lambda: dataset[()])

    def our_loader(convert: bool, by_get: bool) -> tuple[float, float]:
        with MetadataLoader(ours) as loader:
            view = loader["train"]["image_filenames"]
            if by_get:
                def read(i: int) -> object:
                    return loader.get("train", "image_filenames", i, convert=convert)
            else:
                def read(i: int) -> object:
                    return view[i]
            read(0)
            return time_rows(read, indices), time_column(
                lambda: loader.get("train", "image_filenames", convert=convert))

    results = {THEIR_READER: plain_h5py(theirs), "our file, plain h5py": plain_h5py(ours),
               OUR_LOADER: our_loader(convert=False, by_get=False),
               'our loader, get("train", "image_filenames", i)': our_loader(False, True),
               "our loader, same with convert=True (str)": our_loader(True, True)}
    print(f"\ndbcollection's {field}: h5py auto chunks {chunks}, gzip 4; {reads:,} random "
          f"rows of {count:,}")
    return results


def read_table(results: dict[str, tuple[float, float]]) -> list[dict[str, str]]:
    """Rows of the read table, with speed-ups over plain h5py on dbcollection's file."""
    base_row, base_column = results[THEIR_READER]
    return [{"reader (train/image_filenames)": name, "row us": f"{row:.1f}",
             "row speed-up": f"{base_row / row:.1f}x", "column ms": f"{column:.1f}",
             "column speed-up": f"{base_column / column:.1f}x"}
            for name, (row, column) in results.items()]


def decoded_paths(h5: h5py.File, set_name: str, strip: str = "") -> list[str]:
    paths = ascii_to_strings(h5[f"{set_name}/image_filenames"][()])
    return [p[len(strip):] if strip and p.startswith(strip) else p for p in paths]


def compare_outputs(ours: Path, theirs: Path, data_dir: Path) -> list[str]:
    """Field-by-field differences between the two files, one line each."""
    notes = []
    with h5py.File(ours, "r") as mine, h5py.File(theirs, "r") as other:
        for set_name in ("train", "val"):
            extra = sorted(set(mine[set_name]) - set(other[set_name]))
            missing = sorted(set(other[set_name]) - set(mine[set_name]))
            if extra or missing:
                notes.append(f"{set_name}: fields only in ours {extra}, only in dbcollection "
                             f"{missing}")
            same = []
            for field in PUBLISHED_FIELDS:
                if field == "image_filenames":
                    continue
                a, b = mine[set_name][field], other[set_name][field]
                if a.dtype != b.dtype or a.shape != b.shape:
                    notes.append(f"{set_name}/{field}: ours {a.dtype}{a.shape}, dbcollection "
                                 f"{b.dtype}{b.shape}")
                elif not np.array_equal(a[()], b[()]):
                    rows = np.flatnonzero((a[()] != b[()]).reshape(a.shape[0], -1).any(axis=1))
                    notes.append(f"{set_name}/{field}: {rows.size:,} rows differ, first at row "
                                 f"{rows[0]}")
                else:
                    same.append(field)
            notes.append(f"{set_name}: identical dtype, shape and values: {', '.join(same)}")
            ours_paths = decoded_paths(mine, set_name)
            their_paths = decoded_paths(other, set_name, strip=f"{data_dir}/")
            if their_paths == [p.partition("/")[2] for p in ours_paths]:
                notes.append(f"{set_name}/image_filenames: dbcollection's paths lack the "
                             f"'{set_name}/' folder (its flat-val bug: it joins the data dir "
                             "to the bare file name), otherwise identical")
            elif ours_paths != their_paths:
                pairs = zip(ours_paths, their_paths, strict=False)
                differ = [i for i, (a, b) in enumerate(pairs) if a != b]
                first = differ[0] if differ else min(len(ours_paths), len(their_paths))
                notes.append(
                    f"{set_name}/image_filenames: {len(differ):,} of {len(ours_paths):,} paths "
                    f"differ once dbcollection's '{data_dir}/' prefix is removed, e.g. row "
                    f"{first}: ours '{ours_paths[first]}', dbcollection "
                    f"'{their_paths[first] if first < len(their_paths) else None}'")
            width_ours = mine[set_name]["image_filenames"].shape[1]
            width_theirs = other[set_name]["image_filenames"].shape[1]
            notes.append(f"{set_name}/image_filenames width: ours {width_ours} (relative), "
                         f"dbcollection {width_theirs} (absolute)")
    return notes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of the full tree (1300 train per class, 50 val per class)")
    parser.add_argument("--keep", metavar="DIR",
                        help="build the tree in DIR and keep it; reuse it on later runs")
    parser.add_argument("--repeat", type=int, default=2, help="builds per builder; best counts")
    parser.add_argument("--reads", type=int, default=1000, help="random single-row reads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error("--scale must be in (0, 1]")

    classification = import_dbcollection_classification()
    with tempfile.TemporaryDirectory(prefix="ilsvrc2012-bench-") as scratch_name:
        scratch = Path(scratch_name)
        data_dir, shape = prepare_tree(args.keep, args.scale, args.seed, scratch)
        print(f"listed {warm_directory_cache(data_dir):,} files (directory cache warm-up)")
        ours = scratch / "imagesets" / "classification.h5"
        theirs_dir = scratch / "dbcollection"
        ours.parent.mkdir()
        theirs_dir.mkdir()

        def build_ours() -> None:
            build_classification_metadata(data_dir, ours, verbose=False)

        def build_theirs() -> None:
            classification(str(data_dir), str(theirs_dir), verbose=False).run()

        ours_wall, ours_cpu = best_of(args.repeat, build_ours)
        theirs_wall, theirs_cpu = best_of(args.repeat, build_theirs)
        theirs = theirs_dir / "classification.h5"

        print(f"\nILSVRC2012 classification metadata, {shape['train']:,} train + "
              f"{shape['val']:,} val images (scale {args.scale}); best of {args.repeat} builds")
        print(format_table([
            ratio_row("wall s", ours_wall, theirs_wall),
            ratio_row("CPU s", ours_cpu, theirs_cpu),
            ratio_row("file MB", ours.stat().st_size / 1e6, theirs.stat().st_size / 1e6),
        ]))
        reads = measure_reads(ours, theirs, args.reads, args.seed)
        print(format_table(read_table(reads)))

        build_ratio = theirs_cpu / ours_cpu
        row_ratio = reads[THEIR_READER][0] / reads[OUR_LOADER][0]
        print(f"\ntarget build >= 5x dbcollection (CPU s): {build_ratio:.1f}x "
              f"{'met' if build_ratio >= 5 else 'MISSED'}")
        print(f"target single-row reads >= 5x the auto-chunked file: {row_ratio:.1f}x "
              f"{'met' if row_ratio >= 5 else 'MISSED'}")
        print("\noutputs compared (ours vs dbcollection, same tree):")
        for note in compare_outputs(ours, theirs, data_dir):
            print(f"  - {note}")


if __name__ == "__main__":
    main()
