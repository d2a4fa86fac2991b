"""Trees with every ILSVRC2012 class, and a runner for torchvision's reference process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from ..ilsvrc2012.trees import SYNSETS, Tree, make_tree, write_devkit_files
from ..ilsvrc2012_raw256.images import jpeg

REFERENCE = Path(__file__).with_name("torchvision_reference.py")


def torchvision(*args: str) -> object:
    """JSON printed by ``torchvision_reference.py`` (run in its own interpreter)."""
    done = subprocess.run([sys.executable, str(REFERENCE), *args], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def full_tree(root: Path, val_count: int = 8) -> Tree:
    """All 1000 class folders (one small real JPEG each) and a flat val folder, so class
    indices are comparable with ImageFolder's on the same tree."""
    tree = make_tree(root, train_counts={s.wnid: 1 for s in SYNSETS}, val_count=val_count)
    write_devkit_files(tree)
    data = jpeg(40, 30)
    for path in root.rglob("*.JPEG"):
        path.write_bytes(data)
    return tree


def sorted_val(tree: Tree, out: Path) -> Path:
    """The val images copied into wnid folders (what ImageFolder needs), every class present."""
    for wnid in {s.wnid for s in SYNSETS}:
        (out / wnid).mkdir(parents=True, exist_ok=True)
    for path in (tree.root / tree.val_dir).iterdir():
        number = int(path.stem.rsplit("_", 1)[1])
        shutil.copy(path, out / tree.val_labels[number] / path.name)
    for folder in out.iterdir():  # ImageFolder refuses empty class folders
        if not any(folder.iterdir()):
            (folder / "placeholder.JPEG").write_bytes(jpeg(40, 30))
    return out
