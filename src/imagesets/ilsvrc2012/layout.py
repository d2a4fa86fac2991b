"""Find the ILSVRC2012 files a user has, in any of the common layouts, under a data directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import NotFoundError
from .classes import WNID_PATTERN

TRAIN_DIR_NAMES = ("train", "ILSVRC2012_img_train")
VAL_DIR_NAMES = ("val", "ILSVRC2012_img_val")
GROUND_TRUTH_NAME = "ILSVRC2012_validation_ground_truth.txt"
META_NAME = "meta.mat"
KAGGLE_SOLUTION_NAME = "LOC_val_solution.csv"
KAGGLE_MAPPING_NAME = "LOC_synset_mapping.txt"
SKIPPED_DIRS = {"Annotations", "ImageSets", "train256", "val256", "__MACOSX"}
MAX_DEPTH = 5


@dataclass(frozen=True)
class Layout:
    """The files found under ``root`` (``None`` where absent)."""

    root: Path
    train_dir: Path | None
    val_dir: Path | None
    meta_mat: Path | None
    ground_truth: Path | None
    devkit_archive: Path | None
    kaggle_solution: Path | None
    kaggle_mapping: Path | None


def _first(found: list[tuple[int, Path]]) -> Path | None:
    return min(found, key=lambda item: (item[0], str(item[1])))[1] if found else None


def find_layout(root: Path) -> Layout:
    """Walk ``root`` (pruned: class folders and image folders are not descended) for the files.

    When a name occurs several times the shallowest wins, so ``data_dir/train`` beats a copy
    nested deeper; the Kaggle ``Annotations`` tree is never mistaken for images.
    """
    if not root.is_dir():
        raise NotFoundError(f"ILSVRC2012 data directory {root} does not exist or is not a "
                            "folder; pass the folder holding your ImageNet images (--data-dir).")
    hits: dict[str, list[tuple[int, Path]]] = {k: [] for k in (
        "train", "val", "meta", "truth", "devkit", "solution", "mapping")}
    stack = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            path = Path(entry.path)
            if entry.is_dir():
                if name in TRAIN_DIR_NAMES:
                    hits["train"].append((depth, path))
                elif name in VAL_DIR_NAMES:
                    hits["val"].append((depth, path))
                elif (depth < MAX_DEPTH and not name.startswith(".") and name not in SKIPPED_DIRS
                      and not WNID_PATTERN.match(name)):
                    stack.append((path, depth + 1))
            elif name == META_NAME:
                hits["meta"].append((depth, path))
            elif name == GROUND_TRUTH_NAME:
                hits["truth"].append((depth, path))
            elif "devkit" in name and name.endswith((".tar.gz", ".tgz", ".tar")):
                hits["devkit"].append((depth, path))
            elif name == KAGGLE_SOLUTION_NAME:
                hits["solution"].append((depth, path))
            elif name == KAGGLE_MAPPING_NAME:
                hits["mapping"].append((depth, path))
    return Layout(root, _first(hits["train"]), _first(hits["val"]), _first(hits["meta"]),
                  _first(hits["truth"]), _first(hits["devkit"]), _first(hits["solution"]),
                  _first(hits["mapping"]))
