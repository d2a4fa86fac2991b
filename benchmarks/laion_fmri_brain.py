"""LAION-fMRI single-trial betas: the betas store against the original package's way (nibabel
loads the session's whole 4-D gzip NIfTI, then masks every volume), same files, same run.

Writes a synthetic session of the release's shape (143 x 143 x 143 float32, 1.8 mm, gzip NIfTI;
an ellipsoid brain mask of ~206,000 voxels, about the size of a real 1.8 mm brain mask; random
betas inside, zeros outside; a 12 x 13 x 13 box ROI, 2,022 voxels inside the brain) with
``--trials`` volumes (a real session has 1,044-1,066: the default writes fewer to spare disk
and memory, and the figures are also given scaled linearly to 1,050 trials). Then measures:

1. conversion into the store (``prepare_betas``, one process): wall time and peak RSS;
2. the original's way, once, in its own process: nibabel load + masking, wall time and peak
   RSS (it caches nothing, so every ``get_betas`` call, whatever its ROI, costs this);
3. ours: ``get_betas(session, roi=ROI)``, one trial's betas (``sub.betas(k)``) and the whole
   session, first call on a fresh ``Subject`` and best of several warm calls; the ROI result
   is checked equal to the original's.

    python benchmarks/laion_fmri_brain.py                 # 128 trials (~1.5 GB uncompressed)
    python benchmarks/laion_fmri_brain.py --trials 32     # a quick check
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from imagesets.laion_fmri import load_subject
from imagesets.laion_fmri.brain_layout import anatomical_mask_key, betas_key, roi_key
from imagesets.laion_fmri.layout import trials_key
from imagesets.tables import format_table

SUBJECT, SESSION, ROI = "sub-01", "ses-01", "BENCH"
SHAPE = (143, 143, 143)
RADII = (33.0, 42.0, 35.5)
REAL_TRIALS = 1050


def write_session(root: Path, n_trials: int, rng: np.random.Generator) -> tuple[int, int]:
    """The files ``get_betas`` reads; returns (brain voxels, ROI voxels)."""
    affine = np.diag([1.8, 1.8, 1.8, 1.0])
    affine[:3, 3] = -np.array(SHAPE) * 0.9
    grid = np.ogrid[tuple(slice(0, n) for n in SHAPE)]
    centre = (np.array(SHAPE) - 1) / 2
    brain = sum(((g - c) / r) ** 2 for g, c, r in zip(grid, centre, RADII, strict=True)) <= 1
    roi = np.zeros(SHAPE, np.uint8)
    roi[50:62, 40:53, 60:73] = 1
    for key, data in ((anatomical_mask_key(SUBJECT), brain.astype(np.uint8)),
                      (roi_key(SUBJECT, "face", ROI), roi)):
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        nib.save(nib.Nifti1Image(data, affine), str(root / key))
    trials = root / trials_key(SUBJECT, SESSION)
    trials.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"session": SESSION, "run": np.arange(n_trials) // 88 + 1,
                  "beta_index": np.arange(n_trials),
                  "label": [f"unique_LAION_bench_{i}.jpg" for i in range(n_trials)]}
                 ).to_csv(trials, sep="\t", index=False)
    header = nib.Nifti1Header()
    header.set_data_shape(SHAPE + (n_trials,))
    header.set_data_dtype(np.float32)
    header.set_sform(affine, code=2)
    header.set_qform(affine, code=2)
    header["vox_offset"] = 352
    inside = np.flatnonzero(brain.ravel(order="F"))
    volume = np.zeros(int(np.prod(SHAPE)), np.float32)
    with gzip.open(root / betas_key(SUBJECT, SESSION), "wb", compresslevel=1) as stream:
        header.write_to(stream)
        stream.write(b"\0" * (352 - 348))
        for _ in range(n_trials):
            volume[inside] = rng.standard_normal(len(inside), dtype=np.float32)
            stream.write(volume.tobytes())
    return int(brain.sum()), int((roi.astype(bool) & brain).sum())


def in_process(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh Python; it prints a JSON dict; add its peak RSS (MB)."""
    script = textwrap.dedent(code) + textwrap.dedent("""
        import resource, json as _json
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(_json.dumps(result))
    """)
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                          text=True, env=os.environ.copy())
    if done.returncode:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


CONVERT = """
import sys, time
from imagesets.laion_fmri import load_subject
start = time.perf_counter()
load_subject("sub-01", sys.argv[1]).prepare_betas(workers=1, verbose=False)
result = {"seconds": time.perf_counter() - start}
"""

ORIGINAL = """
import sys, time
import nibabel as nib, numpy as np
from imagesets.laion_fmri.brain_layout import anatomical_mask_key, betas_key, roi_key
root, out = sys.argv[1], sys.argv[2]
start = time.perf_counter()
mask = np.asarray(nib.load(f"{root}/" + anatomical_mask_key("sub-01")).dataobj).ravel() != 0
data = np.asarray(nib.load(f"{root}/" + betas_key("sub-01", "ses-01")).dataobj)
betas = np.empty((data.shape[3], int(mask.sum())), np.float32)
for t in range(data.shape[3]):
    betas[t] = data[..., t].ravel()[mask]
seconds = time.perf_counter() - start
roi = np.asarray(nib.load(f"{root}/" + roi_key("sub-01", "face", "BENCH")).dataobj).ravel()
np.save(out, betas[:, (roi != 0)[mask]])
result = {"seconds": seconds}
"""


def timed(function: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = function()
        best = min(best, time.perf_counter() - start)
    return best, value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=128, help="volumes in the session")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    warnings.simplefilter("ignore", UserWarning)  # no stimulus metadata in this folder
    with tempfile.TemporaryDirectory(prefix="laion-fmri-brain-bench-") as folder:
        root = Path(folder) / "data"
        os.environ["IMAGESETS_HOME"] = str(Path(folder) / "home")
        start = time.perf_counter()
        n_brain, n_roi = write_session(root, args.trials, rng)
        size = (root / betas_key(SUBJECT, SESSION)).stat().st_size
        print(f"session written in {time.perf_counter() - start:.1f} s: {SHAPE} x "
              f"{args.trials} float32, {size / 1e6:,.0f} MB gzip, {n_brain:,} brain voxels, "
              f"ROI {n_roi:,} voxels", file=sys.stderr)
        convert = in_process(CONVERT, str(root))
        original = in_process(ORIGINAL, str(root), str(Path(folder) / "roi.npy"))
        expected = np.load(Path(folder) / "roi.npy")

        sub = load_subject(SUBJECT, root)
        first_roi, got = timed(lambda: sub.get_betas(SESSION, roi=ROI), 1)
        assert np.array_equal(got, expected), "ROI betas differ from the original's way"
        warm_roi, _ = timed(lambda: sub.get_betas(SESSION, roi=ROI), 5)
        fresh = load_subject(SUBJECT, root)
        first_trial, _ = timed(lambda: fresh.betas(args.trials // 2), 1)
        trials = iter(rng.integers(0, args.trials, 20))
        warm_trial, _ = timed(lambda: sub.betas(int(next(trials))), 20)
        warm_whole, whole = timed(lambda: sub.get_betas(SESSION), 3)
        assert np.array_equal(whole[:, sub.get_roi_mask(ROI)], expected)

    scale = REAL_TRIALS / args.trials
    base = original["seconds"]
    rows = []
    for name, ours, scales in (
            (f"get_betas(session, roi={n_roi:,} voxels), first call", first_roi, True),
            (f"get_betas(session, roi={n_roi:,} voxels), warm", warm_roi, True),
            ("one trial, all brain voxels, first call", first_trial, False),
            ("one trial, all brain voxels, warm", warm_trial, False),
            ("whole session, warm", warm_whole, True)):
        rows.append({"operation": name,
                     f"original s ({args.trials} trials)": f"{base:.2f}",
                     "ours ms": f"{ours * 1e3:.2f}", "original/ours": f"{base / ours:,.0f}x",
                     f"at {REAL_TRIALS:,} trials":
                         f"{base * scale / (ours * (scale if scales else 1)):,.0f}x"})
    print(format_table(rows))
    print()
    print(format_table([
        {"step": "convert once into the store", "trials": args.trials,
         "wall s": f"{convert['seconds']:.1f}", "peak RSS MB": f"{convert['peak_rss_mb']:,.0f}",
         f"wall s at {REAL_TRIALS:,}": f"{convert['seconds'] * scale:.0f}"},
        {"step": "original: nibabel load + mask (every call)", "trials": args.trials,
         "wall s": f"{base:.1f}", "peak RSS MB": f"{original['peak_rss_mb']:,.0f}",
         f"wall s at {REAL_TRIALS:,}": f"{base * scale:.0f}"}]))
    roi_ratio = base / warm_roi
    trial_ratio = base / warm_trial
    print(f"\ntarget ROI read >= 50x (goal 500x): {roi_ratio:,.0f}x "
          f"{'met' if roi_ratio >= 50 else 'MISSED'}; one trial >= 100x: {trial_ratio:,.0f}x "
          f"{'met' if trial_ratio >= 100 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
