"""Shared download layer (knows no dataset): resumable, verified, atomic, parallel transfers.

- :func:`download_file` / :func:`download_files`: fetch ``(remote, path)`` pairs over HTTP(S),
  resuming partial files with ``Range`` + ``If-Range`` (the validator they were started from),
  verifying size, MD5/SHA-256, multipart ETags and ``x-amz-checksum-*``, renaming only when
  verified, recording each file in the folder's :class:`DownloadManifest` and skipping files
  that match it, ``n_jobs`` at a time with tqdm progress bars.
- :func:`probe`: HEAD a URL into a :class:`Remote` (size, validators, checksums, part size).
- :func:`check_file`: verify a local file against what is known of the remote one.
- :class:`S3Bucket`: anonymous public-bucket URLs (virtual-host or path-style, endpoint override)
  and HEAD, so public S3 data needs neither credentials nor boto3.
"""

from .manifest import DownloadManifest
from .s3 import S3Bucket
from .transfer import (
    Downloaded,
    Outcome,
    Remote,
    UnverifiedDownloadError,
    VerificationError,
    download_file,
    download_files,
    is_complete,
    matches_entry,
    partial_path,
    probe,
)
from .verify import Checksum, Verdict, check_file, file_digests

__all__ = [
    "Checksum",
    "DownloadManifest",
    "Downloaded",
    "Outcome",
    "Remote",
    "S3Bucket",
    "UnverifiedDownloadError",
    "Verdict",
    "VerificationError",
    "check_file",
    "download_file",
    "download_files",
    "file_digests",
    "is_complete",
    "matches_entry",
    "partial_path",
    "probe",
]
