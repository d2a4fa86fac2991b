"""Build the embedded LAION-fMRI sample in the published file layout (deterministic).

    python scripts/make_laion_fmri_sample.py

Eight real stimulus names from ``tests/data/laion_fmri/stimulus_names.csv`` (the published
example image first, one shared image of each source pool, a name with spaces, a PNG, three of
sub-01's own images), written by :func:`imagesets.testing.laion_fmri.write_sample_dataset`:
the published files, dtypes and shapes (embeddings float16 of 1024 or 1152 columns per model,
1000x1000 uint8 masks), synthetic content, 32-pixel images, two sessions of sub-01.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from imagesets.testing.laion_fmri import write_sample_dataset

REPO = Path(__file__).resolve().parents[1]
NAMES_CSV = REPO / "tests" / "data" / "laion_fmri" / "stimulus_names.csv"
OUT = REPO / "src" / "imagesets" / "sample_data" / "laion_fmri"
EXAMPLE = "shared_12rep_LAION_cluster_1003_i0.jpg"


def pick(names: pd.DataFrame) -> pd.DataFrame:
    """The example image, one shared image per pool, a name with spaces, a PNG, 3 of sub-01."""
    shared = names[names["unique_or_shared"] == "shared"]
    pool = shared["image_name"].str.extract(r"^shared_\d+rep_([A-Za-z+]+)")[0]
    return pd.concat([
        shared[shared["image_name"] == EXAMPLE],
        shared.groupby(pool).head(1),
        shared[shared["image_name"].str.contains(" ")].head(1),
        shared[shared["image_name"].str.endswith(".png")].head(1),
        names[names["subject"] == "sub-01"].head(3),
    ]).drop_duplicates("image_name")


def main() -> None:
    names = pick(pd.read_csv(NAMES_CSV, keep_default_na=False, na_values={"subject": [""]}))
    shutil.rmtree(OUT, ignore_errors=True)
    sample = write_sample_dataset(OUT, names, sessions=2, trials_per_session=8,
                                  uncovered_every=4, image_size=32)
    shutil.rmtree(OUT / "derivatives" / "glmsingle-tedana" / sample.subject /
                  str(sample.empty_session))  # git keeps no empty folder
    files = sorted(p for p in OUT.rglob("*") if p.is_file())
    for path in files:
        print(f"{path.stat().st_size:>8,}  {path.relative_to(OUT)}")
    print(f"{sum(p.stat().st_size for p in files):>8,}  total, {len(sample.names)} stimuli")


if __name__ == "__main__":
    main()
