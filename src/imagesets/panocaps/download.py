"""Fetch the PanoCaps annotations from the Hugging Face Hub dataset ``HuggingSara/PanoCaps``.

Goes through ``huggingface_hub.snapshot_download`` (optional extra ``imagesets[panocaps]``) into
a plain folder, so files already there with the same ETag are not fetched again and an
interrupted run resumes. ``HF_ENDPOINT`` (or ``endpoint=``) selects a mirror; with
``HF_HUB_OFFLINE=1`` nothing is fetched and the folder must already hold the files. Both are read
at call time, not when huggingface_hub was imported. Every file fetched is checked against the
ETag the Hub served it with (the SHA-256 of LFS files, the git blob SHA-1 of others) and recorded
in the folder's download manifest; offline, files are trusted only if they match that manifest.
The images are not on the Hub: see :data:`~imagesets.panocaps.catalog.SETUP`.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ..downloads import (
    Downloaded,
    DownloadManifest,
    Outcome,
    UnverifiedDownloadError,
    VerificationError,
    matches_entry,
)
from ..errors import ImagesetsError, NotFoundError, OfflineError, require
from .formats import SPLITS, available_splits

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
                      verify: bool = False, allow_unverified: bool = False,
                      **_: object) -> Path:
    """Download the annotation files into ``folder`` (``data/``, ``annotations/``, README).

    Raises :class:`~imagesets.downloads.UnverifiedDownloadError` for files that cannot be
    verified (unless ``allow_unverified``) and NotFoundError naming splits that are missing.
    """
    folder = Path(folder)
    patterns = allow_patterns(what)
    endpoint = endpoint or os.environ.get("HF_ENDPOINT") or None
    manifest = DownloadManifest(folder)
    if offline_mode():
        if available_splits(folder):
            if verbose:
                print(f"panocaps: offline mode (HF_HUB_OFFLINE); using the files already in "
                      f"{folder}", file=sys.stderr)
            _finish(folder, patterns, manifest, [_offline_outcome(folder, name, manifest, verify)
                                                 for name in _local_files(folder, patterns)],
                    verbose, allow_unverified, "offline")
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
    if not available_splits(folder):
        raise NotFoundError(f"{REPO_ID} on {where} had no files matching "
                            f"{', '.join(patterns)}; nothing usable was downloaded to {folder}")
    outcomes = [_check(folder, name, manifest, f"{where}/datasets/{REPO_ID}", verify)
                for name in _local_files(folder, patterns)]
    _finish(folder, patterns, manifest, outcomes, verbose, allow_unverified, "")
    return folder


def _matches(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def _split_of(name: str) -> str:
    """``data/val-00000-of-00001.parquet`` and ``annotations/val_caption.json`` → ``val``."""
    return name.rsplit("/", 1)[-1].split("-", 1)[0].split("_", 1)[0]


def _local_files(folder: Path, patterns: list[str]) -> list[str]:
    """Files under ``folder`` matching the Hub patterns, as repo-relative paths."""
    names = (p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
             and ".cache" not in p.relative_to(folder).parts)
    return sorted(n for n in names if _matches(n, patterns))


def _hub_etag(folder: Path, name: str) -> tuple[str, str] | None:
    """``(commit, etag)`` huggingface_hub recorded for ``name`` when it downloaded it."""
    meta = folder / ".cache" / "huggingface" / "download" / f"{name}.metadata"
    try:
        commit, etag = meta.read_text(encoding="utf-8").splitlines()[:2]
    except (OSError, ValueError):
        return None
    return commit.strip(), etag.strip().strip('"')


def _check(folder: Path, name: str, manifest: DownloadManifest, source: str,
           verify: bool) -> Outcome:
    """Verify one fetched file against its Hub ETag and record it in the manifest (a file the
    manifest already holds with that ETag, unchanged, is not read again unless ``verify``)."""
    path = folder / name
    found = _hub_etag(folder, name)
    entry = manifest.get(name)
    if found and entry and entry.get("validator") == found[1].lower() and matches_entry(
            path, entry, verify):
        return Outcome(path, "complete", entry.get("verified", "size-only"))
    data_hashes = {"sha256": hashlib.sha256(), "sha1": hashlib.sha1()}
    data_hashes["sha1"].update(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            for h in data_hashes.values():
                h.update(block)
    sha256, git_sha1 = data_hashes["sha256"].hexdigest(), data_hashes["sha1"].hexdigest()
    etag = found[1].lower() if found else ""
    method = {64: "sha256", 40: "git-sha1"}.get(len(etag), "size-only")
    if method != "size-only" and etag not in (sha256, git_sha1):
        path.unlink()
        (folder / ".cache" / "huggingface" / "download" / f"{name}.metadata").unlink(
            missing_ok=True)
        raise VerificationError(f"{name} from {source} does not match the ETag the Hub sent "
                                f"({etag}; the file's sha256 is {sha256}); the bad copy was "
                                f"deleted, rerun to fetch it again")
    stat = path.stat()
    manifest.record(name, size=stat.st_size, validator=etag or None, sha256=sha256,
                    source=f"{source}/resolve/{found[0] if found else 'main'}/{name}",
                    verified=method, mtime_ns=stat.st_mtime_ns)
    return Outcome(path, "downloaded", method, "" if found else "no Hub ETag recorded")


def _offline_outcome(folder: Path, name: str, manifest: DownloadManifest,
                     verify: bool) -> Outcome:
    """Offline: a file is trusted only if it matches its manifest entry."""
    path, entry = folder / name, manifest.get(name)
    if entry is None:
        return Outcome(path, "offline", "unverified", "offline and not in the download manifest")
    if not matches_entry(path, entry, verify):
        raise OfflineError(f"{path} does not match the download manifest (recorded "
                           f"{entry.get('size'):,} bytes) and HF_HUB_OFFLINE is set; unset it "
                           f"and rerun to fetch the file again")
    return Outcome(path, "offline", entry.get("verified", "unverified"), "offline")


def _finish(folder: Path, patterns: list[str], manifest: DownloadManifest,
            outcomes: list[Outcome], verbose: bool, allow_unverified: bool, how: str) -> None:
    """Report, then fail for missing splits and (unless allowed) unverified files."""
    result = Downloaded([o.path for o in outcomes], outcomes)
    recorded = {_split_of(n) for n in manifest.read() if _matches(n, patterns)}
    expected = [s for s in SPLITS if s in recorded] or list(SPLITS)
    local = _local_files(folder, patterns)
    per_part = [{_split_of(n) for n in local if _matches(n, PARTS[part])}
                for part in PARTS if set(PARTS[part]) <= set(patterns)]
    found = [s for s in available_splits(folder) if all(s in part for part in per_part)]
    missing = [s for s in expected if s not in found]
    if verbose:
        print(f"panocaps: splits {', '.join(found)} in {folder}; {result.summary()}",
              file=sys.stderr)
    if missing:
        raise NotFoundError(
            f"PanoCaps split(s) {', '.join(missing)} missing from {folder} (found: "
            f"{', '.join(found) or 'none'}){' in offline mode' if how else ''}; rerun "
            f"`imagesets download panocaps --data-dir {folder}` online to complete it")
    if result.untrusted and not allow_unverified:
        raise UnverifiedDownloadError(
            f"{result.summary()}. Accept these files with --allow-unverified, or unset "
            f"HF_HUB_OFFLINE and rerun to verify them", result)


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
