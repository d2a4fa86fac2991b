"""The published LAION-fMRI documentation examples, run verbatim apart from the import line.

Sources (ViCCo-Group/LAION-fMRI): docs/source/stimulus_derivatives.rst,
docs/source/stimulus_data.rst, docs/source/laion_fmri_package/stimulus_access.rst ("Reading the
images") and examples/plot_05_segmentations.py (its matplotlib cell is
left out: plotting is not part of this package). ``import laion_fmri`` becomes
``from imagesets import laion_fmri``; nothing else changes. Downloads go to moto's S3 server
through ``AWS_ENDPOINT_URL_S3``, the endpoint variable the AWS SDKs honour.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

ORIGINAL_IMPORTS = {
    "from laion_fmri.config import": "from imagesets.laion_fmri.config import",
    "import laion_fmri\n": "from imagesets import laion_fmri\n",
}

DOWNLOAD = '''
import laion_fmri

laion_fmri.download_embeddings("CLIP")
laion_fmri.download_segmentations()
laion_fmri.download_captions()
'''

EMBEDDINGS = '''
import laion_fmri

emb = laion_fmri.load_embeddings("CLIP")
emb["CLIP"][0]                            # (1024,) float16
emb.get(
    "CLIP", "shared_12rep_LAION_cluster_1003_i0.jpg",
)                                         # one vector
'''

EMBEDDINGS_FROM_STIMULI = '''
stim = laion_fmri.load_stimuli()
stim.embeddings.models                    # ['CLIP', 'DINOv2', 'PEcore', 'SigLIP2']
stim.embeddings["CLIP"]                   # (25052, 1024) float16 array
stim.embeddings.get(
    "CLIP", "shared_12rep_LAION_cluster_1003_i0.jpg",
)                                         # one vector
'''

SEGMENTATIONS = '''
import laion_fmri

seg = laion_fmri.Segmentations()

# What nouns are present in this image?
seg.nouns(
    "shared_12rep_LAION_cluster_1003_i0.jpg",
)                                         # ['fingers', 'hand', ...]

# Fetch one mask:
mask = seg.get(
    "shared_12rep_LAION_cluster_1003_i0.jpg",
    "fingers",
    instance=0,
)                                         # (1000, 1000) uint8
'''

CAPTIONS = '''
import laion_fmri

caps = laion_fmri.Captions()

# All human captions for one image (rank-ordered, up to five):
caps.human("shared_12rep_LAION_cluster_1003_i0.jpg")
# ['a hand with light pink painted nails with flower designs',
#  'A hand with finger painted nails with flowers in them',
#  ...]

# The AI caption, or None if no AI caption is available:
caps.ai("shared_12rep_LAION_cluster_1003_i0.jpg")

# Or grab everything for an image as a DataFrame:
caps.get("shared_12rep_LAION_cluster_1003_i0.jpg")

# And the full long-form table:
caps.metadata.head()
'''

SUBJECT = '''
import laion_fmri

sub = laion_fmri.load_subject("sub-01")

trials = sub.metadata
trials[[
    "session", "session_trial", "image_name",
    "unique_or_shared", "dataset",
]].head()

trial = 42  # global row index in sub.metadata

# Pretrained features aligned to the same trial rows:
x_one = sub.embeddings.get("CLIP", trial)          # (1024,)
x_all = sub.embeddings.all("CLIP")                 # (n_trials, 1024)
x_ses = sub.embeddings.all("CLIP", session="ses-01")

# Object masks for shared-image trials:
if sub.segmentations.has_image(trial):
    nouns = sub.segmentations.nouns(trial)
    mask = sub.segmentations.get(trial, nouns[0])  # (1000, 1000) uint8

# Captions for the stimulus shown on this trial:
human = sub.captions.human(trial)
ai = sub.captions.ai(trial)  # None for unique-image and OOD trials
'''

STIMULUS_METADATA = '''
import laion_fmri

stim = laion_fmri.load_stimuli()
metadata = stim.metadata

metadata[[
    "image_name", "dataset", "participant",
    "unique_or_shared", "n_reps",
]].head()
'''

IMAGE_BY_NAME = '''
name = metadata.loc[0, "image_name"]
image = stim.images.get(name)
'''

AS_DISPLAYED = '''
displayed_image = stim.images.get(name)                 # RGB
original_image = stim.images.get(name, as_displayed=False)  # RGB or RGBA
'''

READING_THE_IMAGES = '''
import laion_fmri

stim = laion_fmri.Stimuli()
stim.metadata.head()                          # pandas DataFrame, 25 052 rows
stim["shared_12rep_LAION_cluster_1003_i0.jpg"]  # raw JPEG bytes
stim.image(0)                                 # decoded PIL.Image (needs Pillow)
'''

SUBJECT_JOIN = '''
sub = laion_fmri.load_subject("sub-01")

trials = sub.metadata
trials[[
    "session", "session_trial", "image_name",
    "stim_idx", "unique_or_shared", "dataset",
]].head()

trial = 42
image_name = trials.loc[trial, "image_name"]

img = sub.images.get(trial)
'''

SUBJECT_IMAGES = '''
import laion_fmri

sub = laion_fmri.load_subject("sub-01")

trials = sub.metadata
trial = 42  # global row index in sub.metadata

img = sub.images.get(trial)                # PIL.Image
raw = sub.images[trial]                    # raw encoded image bytes
session_imgs = sub.images.array("ses-01")  # (n, 1000, 1000, 3) uint8
'''

PLOT_05_SETUP = '''
import os

from laion_fmri.config import dataset_initialize

data_dir = os.environ.get(
    "LAION_FMRI_EXAMPLE_DATA_DIR",
    os.path.join(os.getcwd(), "laion_fmri_quickstart"),
)
os.makedirs(data_dir, exist_ok=True)
dataset_initialize(data_dir)
'''

PLOT_05_STIMULUS_SIDE = '''
import laion_fmri

stim = laion_fmri.load_stimuli()

image_name = "shared_12rep_LAION_cluster_1003_i0.jpg"

# Which nouns appear in this image?
nouns = stim.segmentations.nouns(image_name)
print(f"Nouns in {image_name}: {nouns}")

# All masks for one image, as a metadata slice (one row per mask):
df = stim.segmentations.for_image(image_name)
print(df[["noun", "instance_id", "score", "localized"]].head())

# Fetch a single mask -- shape (1000, 1000), dtype uint8, values in {0, 1}:
mask = stim.segmentations.get(image_name, nouns[0])
print(f"\\n'{nouns[0]}' mask: shape={mask.shape}, dtype={mask.dtype}, "
      f"covered pixels={int(mask.sum())}")
'''

PLOT_05_SUBJECT_SIDE = '''
sub = laion_fmri.load_subject(1)

n_covered = sum(
    sub.segmentations.has_image(t) for t in range(len(sub.metadata))
)
print(f"Trials whose image carries masks: {n_covered} / {len(sub.metadata)}")

# What nouns did sub-01 see across their first 5 trials?
for trial in range(5):
    print(f"  trial {trial}: {sub.segmentations.nouns(trial)}")
'''

NAME = "shared_12rep_LAION_cluster_1003_i0.jpg"


def run(example: str, namespace: dict) -> dict:
    """Execute a published example, changing only how laion_fmri is imported."""
    code = example
    for original, ours in ORIGINAL_IMPORTS.items():
        code = code.replace(original, ours)
    assert code.count("imagesets") == example.count("laion_fmri\n") + example.count(
        "laion_fmri.config import")
    exec(compile(code, "<published example>", "exec"), namespace)
    return namespace


def add_gated_files(sample, root: Path) -> None:
    """What a user adds by hand after the public download: the gated files and the trials."""
    for name in ("task-images_stimuli.h5", "task-images_metadata.csv"):
        shutil.copy(sample.root / "stimuli" / name, root / "stimuli" / name)
    shutil.copytree(sample.root / "derivatives", root / "derivatives")


@pytest.mark.filterwarnings("ignore:sub-01 ses-04")
def test_stimulus_derivatives_page(bucket: str, sample, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "laion_fmri"
    monkeypatch.setenv("LAION_FMRI_DATA_DIR", str(root))
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", bucket)
    run(DOWNLOAD, {})
    assert sorted(p.name for p in (root / "stimuli").iterdir()) == [
        "task-images_desc-CLIP_embeddings.h5", "task-images_desc-captions.csv",
        "task-images_desc-segmentations.h5", "task-images_desc-segmentations_metadata.csv"]

    ns = run(EMBEDDINGS, {})
    assert ns["emb"]["CLIP"][0].shape == (1024,) and ns["emb"]["CLIP"].dtype == np.float16
    vector = ns["emb"].get("CLIP", NAME)
    assert vector.shape == (1024,)

    add_gated_files(sample, root)
    ns = run(EMBEDDINGS_FROM_STIMULI, ns)
    assert ns["stim"].embeddings.models == ["CLIP"]
    np.testing.assert_array_equal(ns["stim"].embeddings.get("CLIP", NAME), vector)

    ns = run(SEGMENTATIONS, {})
    assert ns["seg"].nouns(NAME)[:2] == ["fingers", "hand"]
    assert ns["mask"].shape == (1000, 1000) and ns["mask"].dtype == np.uint8
    assert set(np.unique(ns["mask"])) == {0, 1}

    ns = run(CAPTIONS, {})
    caps = ns["caps"]
    assert len(ns["caps"].human(NAME)) == 5 and ns["caps"].human(NAME)[1] == "NA"
    assert isinstance(ns["caps"].ai(NAME), str)
    assert ns["caps"].get(NAME)["caption_idx"].tolist() == [0, 1, 2, 3, 4, 5]

    ns = run(SUBJECT, {})
    n_trials = len(ns["trials"])
    assert ns["x_one"].shape == (1024,) and ns["x_all"].shape == (n_trials, 1024)
    assert ns["x_ses"].shape == ((ns["trials"]["session"] == "ses-01").sum(), 1024)
    assert ("mask" in ns) == ns["sub"].segmentations.has_image(42)
    assert ns["human"] == caps.human(ns["trials"].loc[42, "image_name"])
    assert (ns["ai"] is None) == (ns["trials"].loc[42, "unique_or_shared"] == "unique"
                                  or "_OOD_" in ns["trials"].loc[42, "image_name"])


@pytest.mark.filterwarnings("ignore:sub-01 ses-04")
def test_stimulus_data_page(sample, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAION_FMRI_DATA_DIR", str(sample.root))
    ns = run(STIMULUS_METADATA, {})
    assert isinstance(ns["metadata"], pd.DataFrame) and len(ns["metadata"]) == len(sample.names)
    ns = run(IMAGE_BY_NAME, ns)
    assert isinstance(ns["image"], Image.Image) and ns["image"].mode == "RGB"
    png = next(i for i, n in enumerate(sample.names) if n.endswith(".png"))
    ns["name"] = ns["metadata"].loc[png, "image_name"]
    ns = run(AS_DISPLAYED, ns)
    assert ns["displayed_image"].mode == "RGB" and ns["original_image"].mode == "RGBA"
    reading = run(READING_THE_IMAGES, {})
    assert reading["stim"]["shared_12rep_LAION_cluster_1003_i0.jpg"][:3] == b"\xff\xd8\xff"
    assert reading["stim"].image(0).size == (24, 24)
    ns = run(SUBJECT_JOIN, ns)
    assert ns["img"].tobytes() == ns["stim"].images.get(ns["image_name"]).tobytes()
    ns = run(SUBJECT_IMAGES, {})
    assert ns["raw"] == ns["sub"].stimuli.images[ns["trials"].loc[42, "image_name"]]
    assert ns["session_imgs"].shape == ((ns["trials"]["session"] == "ses-01").sum(), 24, 24, 3)


@pytest.mark.filterwarnings("ignore:sub-01 ses-04")
def test_segmentations_gallery_example(sample, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("LAION_FMRI_EXAMPLE_DATA_DIR", str(sample.root))
    ns = run(PLOT_05_SETUP, {})
    ns = run(PLOT_05_STIMULUS_SIDE, ns)
    ns = run(PLOT_05_SUBJECT_SIDE, ns)
    out = capsys.readouterr().out
    assert f"Nouns in {NAME}: ['fingers', 'hand'" in out
    assert "'fingers' mask: shape=(1000, 1000), dtype=uint8, covered pixels=" in out
    assert f"Trials whose image carries masks: {ns['n_covered']} / 120" in out
    assert 0 < ns["n_covered"] < 120 and out.count("  trial ") == 5
