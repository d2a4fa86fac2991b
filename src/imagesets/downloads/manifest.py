"""The local record of what imagesets downloaded into a data folder, and how it was verified.

One JSON file per data folder (``.imagesets-manifest.json``), keyed by the path relative to the
folder. It is what "already complete" is checked against, and the only list of files that
``remove --delete-data`` may delete: files the user brought are never in it.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock

from ..errors import InvalidDataError
from ..fsutil import atomic_write_text

MANIFEST_NAME = ".imagesets-manifest.json"
MANIFEST_VERSION = 1


class DownloadManifest:
    """Read and update ``FOLDER/.imagesets-manifest.json`` (read-modify-write under a lock).

    An entry holds ``size``, ``validator`` (the server's ETag / Last-Modified the bytes came
    from), ``sha256``, ``source`` (URL or repo), ``verified`` (how: ``sha256``, ``md5``,
    ``etag-multipart``, ``checksum-*``, or ``size-only``) and ``downloaded`` (UTC time).
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.path = self.folder / MANIFEST_NAME
        self._lock_path = self.folder / f"{MANIFEST_NAME}.lock"

    def lock(self) -> FileLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self._lock_path))

    def read(self) -> dict[str, dict[str, Any]]:
        """Every entry, by relative path (empty when nothing was downloaded here)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
            files = data["files"]
            if not isinstance(files, dict):
                raise ValueError("'files' must be an object")
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidDataError(
                f"the download manifest {self.path} cannot be read ({exc}); move it aside and "
                f"rerun the download with --verify to rebuild it: mv '{self.path}' "
                f"'{self.path}.bak'") from exc
        return files

    def get(self, relative_path: str) -> dict[str, Any] | None:
        return self.read().get(relative_path)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.read()))

    def record(self, relative_path: str, **entry: Any) -> dict[str, Any]:
        """Add or replace one file's entry (stamped with the download time)."""
        entry.setdefault(
            "downloaded", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
        self.update({relative_path: entry})
        return entry

    def update(self, entries: dict[str, dict[str, Any] | None]) -> None:
        """Set several entries at once; a ``None`` value removes that entry."""
        with self.lock():
            files = self.read()
            for key, value in entries.items():
                if value is None:
                    files.pop(key, None)
                else:
                    files[key] = value
            atomic_write_text(self.path, json.dumps(
                {"version": MANIFEST_VERSION, "files": files}, indent=1, sort_keys=True) + "\n")

    def forget(self, relative_path: str) -> None:
        self.update({relative_path: None})
