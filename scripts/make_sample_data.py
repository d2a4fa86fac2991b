"""Rebuild the embedded sample photos and the ILSVRC2012-style sample tree.

The photos are five public-domain / CC0 images shipped inside scikit-image (see
src/imagesets/sample_data/PROVENANCE.md). Run once with scikit-image installed:

    pip install scikit-image && python scripts/make_sample_data.py

Output is deterministic (fixed sizes, crops and JPEG quality), so the committed files can be
checked against a rebuild.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1] / "src" / "imagesets" / "sample_data"
PHOTOS = {  # name: (skimage function, ILSVRC2012 wnid or None)
    "chelsea": ("chelsea", "n02123045"),      # tabby, tabby cat
    "coffee": ("coffee", "n07920052"),        # espresso
    "camera": ("camera", "n04485082"),        # tripod (photographer with a tripod camera)
    "rocket": ("rocket", "n03773504"),        # missile (a launch vehicle; ImageNet's closest)
    "astronaut": ("astronaut", None),         # used by the PanoCaps sample only
}
LONG_SIDE = 384
QUALITY = 85
# Validation images: (val number, photo, variant); labels go into the ground-truth file.
VAL = [(1, "coffee", "crop"), (2, "chelsea", "crop"), (3, "rocket", "crop"), (4, "camera", "crop")]


def load_photo(function: str) -> Image.Image:
    import skimage.data

    array = getattr(skimage.data, function)()
    image = Image.fromarray(np.asarray(array))
    image.thumbnail((LONG_SIDE, LONG_SIDE), Image.Resampling.LANCZOS)
    return image.convert("RGB") if image.mode not in ("RGB", "L") else image


def variant(image: Image.Image, kind: str) -> Image.Image:
    width, height = image.size
    if kind == "mirror":
        return ImageOps.mirror(image)
    if kind == "crop":
        return image.crop((width // 8, height // 8, width - width // 8, height - height // 8))
    return image


def save_jpeg(image: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", quality=QUALITY, optimize=True)


def main() -> None:
    photos_dir = ROOT / "photos"
    ilsvrc = ROOT / "ilsvrc2012"
    shutil.rmtree(photos_dir, ignore_errors=True)
    shutil.rmtree(ilsvrc, ignore_errors=True)
    images = {name: load_photo(function) for name, (function, _) in PHOTOS.items()}
    for name, image in images.items():
        save_jpeg(image, photos_dir / f"{name}.jpg")
    for name, (_, wnid) in PHOTOS.items():
        if wnid is None:
            continue
        for k, kind in enumerate(("full", "mirror")):
            save_jpeg(variant(images[name], kind), ilsvrc / "train" / wnid / f"{wnid}_{k + 1}.JPEG")
    synsets = ROOT.parent / "ilsvrc2012" / "ilsvrc2012_synsets.tsv"
    devkit_id = {}
    for line in synsets.read_text().splitlines()[1:]:
        wnid, number, *_ = line.split("\t")
        devkit_id[wnid] = number
    truth = []
    for number, name, kind in VAL:
        save_jpeg(variant(images[name], kind), ilsvrc / "val" / f"ILSVRC2012_val_{number:08d}.JPEG")
        truth.append(devkit_id[PHOTOS[name][1]])
    (ilsvrc / "ILSVRC2012_validation_ground_truth.txt").write_text("\n".join(truth) + "\n")
    print(f"wrote {sum(1 for _ in ROOT.rglob('*') if _.is_file())} files under {ROOT}")


if __name__ == "__main__":
    main()
