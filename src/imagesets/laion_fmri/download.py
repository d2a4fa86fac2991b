"""Downloads of the public stimulus derivatives from the ``laion-fmri`` S3 bucket (anonymous)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..downloads import Downloaded, DownloadManifest, S3Bucket, download_files
from ..errors import NotFoundError
from .config import NAME, resolve_data_dir
from .embeddings import select_models
from .layout import CAPTIONS_CSV, SEGMENTATIONS_CSV, SEGMENTATIONS_H5, embeddings_key

BUCKET = "laion-fmri"
REGION = "us-west-2"
PARTS = ("embeddings", "segmentations", "captions")

LICENSE_NOTICE = """\
LAION-fMRI: the brain imaging data, participant data and stimulus derivatives are released under
the Creative Commons Zero (CC0 1.0) public domain dedication
(https://creativecommons.org/publicdomain/zero/1.0/). The stimulus images are not CC0: they are
gated by a separate data use agreement (https://laion-fmri.hebartlab.com/terms)."""


def _fetch(keys: Sequence[str], data_dir: str | os.PathLike | None, n_jobs: int,
           endpoint: str | None, verbose: bool, verify: bool = False,
           allow_unverified: bool = False) -> Downloaded:
    """Fetch bucket ``keys`` into the data folder, recorded in its download manifest."""
    root = resolve_data_dir(data_dir)
    bucket = S3Bucket(BUCKET, REGION, endpoint)
    if verbose:
        print(LICENSE_NOTICE, file=sys.stderr)
    result = download_files([(bucket.url(key), root / key) for key in keys], n_jobs=n_jobs,
                            progress=verbose, manifest=DownloadManifest(root), verify=verify,
                            allow_unverified=allow_unverified)
    if verbose:
        print(f"{NAME}: {result.summary()}", file=sys.stderr)
    return result


def download_embeddings(models: str | Iterable[str] = "all",
                        data_dir: str | os.PathLike | None = None, n_jobs: int = 1,
                        endpoint: str | None = None, verbose: bool = True, *,
                        verify: bool = False, allow_unverified: bool = False) -> list[Path]:
    """Fetch the embedding files of ``models`` (``"all"``, a name or several)."""
    return _fetch([embeddings_key(m) for m in select_models(models)], data_dir, n_jobs,
                  endpoint, verbose, verify, allow_unverified)


def download_segmentations(data_dir: str | os.PathLike | None = None, n_jobs: int = 1,
                           endpoint: str | None = None, verbose: bool = True, *,
                           verify: bool = False, allow_unverified: bool = False) -> list[Path]:
    """Fetch the mask stack and its metadata CSV."""
    return _fetch([SEGMENTATIONS_H5, SEGMENTATIONS_CSV], data_dir, n_jobs, endpoint, verbose,
                  verify, allow_unverified)


def download_captions(data_dir: str | os.PathLike | None = None, endpoint: str | None = None,
                      verbose: bool = True, *, verify: bool = False,
                      allow_unverified: bool = False) -> list[Path]:
    """Fetch the captions CSV."""
    return _fetch([CAPTIONS_CSV], data_dir, 1, endpoint, verbose, verify, allow_unverified)


def download_parts(folder: Path, verbose: bool = True, what: Sequence[str] | None = None,
                   n_jobs: int | None = None, endpoint: str | None = None,
                   verify: bool = False, allow_unverified: bool = False) -> Path:
    """The catalog's download hook: ``what`` ⊆ embeddings, segmentations, captions (default
    all), every file of them ``n_jobs`` at a time; the summary line goes to stderr."""
    parts = list(what or PARTS)
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise NotFoundError(f"laion_fmri cannot download {', '.join(unknown)}; --what takes "
                            f"{', '.join(PARTS)} (the images are gated: see `imagesets info "
                            f"laion_fmri`)")
    keys = {"embeddings": [embeddings_key(m) for m in select_models("all")],
            "segmentations": [SEGMENTATIONS_H5, SEGMENTATIONS_CSV],
            "captions": [CAPTIONS_CSV]}
    folder.mkdir(parents=True, exist_ok=True)
    _fetch([k for p in dict.fromkeys(parts) for k in keys[p]], folder, n_jobs or 1, endpoint,
           verbose, verify, allow_unverified)
    return folder


def __getattr__(name: str) -> Any:
    """``download`` is the original's ``from laion_fmri.download import download`` (a subject's
    fMRI files, :func:`~imagesets.laion_fmri.brain_download.download`), loaded on first use."""
    if name == "download":
        from .brain_download import download

        return download
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
