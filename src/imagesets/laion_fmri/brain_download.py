"""``download(subject, ...)``: a subject's brain files from the public ``laion-fmri`` bucket
(listed anonymously, fetched through :func:`imagesets.downloads.download_files`: resumed,
verified, skipped when complete)."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..downloads import S3Bucket, download_files
from ..errors import OfflineError
from .brain_layout import ANAT_DIR, SUBJECTS, rois_dir
from .config import resolve_data_dir
from .download import BUCKET, LICENSE_NOTICE, REGION
from .exceptions import NoMatchingDataError, SubjectNotFoundError
from .layout import GLM_DIR

S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def list_keys(bucket: S3Bucket, prefix: str, timeout: float = 30) -> list[str]:
    """Every key under ``prefix`` (anonymous ListObjectsV2, following continuation tokens)."""
    keys: list[str] = []
    token = None
    base = bucket.url("").rstrip("/") + "/"
    while True:
        query = {"list-type": "2", "prefix": prefix}
        if token:
            query["continuation-token"] = token
        url = base + "?" + urllib.parse.urlencode(query)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                root = ET.fromstring(response.read())
        except (urllib.error.URLError, OSError) as exc:
            raise OfflineError(f"cannot list s3://{bucket.name}/{prefix} at {url}: {exc}") from exc
        keys += [node.text or "" for node in root.iter(f"{S3_NS}Key")]
        token = root.findtext(f"{S3_NS}NextContinuationToken")
        if root.findtext(f"{S3_NS}IsTruncated") != "true" or not token:
            return keys


def _subjects(subject: int | str | Sequence[int | str]) -> list[str]:
    if isinstance(subject, str) and subject == "all":
        return list(SUBJECTS)
    chosen = []
    for value in [subject] if isinstance(subject, (int, str)) else subject:
        bare = str(value).removeprefix("sub-")
        name = f"sub-{int(bare):02d}" if bare.isdigit() else f"sub-{bare}"
        if name not in SUBJECTS:
            raise SubjectNotFoundError(f"{value!r} is not a subject of the release; subjects: "
                                       f"{', '.join(SUBJECTS)} (or 'all')")
        chosen.append(name)
    return chosen


def _sessions(ses: str | Iterable[str] | None) -> set[str] | None:
    if ses is None or ses == "averages":
        return None
    values = [ses] if isinstance(ses, str) else list(ses)
    return {f"ses-{int(v.removeprefix('ses-')):02d}" if str(v).removeprefix("ses-").isdigit()
            else f"ses-{str(v).removeprefix('ses-')}" for v in map(str, values)}


def _suffix(key: str) -> str:
    name = key.rsplit("/", 1)[-1]
    return name.split(".", 1)[0].rsplit("_", 1)[-1]


def select_keys(keys: Iterable[str], subject: str, ses: str | Iterable[str] | None,
                suffix: str | Iterable[str] | None) -> list[str]:
    """The keys a ``download`` call asks for (see :func:`download`)."""
    sessions = _sessions(ses)
    suffixes = None if suffix is None else {suffix} if isinstance(suffix, str) else set(suffix)
    chosen = []
    for key in keys:
        if key.endswith("/"):
            continue
        if key.startswith(f"{GLM_DIR}/{subject}/"):
            parts = key[len(f"{GLM_DIR}/{subject}/"):].split("/")
            in_session = len(parts) > 1 and parts[0].startswith("ses-")
            if ses == "averages" and in_session:
                continue
            if sessions is not None and in_session and parts[0] not in sessions:
                continue
        elif key.startswith(f"{ANAT_DIR}/") and "_mask." not in key:
            continue
        if suffixes is not None and _suffix(key) not in suffixes:
            continue
        chosen.append(key)
    return chosen


def download(subject: int | str | Sequence[int | str], ses: str | Sequence[str] | None = None,
             suffix: str | Sequence[str] | None = None, include_rois: bool = True,
             include_anatomical: bool = True, n_jobs: int = 1,
             data_dir: str | os.PathLike | None = None, endpoint: str | None = None,
             verbose: bool = True, verify: bool = False,
             allow_unverified: bool = False) -> list[Path]:
    """Download a subject's (or several, or ``"all"``) brain files into the data directory.

    ``ses``: None (every session and the subject-level maps), a list of sessions (those, plus
    the subject-level maps, as the original's entity filters keep files without the entity),
    or ``"averages"`` (only the subject-level maps: R2mean, aggregate noise ceilings).
    ``suffix`` keeps BIDS suffixes such as ``"statmap"``, ``"trials"``, ``"mask"``.
    ``include_rois`` adds ``derivatives/rois/sub-XX/``; ``include_anatomical`` the brain masks
    of ``derivatives/anatomical/sub-XX/``. The defaults fetch everything ``get_betas`` uses.
    Files are verified and recorded in the data folder's download manifest like every download.
    """
    root = resolve_data_dir(data_dir)
    bucket = S3Bucket(BUCKET, REGION, endpoint)
    items = []
    for name in _subjects(subject):
        prefixes = [f"{GLM_DIR}/{name}/"]
        prefixes += [f"{rois_dir(name)}/"] if include_rois else []
        prefixes += [f"{ANAT_DIR}/{name}/"] if include_anatomical else []
        keys = select_keys([k for p in prefixes for k in list_keys(bucket, p)], name, ses,
                           suffix)
        if not keys:
            raise NoMatchingDataError(f"nothing in s3://{BUCKET}/ matches {name} ses={ses!r} "
                                      f"suffix={suffix!r}")
        items += [(bucket.url(key), root / key) for key in keys]
    if verbose:
        print(LICENSE_NOTICE, file=sys.stderr)
    result = download_files(items, n_jobs=n_jobs, progress=verbose, manifest=root, verify=verify,
                            allow_unverified=allow_unverified)
    if verbose:
        print(f"laion_fmri: {result.summary()}", file=sys.stderr)
    return result
