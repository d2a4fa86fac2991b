"""LAION-fMRI stimulus derivatives: the published ``laion_fmri`` API (embeddings, segmentations,
captions, stimuli, subject-aligned access, downloads), plus a catalog entry.

``from imagesets import laion_fmri`` then use it as the original package is used.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..catalog import DatasetEntry, PreparedTask, PrepareRequest, Task, register
from ..errors import NotFoundError
from ..fsutil import atomic_write_text
from . import config
from .config import dataset_initialize, get_data_dir, set_data_dir
from .layout import MODELS, STIMULI_DIR

if TYPE_CHECKING:
    from .stimuli import Stimuli

# The data classes pull in pandas and h5py; they load on first use, so `import imagesets` (and
# every CLI command) stays fast.
_LAZY = {
    "Captions": "captions", "Embeddings": "embeddings", "Neighbours": "embeddings",
    "load_embeddings": "embeddings", "Segmentations": "segmentations", "Stimuli": "stimuli",
    "StimulusImages": "stimuli", "load_stimuli": "stimuli", "Subject": "subject",
    "load_subject": "subject", "LICENSE_NOTICE": "download", "download_captions": "download",
    "download_embeddings": "download", "download_parts": "download",
    "download_segmentations": "download", "Group": "group", "load_subjects": "group",
    "SubjectTrialsDataset": "torch_dataset",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

NAME = config.NAME

SETUP = """\
The public stimulus derivatives (embeddings of four models, object segmentations, captions)
come from the anonymous S3 bucket laion-fmri (us-west-2):
  imagesets download laion_fmri --data-dir DIR [--what embeddings segmentations captions]
      [--n-jobs 4] [--endpoint URL]
The stimulus images (stimuli/task-images_stimuli.h5 + task-images_metadata.csv) are gated:
request access at https://laion-fmri.hebartlab.com/request and put them in DIR/stimuli/.
Subject trials go in DIR/derivatives/glmsingle-tedana/sub-XX/ses-YY/func/. Then:
  from imagesets import laion_fmri; stim = laion_fmri.load_stimuli(DIR)"""


def _prepare(request: PrepareRequest) -> PreparedTask:
    if request.task == "betas":
        from .betas_task import prepare

        return prepare(request)
    folder = request.data_dir / STIMULI_DIR
    files = sorted(p for p in folder.glob("task-images_*") if p.is_file()) if folder.is_dir() \
        else []
    if not files:
        raise NotFoundError(f"no LAION-fMRI stimulus files in {folder}; get them with "
                            f"`imagesets download laion_fmri --data-dir {request.data_dir}`")
    listing = {p.name: p.stat().st_size for p in files}
    output = request.metadata_dir / f"{request.task}.json"
    atomic_write_text(output, json.dumps({"data_dir": str(request.data_dir), "files": listing},
                                         indent=2))
    fingerprint = hashlib.sha256(json.dumps(listing, sort_keys=True).encode()).hexdigest()[:16]
    return PreparedTask(NAME, request.task, str(request.data_dir), str(output), {}, fingerprint)


def _open(prepared: PreparedTask) -> Any:
    if prepared.task == "betas":
        from .betas_task import SubjectBetas

        return SubjectBetas(prepared)
    from .stimuli import Stimuli

    return Stimuli(prepared.data_dir)


def _download(folder: Path, **options: Any) -> Any:
    from .download import download_parts

    return download_parts(folder, **options)


ENTRY = register(DatasetEntry(
    name=NAME,
    title="LAION-fMRI stimulus derivatives",
    description="Embeddings (CLIP, DINOv2, PEcore, SigLIP2), object masks and captions of the "
                "25,052 LAION-fMRI stimuli, standalone or aligned to a subject's fMRI trials.",
    keywords=("fmri", "embeddings", "segmentation", "captions"),
    size="embeddings 4 x ~53 MB, segmentations ~68 MB, captions one CSV of ~79k rows",
    downloadable=True,
    tasks=(Task("stimuli", "the stimulus hub: metadata, images, embeddings, masks, captions"),
           Task("betas", "a subject's single-trial betas, brain-masked per session for fast "
                "ROI and trial reads", ("subject", "sessions", "mask_source", "workers",
                                         "engine", "address"))),
    default_task="stimuli",
    sets=("stimuli",),
    fields=("image_name", "dataset", "participant", "unique_or_shared", "n_reps"),
    setup=SETUP,
    license="CC0 1.0 (data and derivatives); stimulus images under a data use agreement",
    homepage="https://laion-fmri.hebartlab.com",
    prepare=_prepare,
    open=_open,
    download=_download,
))

__all__ = ["Captions", "ENTRY", "Embeddings", "LICENSE_NOTICE", "MODELS", "Neighbours",
           "Segmentations", "Stimuli", "StimulusImages", "Subject", "config",
           "dataset_initialize", "download_captions", "download_embeddings",
           "download_segmentations", "get_data_dir", "Group", "load_subjects",
           "SubjectTrialsDataset", "load_embeddings", "load_stimuli",
           "load_subject", "set_data_dir"]
