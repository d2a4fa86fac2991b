"""Fetch the PanoCaps annotations from the Hugging Face Hub dataset ``HuggingSara/PanoCaps``.

Goes through ``huggingface_hub.snapshot_download`` (optional extra ``imagesets[panocaps]``) into
a plain folder, so files already there with the same ETag are not fetched again and an
interrupted run resumes. ``HF_ENDPOINT`` (or ``endpoint=``) selects a mirror; with
``HF_HUB_OFFLINE=1`` nothing is fetched and the folder must already hold the files. Both are read
at call time, not when huggingface_hub was imported. The images are not on the Hub: see
:data:`~imagesets.panocaps.catalog.SETUP`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ..errors import ImagesetsError, NotFoundError, OfflineError, require
from .formats import available_splits

REPO_ID = "HuggingSara/PanoCaps"
PARTS = {"parquet": ["data/*.parquet"], "json": ["annotations/*.json"]}
ALWAYS = ["README.md"]
TRUE_VALUES = {"1", "on", "yes", "true"}


def offline_mode() -> bool:
    """True when ``HF_HUB_OFFLINE`` is set to a true value (1/on/yes/true)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in TRUE_VALUES


def allow_patterns(what: Sequence[str] | None) -> list[str]:
    """File patterns for the parts asked for (``parquet``, ``json``; both by default)."""
    parts = list(what) if what else list(PARTS)
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise ImagesetsError(f"unknown PanoCaps part(s) {', '.join(unknown)}; choose from "
                             f"{', '.join(PARTS)} (e.g. --what parquet)")
    return [pattern for part in parts for pattern in PARTS[part]] + ALWAYS


def download_panocaps(folder: str | os.PathLike, verbose: bool = True,
                      what: Sequence[str] | None = None, endpoint: str | None = None,
                      n_jobs: int | None = None, revision: str | None = None,
                      **_: object) -> Path:
    """Download the annotation files into ``folder`` (``data/``, ``annotations/``, README)."""
    folder = Path(folder)
    patterns = allow_patterns(what)
    endpoint = endpoint or os.environ.get("HF_ENDPOINT") or None
    if offline_mode():
        if available_splits(folder):
            if verbose:
                print(f"panocaps: offline mode (HF_HUB_OFFLINE); using the files already in "
                      f"{folder}", file=sys.stderr)
            return folder
        raise OfflineError(
            f"HF_HUB_OFFLINE is set, so PanoCaps cannot be downloaded, and {folder} holds no "
            "PanoCaps split yet. Unset HF_HUB_OFFLINE to download (HF_ENDPOINT selects a "
            "mirror), or copy the annotations/ or data/ folder there by hand")
    hub = require("huggingface_hub", "panocaps", "Downloading PanoCaps")
    errors = require("huggingface_hub.errors", "panocaps", "Downloading PanoCaps")
    folder.mkdir(parents=True, exist_ok=True)
    where = endpoint or "https://huggingface.co"
    try:
        hub.snapshot_download(
            repo_id=REPO_ID, repo_type="dataset", revision=revision, local_dir=str(folder),
            allow_patterns=patterns, endpoint=endpoint, max_workers=n_jobs or 8,
            tqdm_class=None if verbose else _silent_progress())
    except errors.RepositoryNotFoundError as exc:
        raise NotFoundError(f"the dataset {REPO_ID} was not found on {where} "
                            f"({_first_line(exc)}); check "
                            "HF_ENDPOINT / --endpoint") from exc
    except errors.LocalEntryNotFoundError as exc:
        raise OfflineError(f"could not reach {where} to download {REPO_ID} and {folder} has no "
                           f"complete copy ({_first_line(exc)}). Check the network or "
                           "HF_ENDPOINT, then rerun: finished files are kept") from exc
    except Exception as exc:  # network errors of the HTTP client huggingface_hub uses
        raise OfflineError(f"downloading {REPO_ID} from {where} failed "
                           f"({type(exc).__name__}: {_first_line(exc)}). Check the network or "
                           "HF_ENDPOINT, then rerun the same command to resume") from exc
    found = available_splits(folder)
    if not found:
        raise NotFoundError(f"{REPO_ID} on {where} had no files matching "
                            f"{', '.join(patterns)}; nothing usable was downloaded to {folder}")
    if verbose:
        print(f"panocaps: splits {', '.join(found)} in {folder}", file=sys.stderr)
    return folder


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _silent_progress() -> type:
    """A tqdm class that shows nothing (``verbose=False``)."""
    from tqdm.auto import tqdm

    class SilentProgress(tqdm):
        def __init__(self, *args: object, **kwargs: object) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

    return SilentProgress
