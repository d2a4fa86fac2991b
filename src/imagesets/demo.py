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


DEMOS: list[Callable[[Path, Path], None]] = [demo_ilsvrc2012]


def run_demo(out_dir: str | Path | None = None) -> Path:
    """Run every dataset's demo in a fresh temporary data home; files go to ``out_dir``."""
    with tempfile.TemporaryDirectory(prefix="imagesets-demo-") as home:
        target = Path(out_dir) if out_dir else Path(home) / "out"
        target.mkdir(parents=True, exist_ok=True)
        for demo in DEMOS:
            demo(Path(home), target)
            print()
    return target
