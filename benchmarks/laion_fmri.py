"""LAION-fMRI stimulus derivatives: imagesets.laion_fmri against naive pandas/h5py access.

Writes a full-size, format-exact sample (all 25,052 real stimulus names; CLIP embeddings
25,052 x 1024 float16 with rows in their own order; 24,011 masks of 64 x 64 instead of
1000 x 1000 to spare the disk; the release's caption structure, 79,261 rows; sub-01 with 30
sessions x 1,044 trials) and times, in one run on the same files:

1. ``Embeddings.get`` of 1,000 names: one h5py row read per name (naive), and the original
   package's sorted h5py fancy read, against ours (matrix read once, hash index); then
   ``Embeddings.get`` of one name per call, the hot path of user loops: a per-call h5py row
   read of the contiguous file (naive, the original's path for one name) against ours;
2. ``sub.embeddings.all("CLIP")``: one h5py row read per trial (naive, timed on a sample of
   trials), against ours;
3. ``Segmentations.nouns`` for every covered image: filter the metadata DataFrame per call
   (naive), and the original's per-image groupby dictionary, against ours;
4. ``Captions`` first access (construct, read, first ``human()``): ``pd.read_csv`` plus a
   DataFrame filter (naive), and the original's read + groupby dictionary, against ours both
   when the per-image index is already cached in the data home (any later process) and on the
   very first run (parse, index, save);
5. ``Captions.human`` per name: filter the DataFrame per call (naive) against ours.

    python benchmarks/laion_fmri.py            # full size (about a minute)
    python benchmarks/laion_fmri.py --small    # 2,492 names, 5 sessions: a quick check
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from imagesets.catalog import data_home
from imagesets.laion_fmri import Captions, Segmentations, load_embeddings, load_subject
from imagesets.tables import format_table
from imagesets.testing.laion_fmri import write_sample_dataset

NAMES_CSV = Path(__file__).resolve().parents[1] / "tests" / "data" / "laion_fmri" / \
    "stimulus_names.csv"
STIMULI = "stimuli"


def best_of(function: Callable[[], object], repeat: int = 3) -> float:
    """The fastest of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def row(operation: str, items: int, naive: float, ours: float, original: float | None = None,
        naive_items: int | None = None) -> dict[str, str]:
    """A result line: per-item times (µs) and the speed-ups of ours."""
    naive_each = naive / (naive_items or items)
    ours_each = ours / items
    line = {"operation": operation, "items": f"{items:,}",
            "naive µs/item": f"{naive_each * 1e6:,.1f}",
            "original µs/item": "" if original is None else f"{original / items * 1e6:,.1f}",
            "ours µs/item": f"{ours_each * 1e6:,.2f}",
            "naive/ours": f"{naive_each / ours_each:,.0f}x",
            "original/ours": "" if original is None else f"{original / ours:,.0f}x"}
    return line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="2,492 names and 5 sessions")
    parser.add_argument("--names", type=Path, default=NAMES_CSV,
                        help="stimulus_names.csv (image_name, unique_or_shared, subject)")
    args = parser.parse_args()
    names = pd.read_csv(args.names, keep_default_na=False, na_values={"subject": [""]})
    sessions, n_masks = 30, 24_011
    if args.small:
        names = pd.concat([names[names["unique_or_shared"] == "shared"],
                           names[names["subject"] == "sub-01"].head(1000)])
        sessions, n_masks = 5, 4_000
    with tempfile.TemporaryDirectory(prefix="laion-fmri-bench-") as folder:
        os.environ["IMAGESETS_HOME"] = str(Path(folder) / "home")
        start = time.perf_counter()
        sample = write_sample_dataset(folder, names, sessions=sessions, trials_per_session=1044,
                                      models=("CLIP",), mask_size=64, n_masks=n_masks,
                                      uncovered_every=0, image_size=None)
        print(f"sample written in {time.perf_counter() - start:.1f} s: {len(names):,} names, "
              f"{n_masks:,} masks, {sessions} sessions x 1,044 trials", file=sys.stderr)
        rows = run(Path(folder), sample.names)
    print(format_table(rows))
    return 0


def run(root: Path, names: list[str]) -> list[dict[str, str]]:
    rng = np.random.default_rng(0)
    rows = []

    # 1. Embeddings.get of 1,000 names
    wanted = [names[i] for i in rng.choice(len(names), 1000, replace=False)]
    path = root / STIMULI / "task-images_desc-CLIP_embeddings.h5"
    with h5py.File(path) as f:
        ids = {n: i for i, n in enumerate(f["image_ids"].asstr()[()])}
        dataset = f["embedding"]
        naive = best_of(lambda: np.stack([dataset[ids[n]] for n in wanted]))

        def original() -> np.ndarray:
            index = np.array([ids[n] for n in wanted])
            order = np.argsort(index)
            rows_sorted = dataset[index[order], :]
            inverse = np.empty_like(order)
            inverse[order] = np.arange(len(order))
            return rows_sorted[inverse]

        incumbent = best_of(original)
        truth = np.stack([dataset[ids[n]] for n in wanted])
    emb = load_embeddings("CLIP", root)
    cold = best_of(lambda: load_embeddings("CLIP", root).get("CLIP", wanted), repeat=1)
    ours = best_of(lambda: emb.get("CLIP", wanted), repeat=5)
    assert np.array_equal(emb.get("CLIP", wanted), truth)
    rows.append(row("Embeddings.get, 1,000 names", 1000, naive, ours, incumbent))
    rows.append(row("  same, first call (reads the matrix)", 1000, naive, cold, incumbent))
    with h5py.File(path) as f:
        dataset = f["embedding"]
        assert dataset.chunks is None                     # contiguous, like the release
        per_call = best_of(lambda: [dataset[ids[n]] for n in wanted], repeat=5)
    ours_per_call = best_of(lambda: [emb.get("CLIP", n) for n in wanted], repeat=5)
    assert all(np.array_equal(emb.get("CLIP", n), truth[i]) for i, n in enumerate(wanted))
    rows.append(row("Embeddings.get, one name per call", 1000, per_call, ours_per_call,
                    per_call))

    # 2. sub.embeddings.all
    sub = load_subject("sub-01", root)
    trials = sub.metadata["image_name"].tolist()
    timed = trials[:3000]
    with h5py.File(path) as f:
        dataset = f["embedding"]
        naive = best_of(lambda: np.stack([dataset[ids[n]] for n in timed]), repeat=1)
    ours = best_of(lambda: sub.embeddings.all("CLIP"))
    assert sub.embeddings.all("CLIP").shape == (len(trials), 1024)
    rows.append(row(f"sub.embeddings.all, {len(trials):,} trials", len(trials), naive, ours,
                    naive_items=len(timed)))

    # 3. Segmentations.nouns per image
    csv = root / STIMULI / "task-images_desc-segmentations_metadata.csv"
    table = pd.read_csv(csv)
    seg = Segmentations(root)
    covered = seg.images()

    def naive_nouns() -> None:
        for name in covered:
            found = table[table["image_name"] == name]
            list(dict.fromkeys(found.loc[found["localized"] == 1, "noun"]))

    groups = {name: g.reset_index(drop=True) for name, g in table.groupby("image_name")}

    def original_nouns() -> None:
        for name in covered:
            found = groups[name]
            list(dict.fromkeys(found.loc[found["localized"] == 1, "noun"]))

    naive, incumbent = best_of(naive_nouns, repeat=1), best_of(original_nouns, repeat=1)
    ours = best_of(lambda: [seg.nouns(n) for n in covered])
    assert all(seg.nouns(n) == list(dict.fromkeys(
        groups[n].loc[groups[n]["localized"] == 1, "noun"])) for n in covered[:200])
    rows.append(row("Segmentations.nouns, every covered image", len(covered), naive, ours,
                    incumbent))

    # 4. Captions first access, 5. human() per name
    captions_csv = root / STIMULI / "task-images_desc-captions.csv"
    first = names[0]

    def naive_first() -> list[str]:
        frame = pd.read_csv(captions_csv)
        found = frame[(frame["image_name"] == first) & (frame["source"] == "human")]
        return found.sort_values("caption_idx")["caption"].tolist()

    def original_first() -> list[str]:
        frame = pd.read_csv(captions_csv)
        by_image = {n: g.reset_index(drop=True) for n, g in frame.groupby("image_name")}
        found = by_image[first]
        return found[found["source"] == "human"].sort_values("caption_idx")["caption"].tolist()

    def ours_cold() -> list[str]:
        shutil.rmtree(data_home() / "laion_fmri" / "cache", ignore_errors=True)
        return Captions(root).human(first)

    naive, incumbent = best_of(naive_first), best_of(original_first)
    cold = best_of(ours_cold)
    warm = best_of(lambda: Captions(root).human(first))
    assert Captions(root).human(first)[2:] == naive_first()[2:]
    rows.append(row("Captions first access, index cached", 1, naive, warm, incumbent))
    rows.append(row("  same, first run (parse, index, save)", 1, naive, cold, incumbent))

    caps = Captions(root)
    frame = pd.read_csv(captions_csv, keep_default_na=False)
    sampled = [names[i] for i in rng.choice(len(names), 1000, replace=False)]

    def naive_human() -> None:
        for name in sampled:
            found = frame[(frame["image_name"] == name) & (frame["source"] == "human")]
            found.sort_values("caption_idx")["caption"].tolist()

    naive = best_of(naive_human, repeat=1)
    ours = best_of(lambda: [caps.human(n) for n in names])
    rows.append(row(f"Captions.human per name (ours: all {len(names):,})", len(names), naive,
                    ours, naive_items=len(sampled)))
    print(f"captions: {len(frame):,} rows", file=sys.stderr)
    return rows


if __name__ == "__main__":
    sys.exit(main())
