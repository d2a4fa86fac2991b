"""Anonymous reads from public S3 buckets over plain HTTPS: URLs and HEAD, no SDK needed."""

from __future__ import annotations

import dataclasses
import os
import urllib.parse
from dataclasses import dataclass

from ..errors import ImagesetsError
from .transfer import DEFAULT_TIMEOUT, Remote, probe


@dataclass(frozen=True)
class S3Bucket:
    """A public bucket: ``url(key)`` builds the object URL, ``remote(key)`` HEADs it.

    Without ``endpoint`` the AWS virtual-host URL ``https://BUCKET.s3.REGION.amazonaws.com/KEY``
    is used (path-style when the bucket name has dots, which TLS wildcards cannot cover). With
    ``endpoint`` (a mirror, MinIO, a local test server) the path-style URL
    ``ENDPOINT/BUCKET/KEY`` is used unless ``path_style=False``. Like the AWS SDKs, the
    endpoint defaults to ``$AWS_ENDPOINT_URL_S3`` or ``$AWS_ENDPOINT_URL`` when set.
    """

    name: str
    region: str = "us-east-1"
    endpoint: str | None = None
    path_style: bool | None = None

    def __post_init__(self) -> None:
        if self.endpoint is None:
            found = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
            object.__setattr__(self, "endpoint", found or None)
        if self.endpoint is not None:
            endpoint = self.endpoint if "://" in self.endpoint else f"https://{self.endpoint}"
            parsed = urllib.parse.urlsplit(endpoint)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise ImagesetsError(f"endpoint {self.endpoint!r} is not an http(s) URL; give "
                                     f"one like https://s3.{self.region}.amazonaws.com")
            object.__setattr__(self, "endpoint", endpoint.rstrip("/"))

    def url(self, key: str) -> str:
        """The HTTPS URL of object ``key`` (quoted, so keys with spaces work)."""
        quoted = urllib.parse.quote(key.lstrip("/"), safe="/-_.~")
        if self.endpoint is None:
            if "." in self.name:
                return f"https://s3.{self.region}.amazonaws.com/{self.name}/{quoted}"
            return f"https://{self.name}.s3.{self.region}.amazonaws.com/{quoted}"
        if self.path_style is False:
            scheme, host = self.endpoint.split("://", 1)
            return f"{scheme}://{self.name}.{host}/{quoted}"
        return f"{self.endpoint}/{self.name}/{quoted}"

    def remote(self, key: str, sha256: str | None = None,
               timeout: float = DEFAULT_TIMEOUT) -> Remote:
        """HEAD object ``key``: size, ETag (the MD5 of single-part uploads) and any SHA-256.

        ``sha256`` is a recorded digest (from a manifest); it wins over the server's.
        """
        remote = probe(self.url(key), timeout)
        return dataclasses.replace(remote, sha256=sha256) if sha256 else remote
