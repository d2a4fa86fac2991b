"""``imagesets demo``: prepare the embedded samples and read them back, offline, in seconds.

Everything goes to one named folder the demo prints (``./imagesets-demo`` unless ``-o``): its
own data home (never the user's registry) and the files it renders, all kept afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

from . import api

SAMPLE_ROOT = resources.files(__package__).joinpath("sample_data")


DEFAULT_OUTPUT = "imagesets-demo"
LAION_EXAMPLE = "shared_12rep_LAION_cluster_1003_i0.jpg"


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


def demo_laion_fmri(home: Path, out_dir: Path) -> None:
    """Read the LAION-fMRI sample (published file layout) through the published API."""
    from . import laion_fmri

    data_dir = sample_path("laion_fmri")
    print(f"== laion_fmri: the embedded sample, published file layout, synthetic content "
          f"({data_dir})")
    api.load("laion_fmri", data_dir=data_dir, home=home, verbose=False)
    stim = laion_fmri.load_stimuli(data_dir)
    pools = stim.metadata["dataset"].value_counts().sort_index()
    print(f"  {len(stim)} stimuli ({', '.join(f'{n} {pool}' for pool, n in pools.items())})")
    for model in stim.embeddings.models:
        matrix = stim.embeddings[model]
        print(f"  embeddings {model:<8} {matrix.shape} {matrix.dtype}")
    nouns = stim.segmentations.nouns(LAION_EXAMPLE)
    mask = stim.segmentations.get(LAION_EXAMPLE, nouns[0], instance=0)
    print(f"  {LAION_EXAMPLE}: nouns {nouns}; mask '{nouns[0]}' {mask.shape} {mask.dtype}, "
          f"{int(mask.sum()):,} pixels")
    print(f"    human captions: {stim.captions.human(LAION_EXAMPLE)[:2]}")
    image = stim.image(LAION_EXAMPLE)
    picture = out_dir / "laion_fmri_example.png"
    image.save(picture)
    print(f"    image {image.size[0]}x{image.size[1]} {image.mode}, saved to {picture}")
    subject = laion_fmri.load_subject("sub-01", data_dir)
    trials = subject.metadata
    print(f"  sub-01: sessions {', '.join(subject.get_sessions())}, {len(trials)} trials; "
          f"trial 0 shows {trials['image_name'][0]} "
          f"(CLIP {subject.embeddings.get('CLIP', 0).shape})")


DEMOS: list[Callable[[Path, Path], None]] = [demo_ilsvrc2012, demo_panocaps, demo_laion_fmri]

NEXT_STEPS = """\
Next, on your own data:
  imagesets info ilsvrc2012                      # how to get and lay out ImageNet
  imagesets prepare ilsvrc2012 --data-dir /path/to/imagenet
  imagesets download panocaps --data-dir /path/to/panocaps
  imagesets download laion_fmri --data-dir /path/to/laion_fmri
  imagesets prepare --help                       # every dataset's tasks and options
then in Python: ds = imagesets.load("ilsvrc2012"); ds["val"][0]"""


def run_demo(out_dir: str | Path | None = None) -> Path:
    """Run every dataset's demo; its data home and rendered files go to ``out_dir``, kept.

    ``out_dir`` defaults to ``./imagesets-demo``; the demo's data home is ``out_dir/home``, so
    the user's own registry is never touched and every printed path still exists afterwards.
    """
    target = Path(out_dir or DEFAULT_OUTPUT).expanduser().resolve()
    home = target / "home"
    target.mkdir(parents=True, exist_ok=True)
    print(f"imagesets demo: writing to {target} (kept; its data home is {home})\n")
    for demo in DEMOS:
        demo(home, target)
        print()
    print(NEXT_STEPS)
    return target
