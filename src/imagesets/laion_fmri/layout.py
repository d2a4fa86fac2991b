"""Where LAION-fMRI keeps each file (paths relative to the dataset root, as published)."""

from __future__ import annotations

import re
from pathlib import Path

from .exceptions import DataNotDownloadedError, StimuliNotDownloadedError

#: Embedding models of the release and their feature dimensions.
MODELS: dict[str, int] = {"CLIP": 1024, "DINOv2": 1024, "PEcore": 1024, "SigLIP2": 1152}
#: The shape of every stimulus file name (a name failing it is a typo, e.g. a missing ``.jpg``).
STIMULUS_NAME = re.compile(r"^(shared|unique)_.+\.(jpg|png)$")
#: Models whose rows are L2-normalised (DINOv2's are not).
NORMALISED_MODELS = frozenset({"CLIP", "PEcore", "SigLIP2"})

STIMULI_DIR = "stimuli"
METADATA_CSV = f"{STIMULI_DIR}/task-images_metadata.csv"
IMAGES_H5 = f"{STIMULI_DIR}/task-images_stimuli.h5"
SEGMENTATIONS_H5 = f"{STIMULI_DIR}/task-images_desc-segmentations.h5"
SEGMENTATIONS_CSV = f"{STIMULI_DIR}/task-images_desc-segmentations_metadata.csv"
CAPTIONS_CSV = f"{STIMULI_DIR}/task-images_desc-captions.csv"
GLM_DIR = "derivatives/glmsingle-tedana"

DOWNLOAD_HINT = {
    "embeddings": "laion_fmri.download_embeddings() or `imagesets download laion_fmri "
                  "--what embeddings --data-dir DIR`",
    "segmentations": "laion_fmri.download_segmentations() or `imagesets download laion_fmri "
                     "--what segmentations --data-dir DIR`",
    "captions": "laion_fmri.download_captions() or `imagesets download laion_fmri --what "
                "captions --data-dir DIR`",
    "stimuli": "request access at https://laion-fmri.hebartlab.com/request (the images and "
               "task-images_metadata.csv are gated by a data use agreement) and put the files "
               "in DIR/stimuli/",
    "subject": "the subject's derivatives/glmsingle-tedana/sub-XX/ses-YY/func/*_trials.tsv "
               "files from the laion-fmri bucket",
}


def embeddings_key(model: str) -> str:
    """The file (and bucket key) of one model's embeddings."""
    return f"{STIMULI_DIR}/task-images_desc-{model}_embeddings.h5"


def trials_key(subject: str, session: str) -> str:
    """The trials table of one session (``session, run, beta_index, label``)."""
    return (f"{GLM_DIR}/{subject}/{session}/func/"
            f"{subject}_{session}_task-images_desc-SingletrialBetas_trials.tsv")


def required_file(path: Path, what: str, part: str) -> Path:
    """``path`` if it is a file; otherwise DataNotDownloadedError (StimuliNotDownloadedError
    for the gated images), both FileNotFoundErrors, saying how to get it."""
    if not path.is_file():
        error = StimuliNotDownloadedError if part == "stimuli" else DataNotDownloadedError
        raise error(f"{what} not found at {path}; get it with {DOWNLOAD_HINT[part]}")
    return path
