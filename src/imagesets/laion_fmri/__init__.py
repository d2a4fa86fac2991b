"""LAION-fMRI stimulus derivatives: the published ``laion_fmri`` API (embeddings, segmentations,
captions, stimuli, subject-aligned access, downloads), plus a catalog entry.

``from imagesets import laion_fmri`` then use it as the original package is used.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..catalog import DatasetEntry, Option, PreparedTask, PrepareRequest, Task, register
from ..engine import ENGINE_OPTIONS
from ..errors import NotFoundError
from ..fsutil import atomic_write_text, stat_stamp
from . import config
from .brain_layout import MASK_SOURCES
from .config import dataset_initialize, get_data_dir, set_data_dir
from .exceptions import (
    DataDirNotSetError,
    DataNotDownloadedError,
    DataNotFoundError,
    LicenseNotAcceptedError,
    NoMatchingDataError,
    StimuliNotDownloadedError,
    SubjectNotFoundError,
)
from .layout import GLM_DIR, MODELS, STIMULI_DIR

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
      [--workers 4] [--endpoint URL]
The stimulus images (stimuli/task-images_stimuli.h5 + task-images_metadata.csv) are gated:
request access at https://laion-fmri.hebartlab.com/request and put them in DIR/stimuli/.
Subject trials go in DIR/derivatives/glmsingle-tedana/sub-XX/ses-YY/func/. Then:
  from imagesets import laion_fmri; stim = laion_fmri.load_stimuli(DIR)"""


def _stimulus_files(data_dir: Path) -> list[Path]:
    folder = data_dir / STIMULI_DIR
    return sorted(p for p in folder.glob("task-images_*") if p.is_file()) if folder.is_dir() \
        else []


def _inputs(data_dir: Path, options: Mapping[str, Any]) -> str:
    """The cheap input check: stats of the stimulus folder and files (``stimuli``), or of the
    subject's folder and single-trial betas files (``betas``)."""
    if options.get("subject"):
        subject = data_dir / GLM_DIR / options["subject"]
        return stat_stamp([subject, *sorted(subject.glob("ses-*/func/*SingletrialBetas*"))])
    return stat_stamp([data_dir / STIMULI_DIR, *_stimulus_files(data_dir)])


def _prepare(request: PrepareRequest) -> PreparedTask:
    if request.task == "betas":
        from .betas_task import prepare

        return prepare(request)
    files = _stimulus_files(request.data_dir)
    if not files:
        raise NotFoundError(f"no LAION-fMRI stimulus files in {request.data_dir / STIMULI_DIR}; "
                            f"get them with `imagesets download laion_fmri --data-dir "
                            f"{request.data_dir}`")
    listing = {p.name: p.stat().st_size for p in files}
    output = request.metadata_dir / f"{request.task}.json"
    atomic_write_text(output, json.dumps({"data_dir": str(request.data_dir), "files": listing},
                                         indent=2))
    return PreparedTask(NAME, request.task, str(request.data_dir), str(output), {},
                        stat_stamp(files))


def _open(prepared: PreparedTask) -> Any:
    if prepared.task == "betas":
        from .betas_task import SubjectBetas

        return SubjectBetas(prepared)
    from .dataset import LaionFmriDataset

    return LaionFmriDataset(prepared.data_dir, ENTRY.license)


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
                "ROI and trial reads", (
                    Option("subject", "the subject (sub-01, sub-03, sub-05, sub-06, sub-07)",
                           metavar="SUBJECT"),
                    Option("sessions", "only these sessions (default: every session with a "
                           "betas file)", multiple=True, metavar="SES"),
                    Option("mask_source", "the brain mask: the anatomical one or R2mean != 0",
                           choices=MASK_SOURCES, default="anatomical"),
                    *ENGINE_OPTIONS))),
    default_task="stimuli",
    sets=("stimuli",),
    fields=("image_name", "dataset", "participant", "unique_or_shared", "n_reps"),
    setup=SETUP,
    license="CC0 1.0 (data and derivatives); stimulus images under a data use agreement",
    homepage="https://laion-fmri.hebartlab.com",
    prepare=_prepare,
    open=_open,
    download=_download,
    inputs=_inputs,
))

__all__ = ["Captions", "DataDirNotSetError", "DataNotDownloadedError", "DataNotFoundError",
           "ENTRY", "Embeddings", "LICENSE_NOTICE", "LicenseNotAcceptedError", "MODELS",
           "Neighbours", "NoMatchingDataError", "Segmentations", "Stimuli",
           "StimuliNotDownloadedError", "StimulusImages", "Subject", "SubjectNotFoundError",
           "config", "dataset_initialize", "download_captions", "download_embeddings",
           "download_segmentations", "get_data_dir", "Group", "load_subjects",
           "SubjectTrialsDataset", "load_embeddings", "load_stimuli",
           "load_subject", "set_data_dir"]
