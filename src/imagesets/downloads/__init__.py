"""Shared download layer (knows no dataset): resumable, verified, atomic, parallel transfers.

- :func:`download_file` / :func:`download_files`: fetch ``(remote, path)`` pairs over HTTP(S),
  resuming partial files with ``Range``, verifying size and MD5/SHA-256, renaming only when
  verified, skipping files already complete, ``n_jobs`` at a time with tqdm progress bars.
- :func:`probe`: HEAD a URL into a :class:`Remote` (size, ETag, published checksums).
- :class:`S3Bucket`: anonymous public-bucket URLs (virtual-host or path-style, endpoint override)
  and HEAD, so public S3 data needs neither credentials nor boto3.
"""

from .s3 import S3Bucket
from .transfer import (
    Remote,
    VerificationError,
    download_file,
    download_files,
    file_digests,
    is_complete,
    partial_path,
    probe,
)

__all__ = [
    "Remote",
    "S3Bucket",
    "VerificationError",
    "download_file",
    "download_files",
    "file_digests",
    "is_complete",
    "partial_path",
    "probe",
]
