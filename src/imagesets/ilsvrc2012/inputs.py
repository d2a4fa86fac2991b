"""The cheap input check of ILSVRC2012: folder and devkit file stats, compared on every load.

Adding, removing or renaming an image changes the modification time of the folder holding it,
so statting the set folders and their class folders (about a thousand ``stat`` calls, no
per-image work) tells whether the image lists can have changed since the metadata was built.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..fsutil import stat_stamp
from .layout import find_layout
from .scan import SETS


def _may_hold_folders(folder: Path) -> bool:
    """False for a folder without subfolders (link count 2 on POSIX file systems that keep it,
    e.g. ext4, xfs, tmpfs): a flat val folder of 50,000 images is then not listed at all."""
    return os.stat(folder).st_nlink != 2


def input_stamp(data_dir: Path, options: Mapping[str, Any]) -> str:
    """A digest of the stats of the class files and of the folders of the sets in ``options``."""
    if not data_dir.is_dir():
        return ""
    layout = find_layout(data_dir)
    paths: list[str | Path] = [p for p in (layout.meta_mat, layout.ground_truth,
                                           layout.devkit_archive, layout.kaggle_solution,
                                           layout.kaggle_mapping) if p is not None]
    folders = {"train": layout.train_dir, "val": layout.val_dir}
    for set_name in options.get("sets") or SETS:
        folder = folders.get(set_name)
        paths.append(folder if folder is not None else f"<no {set_name} folder>")
        if folder is not None and _may_hold_folders(folder):
            with os.scandir(folder) as entries:
                paths += sorted(e.path for e in entries if e.is_dir(follow_symlinks=True))
    return stat_stamp(paths)
