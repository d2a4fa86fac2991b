"""``imagesets demo``: prepare the embedded samples in a temporary home and read them back."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from . import api

SAMPLE_ROOT = resources.files(__package__).joinpath("sample_data")


def sample_path(*parts: str) -> Path:
    """Path of a file or folder of the embedded sample data."""
    return Path(str(SAMPLE_ROOT.joinpath(*parts)))


def demo_ilsvrc2012(home: Path, out_dir: Path) -> None:
    """Prepare the ILSVRC2012 sample, then print its sets and a few objects."""
    data_dir = sample_path("ilsvrc2012")
    print(f"== ilsvrc2012: preparing the embedded sample ({data_dir})")
    loader = api.load("ilsvrc2012", data_dir=data_dir, home=home, verbose=False)
    print(f"metadata file: {loader.hdf5_filepath}")
    for set_name in loader.sets:
        view = loader[set_name]
        print(f"  {set_name}: {len(view)} images, fields: {', '.join(view.fields)}")
    for record in loader["val"]:
        print(f"  val  {record['image_filenames']:<42} {record['classes']}  {record['labels']}")
    again = api.load("ilsvrc2012", home=home, verbose=False)
    print(f"  loaded again without rebuilding: {len(again['train'])} train images")


def demo_panocaps(home: Path, out_dir: Path) -> None:
    """Load the PanoCaps sample through the catalog, validate it, render one image to a PNG."""
    from .panocaps import show, validate_split

    data_dir = sample_path("panocaps")
    print(f"== panocaps: the embedded sample ({data_dir})")
    dataset = api.load("panocaps", data_dir=data_dir, home=home, verbose=False)
    images_dir = sample_path("photos")
    for split_name in dataset.sets:
        report = validate_split(dataset[split_name], images_dir)
        stats = report.stats
        print(f"  {split_name}: {stats['images']} images, {stats['masks']} masks, "
              f"{stats['phrases']} phrases, grounded fraction {stats['grounded_fraction']}, "
              f"{len(report.errors)} errors, {len(report.warnings)} warnings")
    sample = dataset["val"]["00000101"]
    print(f"  {sample.image_id}: {sample.caption}")
    for phrase in sample.phrases:
        print(f"    {phrase.start:>3}-{phrase.end:<3} {phrase.text!r} -> masks "
              f"{list(phrase.mask_indices)}")
    picture = show(sample, out_dir / f"panocaps_{sample.image_id}.png", images_dir)
    print(f"  rendered {picture}")


DEMOS: list[Callable[[Path, Path], None]] = [demo_ilsvrc2012, demo_panocaps]


def run_demo(out_dir: str | Path | None = None) -> Path:
    """Run every dataset's demo in a fresh temporary data home; files go to ``out_dir``."""
    with tempfile.TemporaryDirectory(prefix="imagesets-demo-") as home:
        target = Path(out_dir) if out_dir else Path(home) / "out"
        target.mkdir(parents=True, exist_ok=True)
        for demo in DEMOS:
            demo(Path(home), target)
            print()
    return target
