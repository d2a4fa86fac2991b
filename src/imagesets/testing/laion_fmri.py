"""A format-exact LAION-fMRI sample: every published file, written from real stimulus names.

Used by the tests and the benchmark, and handy to try the API without downloading anything.
The content is synthetic (random vectors, box-shaped masks, numbered captions) but the layout,
dtypes, columns and quirks are the release's: embedding rows in a different order per model,
unlocalised masks, shared images without masks, "NA" captions, names with spaces, PNG images,
and one subject with several sessions whose trials repeat within and across sessions.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
from PIL import Image

from ..laion_fmri.layout import (
    CAPTIONS_CSV,
    IMAGES_H5,
    METADATA_CSV,
    MODELS,
    NORMALISED_MODELS,
    SEGMENTATIONS_CSV,
    SEGMENTATIONS_H5,
    embeddings_key,
    trials_key,
)

NOUNS = ("fingers", "hand", "pullover", "person", "dog", "cat", "car", "tree", "cup", "table",
         "sky", "window", "shoe", "book", "bird", "flower", "chair")
SPECIAL_CAPTIONS = ("NA", "n/a", 'He said "hi", then left', "two lines\nof caption")


@dataclass
class SampleDataset:
    """What was written: the root folder, the stimulus names and the subject's sessions."""

    root: Path
    names: list[str]
    subject: str
    sessions: list[str]
    empty_session: str | None = None
    files: list[Path] = field(default_factory=list)


def source_pool(name: str) -> str:
    """The ``dataset`` column value of a stimulus, from its name."""
    for marker, pool in (("_OOD_", "OOD"), ("_NSD_", "NSD"), ("_THINGS+_", "THINGSplus"),
                         ("_THINGS_", "THINGS")):
        if marker in name:
            return pool
    return "LAION"


def write_sample_dataset(root: str | os.PathLike, names: pd.DataFrame, *, subject: str = "sub-01",
                         sessions: int = 3, trials_per_session: int = 40,
                         models: tuple[str, ...] = tuple(MODELS), mask_size: int = 1000,
                         n_masks: int | None = None, uncovered_every: int = 5,
                         image_size: int | None = 24, seed: int = 0) -> SampleDataset:
    """Write the sample under ``root`` from ``names`` (columns ``image_name``,
    ``unique_or_shared``, ``subject``, as in the shared ``stimulus_names.csv``).

    ``n_masks`` masks (default 4 per covered image) of ``mask_size``² go to the shared images
    except every ``uncovered_every``-th one (the first covered image gets the nouns 'fingers',
    'hand', ... as in the published examples); ``image_size=None`` writes no images file.
    """
    root = Path(root)
    (root / "stimuli").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    table = names.reset_index(drop=True)
    listed = table["image_name"].tolist()
    out = SampleDataset(root, listed, subject, [])
    out.files.append(_write_metadata(root, table))
    for model in models:
        out.files.append(_write_embeddings(root, model, listed, rng))
    shared = table.loc[table["unique_or_shared"] == "shared", "image_name"].tolist()
    covered = [n for i, n in enumerate(shared, 1) if not uncovered_every or i % uncovered_every]
    out.files += _write_segmentations(root, covered, n_masks or 4 * len(covered), mask_size, rng)
    out.files.append(_write_captions(root, table, rng))
    if image_size:
        out.files.append(_write_images(root, listed, image_size, rng))
    own = shared + table.loc[table["subject"] == subject, "image_name"].tolist()
    out.sessions = _write_trials(root, subject, own, sessions, trials_per_session, rng)
    out.empty_session = f"ses-{sessions + 1:02d}"
    (root / trials_key(subject, out.empty_session)).parent.mkdir(parents=True, exist_ok=True)
    return out


def _write_metadata(root: Path, table: pd.DataFrame) -> Path:
    names = table["image_name"]
    frame = pd.DataFrame({
        "image_name": names,
        "dataset": [source_pool(n) for n in names],
        "participant": table["subject"].fillna("shared").where(
            table["unique_or_shared"] == "unique", "shared"),
        "unique_or_shared": table["unique_or_shared"],
        "n_reps": np.where(names.str.contains("_12rep_"), 12, 4),
    })
    frame.to_csv(root / METADATA_CSV, index=False)
    return root / METADATA_CSV


def _write_embeddings(root: Path, model: str, names: list[str], rng: np.random.Generator) -> Path:
    order = rng.permutation(len(names))
    vectors = rng.standard_normal((len(names), MODELS[model]), dtype=np.float32)
    if model in NORMALISED_MODELS:
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    else:
        vectors *= rng.uniform(0.5, 5.0, (len(names), 1)).astype(np.float32)
    path = root / embeddings_key(model)
    with h5py.File(path, "w") as f:
        f.create_dataset("embedding", data=vectors.astype(np.float16))
        f.create_dataset("image_ids", data=np.array(names, dtype=object)[order],
                         dtype=h5py.string_dtype())
        f.create_dataset("valid", data=np.ones(len(names), dtype=bool))
    return path


def _write_segmentations(root: Path, covered: list[str], n_masks: int, size: int,
                         rng: np.random.Generator) -> list[Path]:
    counts = np.full(len(covered), n_masks // max(len(covered), 1))
    counts[: n_masks - counts.sum()] += 1
    rows = []
    for j, (name, count) in enumerate(zip(covered, counts, strict=True)):
        n_nouns = int(min(max(1, count // 2), len(NOUNS), count))
        nouns = list(NOUNS[:n_nouns]) if j == 0 else rng.choice(NOUNS, n_nouns, False).tolist()
        unlocalised = nouns[-1] if j % 3 == 2 and n_nouns > 1 else None
        for k in range(int(count)):
            noun = nouns[k % n_nouns]
            instance = k // n_nouns
            localized = int(noun != unlocalised)
            x0, y0 = (int(v) for v in rng.integers(0, size // 2, 2))
            x1, y1 = (int(v) for v in rng.integers(size // 2 + 1, size + 1, 2))
            rows.append({"image_name": name, "noun": noun, "instance_id": instance,
                         "score": round(0.95 - 0.1 * instance - 0.01 * (k % 3), 4),
                         "box_x0": x0 if localized else None, "box_y0": y0 if localized else None,
                         "box_x1": x1 if localized else None, "box_y1": y1 if localized else None,
                         "localized": localized,
                         "mask_file": f"{Path(name).stem}_{noun}_{instance}.png"})
    frame = pd.DataFrame(rows, columns=["image_name", "noun", "instance_id", "score", "box_x0",
                                        "box_y0", "box_x1", "box_y1", "localized", "mask_file"])
    frame.insert(0, "mask_row", rng.permutation(len(frame)))
    frame.to_csv(root / SEGMENTATIONS_CSV, index=False)
    with h5py.File(root / SEGMENTATIONS_H5, "w") as f:
        masks = f.create_dataset("masks", (len(frame), size, size), dtype=np.uint8,
                                 chunks=(1, size, size), compression="gzip", shuffle=True)
        for row in frame.itertuples():
            mask = np.zeros((size, size), np.uint8)
            if row.localized:
                mask[int(row.box_y0):int(row.box_y1), int(row.box_x0):int(row.box_x1)] = 1
            else:
                mask[:] = 1
            masks[row.mask_row] = mask
    return [root / SEGMENTATIONS_CSV, root / SEGMENTATIONS_H5]


def _write_captions(root: Path, table: pd.DataFrame, rng: np.random.Generator) -> Path:
    rows = []
    for i, (name, kind) in enumerate(zip(table["image_name"], table["unique_or_shared"],
                                         strict=True)):
        if kind == "shared" and "_OOD_" not in name:
            rows.append((name, 0, "ai", f"An AI description of image {i}.", "gpt-5.1", None,
                         "gpt-5.1"))
        for rank in range(1, (5 if kind == "shared" else 3) + 1):
            text = f"human caption {rank} of image {i}"
            if rank == 2 and i < len(SPECIAL_CAPTIONS):
                text = SPECIAL_CAPTIONS[i]
            rows.append((name, rank, "human", text, "main3" if rank % 2 else "topup1",
                         f"P{rng.integers(16**8):08x}", None))
    frame = pd.DataFrame(rows, columns=["image_name", "caption_idx", "source", "caption",
                                        "origin_collection", "participant_id", "ai_model"])
    frame.iloc[rng.permutation(len(frame))].to_csv(root / CAPTIONS_CSV, index=False)
    return root / CAPTIONS_CSV


def _write_images(root: Path, names: list[str], size: int, rng: np.random.Generator) -> Path:
    encoded = []
    for name in names:
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        if name.endswith(".png"):
            alpha = np.full((size, size, 1), 255, np.uint8)
            alpha[: size // 2] = 0
            Image.fromarray(np.concatenate([pixels, alpha], axis=2), "RGBA").save(buffer, "PNG")
        else:
            Image.fromarray(pixels, "RGB").save(buffer, "JPEG", quality=90)
        encoded.append(np.frombuffer(buffer.getvalue(), np.uint8))
    with h5py.File(root / IMAGES_H5, "w") as f:
        images = f.create_dataset("images", (len(encoded),), dtype=h5py.vlen_dtype(np.uint8))
        for i, data in enumerate(encoded):
            images[i] = data
    return root / IMAGES_H5


def _write_trials(root: Path, subject: str, pool: list[str], sessions: int, per_session: int,
                  rng: np.random.Generator) -> list[str]:
    special = [n for n in pool if " " in n or n.endswith(".png")][:4]
    written = []
    for s in range(1, sessions + 1):
        session = f"ses-{s:02d}"
        distinct = max(1, per_session * 3 // 4)
        chosen = rng.choice(len(pool), min(distinct, len(pool)), replace=False)
        labels = [pool[i] for i in chosen]
        if s == 1:
            labels[: len(special)] = special
        labels += [labels[i] for i in rng.integers(0, len(labels), per_session - len(labels))]
        labels = [labels[i] for i in rng.permutation(len(labels))]
        path = root / trials_key(subject, session)
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"session": session, "run": np.arange(len(labels)) * 12 // len(labels) + 1,
                      "beta_index": np.arange(len(labels)), "label": labels}
                     ).to_csv(path, sep="\t", index=False)
        written.append(session)
    return written


# ── the brain side: NIfTI files made with nibabel ─────────────────────────────────────────────

#: ROI categories and names the brain sample writes (names without hyphens, as released).
SAMPLE_ROIS = {"body": ("EBA", "FBA1"), "face": ("FFA1", "OFA")}
BRAIN_SHAPE = (20, 24, 18)
VOXEL_MM = 1.8


@dataclass
class BrainSample:
    """What :func:`write_brain_sample` wrote: subject → sessions with betas, the volume shape
    and each subject's affine."""

    root: Path
    sessions: dict[str, list[str]]
    shape: tuple[int, int, int]
    affines: dict[str, np.ndarray]
    files: list[Path] = field(default_factory=list)


def _save_nifti(path: Path, data: np.ndarray, affine: np.ndarray) -> Path:
    import nibabel as nib

    path.parent.mkdir(parents=True, exist_ok=True)
    image = nib.Nifti1Image(data, affine)
    image.header.set_xyzt_units("mm", "sec")
    nib.save(image, str(path))
    return path


def _box(shape: tuple[int, ...], low: tuple[int, ...], high: tuple[int, ...]) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    mask[tuple(slice(a, b) for a, b in zip(low, high, strict=True))] = 1
    return mask


def write_brain_sample(sample: SampleDataset, names: pd.DataFrame, *,
                       subjects: tuple[str, ...] = ("sub-01", "sub-03"), sessions: int = 3,
                       trials_per_session: int = 40, shape: tuple[int, int, int] = BRAIN_SHAPE,
                       seed: int = 1) -> BrainSample:
    """Add the brain files of the release (with nibabel) to a sample from
    :func:`write_sample_dataset`: per session the 4-D float32 single-trial betas (volume k =
    trials-table row k; NaNs outside the brain and at a few brain voxels) and the noise
    ceiling; per subject R2mean and the three aggregate noise ceilings (percent), the
    anatomical brain mask (an ellipsoid) and box ROIs in two categories (:data:`SAMPLE_ROIS`).

    Betas are a low-rank linear map of the CLIP embedding of the trial's image, strongest in
    the ROIs, plus noise, so an encoding model has something to find. Subjects other than the
    sample's get trials tables of their own (shared images and their unique ones).
    """
    from ..laion_fmri.brain_layout import (
        NOISE_CEILING_DESCS,
        anatomical_mask_key,
        betas_key,
        r2mean_key,
        roi_key,
        session_noise_ceiling_key,
        subject_noise_ceiling_key,
    )

    root = sample.root
    rng = np.random.default_rng(seed)
    with h5py.File(root / embeddings_key("CLIP"), "r") as f:
        vectors = f["embedding"][:].astype(np.float32)
        ids = [n.decode() if isinstance(n, bytes) else n for n in f["image_ids"][:]]
    clip = dict(zip(ids, vectors, strict=True))
    table = names.reset_index(drop=True)
    shared = table.loc[table["unique_or_shared"] == "shared", "image_name"].tolist()
    out = BrainSample(root, {}, shape, {})
    grid = np.indices(shape).astype(np.float32)
    centre = (np.array(shape, np.float32) - 1) / 2
    radii = np.array(shape, np.float32) * 0.42
    brain = (((grid - centre[:, None, None, None]) / radii[:, None, None, None]) ** 2).sum(0) <= 1
    rois = {("face", "FFA1"): _box(shape, (4, 6, 6), (8, 11, 10)),
            ("face", "OFA"): _box(shape, (12, 6, 6), (15, 10, 9)),
            ("body", "EBA"): _box(shape, (6, 12, 8), (11, 17, 12)),
            ("body", "FBA1"): _box(shape, (7, 9, 7), (10, 13, 11))}
    in_roi = np.any([m.astype(bool) for m in rois.values()], axis=0) & brain
    for number, subject in enumerate(subjects):
        affine = np.diag([VOXEL_MM, VOXEL_MM, VOXEL_MM, 1.0])
        affine[:3, 3] = -centre * VOXEL_MM + np.array([number, -number, 0.5 * number])
        out.affines[subject] = affine
        out.files.append(_save_nifti(root / anatomical_mask_key(subject),
                                     brain.astype(np.uint8), affine))
        for (category, roi), mask in rois.items():
            out.files.append(_save_nifti(root / roi_key(subject, category, roi), mask, affine))
        gain = np.where(in_roi, 1.0, 0.15).astype(np.float32)
        ceiling = np.where(brain, np.clip(gain * 60 + rng.normal(0, 8, shape), 0, 100), 0)
        r2 = np.where(brain, rng.uniform(0.5, 30, shape), 0).astype(np.float32)
        r2[brain & (rng.random(shape) < 0.03)] = np.nan
        out.files.append(_save_nifti(root / r2mean_key(subject), r2, affine))
        for desc in NOISE_CEILING_DESCS:
            values = np.clip(ceiling + rng.normal(0, 2, shape), 0, 100) * brain
            out.files.append(_save_nifti(root / subject_noise_ceiling_key(subject, desc),
                                         values.astype(np.float32), affine))
        if subject == sample.subject:
            written = sample.sessions
        else:
            own = shared + table.loc[table["subject"] == subject, "image_name"].tolist()
            written = _write_trials(root, subject, own, sessions, trials_per_session, rng)
        weights = rng.standard_normal((vectors.shape[1], 4)).astype(np.float32)
        patterns = rng.standard_normal((4,) + shape).astype(np.float32) * gain
        broken = brain & (rng.random(shape) < 0.01)
        for session in written:
            labels = pd.read_csv(root / trials_key(subject, session), sep="\t")["label"]
            codes = np.stack([clip[name] for name in labels]) @ weights
            betas = np.einsum("tk,kxyz->xyzt", codes, patterns)
            betas += rng.normal(0, 0.6, betas.shape)
            betas[~brain] = np.nan
            betas[broken] = np.nan
            out.files.append(_save_nifti(root / betas_key(subject, session),
                                         betas.astype(np.float32), affine))
            session_ceiling = np.clip(ceiling + rng.normal(0, 4, shape), 0, 100) * brain
            out.files.append(_save_nifti(root / session_noise_ceiling_key(subject, session),
                                         session_ceiling.astype(np.float32), affine))
        out.sessions[subject] = list(written)
    return out
