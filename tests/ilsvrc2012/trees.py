"""Synthetic ILSVRC2012 folders in every layout, built from the real class list in tests/data."""

from __future__ import annotations

import csv
import io
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.io import savemat

from ..paths import TEST_DATA

SYNSETS_TSV = TEST_DATA / "imagenet" / "ilsvrc2012_synsets.tsv"


@dataclass(frozen=True)
class Synset:
    wnid: str
    devkit_id: int
    words: str
    gloss: str


def read_synsets() -> list[Synset]:
    """The 1000 classes from tests/data (independent of the copy packaged with imagesets)."""
    with open(SYNSETS_TSV, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [Synset(r["wnid"], int(r["ilsvrc2012_id"]), r["words"], r["gloss"]) for r in rows]


SYNSETS = read_synsets()
BY_WNID = {s.wnid: s for s in SYNSETS}
BY_DEVKIT_ID = {s.devkit_id: s for s in SYNSETS}


def meta_mat_bytes(synsets: list[Synset] = SYNSETS, words_suffix: str = "") -> bytes:
    """A devkit-style meta.mat: 1000 leaf synsets in devkit id order, then non-leaf ones."""
    ordered = sorted(synsets, key=lambda s: s.devkit_id)
    names = ["ILSVRC2012_ID", "WNID", "words", "gloss", "num_children", "children",
             "wordnet_height", "num_train_images"]
    records = np.zeros((len(ordered) + 3, 1), dtype=[(n, object) for n in names])
    for i, s in enumerate(ordered):
        records[i, 0] = (np.array([[s.devkit_id]], dtype=np.uint16), s.wnid, s.words + words_suffix,
                         s.gloss, np.array([[0]], dtype=np.uint8), np.zeros((1, 0)),
                         np.array([[0]], dtype=np.uint8), np.array([[1300]], dtype=np.uint16))
    for j in range(3):  # internal WordNet nodes, ids > 1000, must be ignored
        records[len(ordered) + j, 0] = (
            np.array([[1001 + j]], dtype=np.uint16), f"n0000000{j}", f"parent {j}", "a parent",
            np.array([[2]], dtype=np.uint8), np.array([[1, 2]], dtype=np.uint16),
            np.array([[1]], dtype=np.uint8), np.array([[0]], dtype=np.uint16))
    buffer = io.BytesIO()
    savemat(buffer, {"synsets": records})
    return buffer.getvalue()


def touch(path: Path, content: bytes = b"") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


@dataclass
class Tree:
    """A synthetic tree and the labels the test expects, computed independently."""

    root: Path
    train: dict[str, list[str]] = field(default_factory=dict)   # wnid -> file names
    val_labels: dict[int, str] = field(default_factory=dict)   # val number -> wnid
    train_dir: str = "train"
    val_dir: str = "val"
    val_sorted: bool = False


def make_tree(root: Path, *, train_counts: dict[str, int] | None = None, val_count: int = 12,
              train_dir: str = "train", val_dir: str = "val", val_sorted: bool = False,
              seed: int = 0) -> Tree:
    """Train class folders with zero-byte JPEGs and flat (or sorted) val images."""
    rng = np.random.default_rng(seed)
    train_counts = train_counts or {"n01440764": 3, "n02123045": 2, "n07920052": 4,
                                    "n15075141": 1}
    tree = Tree(root, train_dir=train_dir, val_dir=val_dir, val_sorted=val_sorted)
    for wnid, count in train_counts.items():
        numbers = rng.choice(100_000, size=count, replace=False)
        names = [f"{wnid}_{n}.JPEG" for n in numbers]
        for name in names:
            touch(root / train_dir / wnid / name)
        tree.train[wnid] = names
    wnids = sorted(BY_WNID)
    for number in range(1, val_count + 1):
        wnid = wnids[int(rng.integers(len(wnids)))]
        tree.val_labels[number] = wnid
        name = f"ILSVRC2012_val_{number:08d}.JPEG"
        touch(root / val_dir / wnid / name if val_sorted else root / val_dir / name)
    return tree


def ground_truth_text(tree: Tree, final_newline: bool = True) -> str:
    lines = [str(BY_WNID[tree.val_labels[n]].devkit_id) for n in sorted(tree.val_labels)]
    return "\n".join(lines) + ("\n" if final_newline else "")


def write_devkit_files(tree: Tree, folder: Path | None = None) -> None:
    folder = folder or tree.root / "ILSVRC2012_devkit_t12" / "data"
    touch(folder / "meta.mat", meta_mat_bytes())
    touch(folder / "ILSVRC2012_validation_ground_truth.txt", ground_truth_text(tree).encode())


def write_devkit_archive(tree: Tree) -> Path:
    path = tree.root / "ILSVRC2012_devkit_t12.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, data in (("meta.mat", meta_mat_bytes()),
                           ("ILSVRC2012_validation_ground_truth.txt",
                            ground_truth_text(tree).encode())):
            info = tarfile.TarInfo(f"ILSVRC2012_devkit_t12/data/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def make_kaggle_tree(root: Path, seed: int = 1) -> Tree:
    """The Kaggle 'ImageNet Object Localization Challenge' layout."""
    base = root / "ILSVRC" / "Data" / "CLS-LOC"
    tree = make_tree(base, seed=seed)
    tree.root = root
    tree.train_dir = "ILSVRC/Data/CLS-LOC/train"
    tree.val_dir = "ILSVRC/Data/CLS-LOC/val"
    for wnid in list(tree.train)[:2]:  # annotation XML folders must not be taken for images
        touch(root / "ILSVRC" / "Annotations" / "CLS-LOC" / "train" / wnid / f"{wnid}_1.xml")
    rows = ["ImageId,PredictionString"]
    rows += [f"ILSVRC2012_val_{n:08d},{w} 10 20 30 40 {w} 1 2 3 4"
             for n, w in sorted(tree.val_labels.items(), key=lambda kv: -kv[0])]
    touch(root / "LOC_val_solution.csv", ("\n".join(rows) + "\n").encode())
    mapping = [f"{s.wnid} {s.words}" for s in SYNSETS]
    touch(root / "LOC_synset_mapping.txt", ("\n".join(mapping) + "\n").encode())
    return tree


def expected_set(tree: Tree, set_name: str) -> tuple[list[str], list[str]]:
    """(relative paths, wnids) in the published order: class by class, sorted within."""
    if set_name == "train":
        pairs = [(w, f"{w}/{n}") for w, names in tree.train.items() for n in names]
        prefix = tree.train_dir
    else:
        pairs = [(w, f"{w}/" * tree.val_sorted + f"ILSVRC2012_val_{n:08d}.JPEG")
                 for n, w in tree.val_labels.items()]
        prefix = tree.val_dir
    pairs.sort()
    return [f"{prefix}/{n}" for _, n in pairs], [w for w, _ in pairs]
