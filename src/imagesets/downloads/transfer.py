"""Resumable, verified, atomic HTTP(S) transfers with progress bars; standard library only.

A file is written to a fixed partial name beside its destination (``.NAME.part``), resumed from
there with an HTTP ``Range`` request after an interruption, checked against the expected size and
checksums, and only then renamed to its final name. A destination that already matches is kept.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import queue
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from ..errors import ImagesetsError, InvalidDataError, NotFoundError, OfflineError

DEFAULT_TIMEOUT = 60.0
CHUNK_SIZE = 1 << 20
USER_AGENT = "imagesets-download/1"
_MD5_ETAG = re.compile(r'^(?:W/)?"?([0-9a-fA-F]{32})"?$')
_TRANSIENT = (OSError, http.client.HTTPException, socket.timeout)


class VerificationError(InvalidDataError):
    """A downloaded file does not have the size or checksum the server announced."""


@dataclass(frozen=True)
class Remote:
    """One remote file and what is known about it (from a HEAD request or a manifest).

    ``md5`` and ``sha256`` are lower-case hex digests; any that is set is verified after the
    transfer, as is ``size``. ``etag`` makes resumed requests conditional (``If-Range``).
    """

    url: str
    size: int | None = None
    md5: str | None = None
    sha256: str | None = None
    etag: str | None = None

    def checks(self) -> list[str]:
        """What will be verified, e.g. ``['size', 'md5']``."""
        return [name for name in ("size", "md5", "sha256") if getattr(self, name) is not None]


def _request(url: str, method: str = "GET", headers: Mapping[str, str] | None = None,
             timeout: float = DEFAULT_TIMEOUT) -> http.client.HTTPResponse:
    """Open ``url``; turn HTTP and network failures into imagesets errors that say what to do."""
    request = urllib.request.Request(url, method=method,
                                     headers={"User-Agent": USER_AGENT, **(headers or {})})
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code in (401, 403, 404):
            raise NotFoundError(
                f"{url} answered HTTP {exc.code} ({exc.reason}): the file is not there or not "
                f"public. Check the name and the endpoint (--endpoint) and try again") from exc
        if exc.code == 416:
            raise
        raise OfflineError(f"{url} answered HTTP {exc.code} ({exc.reason}); try again later, "
                           f"or use a mirror (--endpoint)") from exc
    except (urllib.error.URLError, *_TRANSIENT) as exc:
        reason = getattr(exc, "reason", exc)
        raise OfflineError(f"cannot reach {url} ({reason}); check the network connection and "
                           f"rerun (finished files are kept, partial ones resume)") from exc


def probe(url: str, timeout: float = DEFAULT_TIMEOUT) -> Remote:
    """HEAD ``url``: its size, ETag, and the checksums the server publishes.

    A plain 32-hex-digit ETag (S3 single-part uploads) is the MD5 of the content. A SHA-256 is
    taken from ``x-amz-meta-sha256``, or from ``x-amz-checksum-sha256`` when it covers the whole
    object (single-part, or ``x-amz-checksum-type: FULL_OBJECT``); S3 sends it only when asked
    with ``x-amz-checksum-mode: ENABLED``, a header other servers ignore.
    """
    with _request(url, "HEAD", {"x-amz-checksum-mode": "ENABLED"}, timeout) as response:
        head = response.headers
    length = head.get("Content-Length")
    etag = head.get("ETag")
    match = _MD5_ETAG.match(etag or "")
    sha256 = head.get("x-amz-meta-sha256")
    checksum = head.get("x-amz-checksum-sha256")
    whole_object = match is not None or head.get("x-amz-checksum-type") == "FULL_OBJECT"
    if sha256 is None and checksum and "-" not in checksum and whole_object:
        import base64

        sha256 = base64.b64decode(checksum).hex()
    return Remote(url, int(length) if length is not None else None,
                  match.group(1).lower() if match else None,
                  sha256.lower() if sha256 else None, etag)


def partial_path(path: str | os.PathLike) -> Path:
    """The fixed name an unfinished download of ``path`` is kept under, so a rerun resumes it."""
    path = Path(path)
    return path.with_name(f".{path.name}.part")


def file_digests(path: str | os.PathLike, algorithms: Iterable[str]) -> dict[str, str]:
    """Hex digests of a file's content for each hashlib algorithm named, in one read."""
    hashes = {name: hashlib.new(name) for name in algorithms}
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK_SIZE * 4):
            for h in hashes.values():
                h.update(block)
    return {name: h.hexdigest() for name, h in hashes.items()}


def _problems(path: Path, remote: Remote) -> list[str]:
    size = path.stat().st_size
    if remote.size is not None and size != remote.size:
        return [f"size is {size:,} bytes, expected {remote.size:,}"]
    wanted = {name: getattr(remote, name) for name in ("md5", "sha256") if getattr(remote, name)}
    got = file_digests(path, wanted) if wanted else {}
    return [f"{name} is {got[name]}, expected {value}" for name, value in wanted.items()
            if got[name] != value]


def is_complete(path: str | os.PathLike, remote: Remote) -> bool:
    """True when ``path`` exists and has the remote file's size and checksums."""
    path = Path(path)
    return path.is_file() and not _problems(path, remote)


def _stream(remote: Remote, part: Path, progress: bool, desc: str, timeout: float,
            position: int | None) -> None:
    """Append the rest of the file to ``part`` (from its current length); raise on a cut."""
    offset = part.stat().st_size if part.exists() else 0
    if remote.size is not None and offset >= remote.size:
        if offset == remote.size:
            return
        offset = 0
    headers = {}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if remote.etag:
            headers["If-Range"] = remote.etag
    try:
        response = _request(remote.url, "GET", headers, timeout)
    except urllib.error.HTTPError:  # 416: the partial file does not fit the remote one
        part.unlink(missing_ok=True)
        response = _request(remote.url, "GET", None, timeout)
        offset = 0
    with response:
        if offset and (response.status != 206 or not str(
                response.headers.get("Content-Range", "")).startswith(f"bytes {offset}-")):
            offset = 0
        with open(part, "ab" if offset else "wb") as fh, tqdm(
                total=remote.size, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                desc=desc, disable=not progress, position=position, leave=True) as bar:
            try:
                while block := response.read1(CHUNK_SIZE):
                    fh.write(block)
                    bar.update(len(block))
            except _TRANSIENT as exc:
                if isinstance(exc, http.client.IncompleteRead):
                    fh.write(exc.partial)
                raise OfflineError(
                    f"the connection to {remote.url} broke after {fh.tell():,} bytes ({exc}); "
                    f"rerun to resume from there") from exc
    got = part.stat().st_size
    if remote.size is not None and got < remote.size:
        raise OfflineError(f"the transfer of {remote.url} stopped at {got:,} of {remote.size:,} "
                           f"bytes; rerun to resume from there")


def download_file(remote: Remote | str, path: str | os.PathLike, *, progress: bool = True,
                  retries: int = 3, timeout: float = DEFAULT_TIMEOUT,
                  position: int | None = None) -> Path:
    """Fetch one file to ``path``: skip it if complete, resume a partial one, verify, rename.

    ``remote`` is a :class:`Remote` or a URL (then probed with HEAD for size and checksums).
    A broken connection is resumed up to ``retries`` times; a file that fails verification is
    deleted and :class:`VerificationError` is raised, so nothing bad ever has the final name.
    """
    path = Path(path)
    if isinstance(remote, str):
        remote = probe(remote, timeout=timeout)
    if is_complete(path, remote):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    part = partial_path(path)
    for attempt in range(retries + 1):
        try:
            _stream(remote, part, progress, path.name, timeout, position)
            break
        except OfflineError:
            if attempt == retries:
                raise
            time.sleep(min(0.2 * 2 ** attempt, 5.0))
    problems = _problems(part, remote)
    if problems:
        part.unlink(missing_ok=True)
        raise VerificationError(
            f"{path.name} downloaded from {remote.url} failed verification ({'; '.join(problems)})"
            f": the copy on the server is damaged or the transfer was altered. The bad download "
            f"was deleted; rerun to fetch it again, or use another mirror (--endpoint)")
    os.replace(part, path)
    return path


def download_files(items: Sequence[tuple[Remote | str, str | os.PathLike]], *, n_jobs: int = 1,
                   progress: bool = True, retries: int = 3,
                   timeout: float = DEFAULT_TIMEOUT) -> list[Path]:
    """Fetch several ``(remote, path)`` pairs, ``n_jobs`` at a time, one progress bar line each.

    Every file is attempted; failures are reported together afterwards (finished files stay).
    A file that exists while the server cannot be reached is kept as it is.
    """
    if n_jobs < 1:
        raise ImagesetsError(f"n_jobs must be at least 1 (got {n_jobs})")

    lines: queue.SimpleQueue[int] = queue.SimpleQueue()
    for line in range(n_jobs):
        lines.put(line)

    def fetch(index: int) -> Path:
        remote, path = items[index]
        if isinstance(remote, str):
            try:
                remote = probe(remote, timeout=timeout)
            except OfflineError:
                if Path(path).is_file():
                    return Path(path)
                raise
        line = lines.get()
        try:
            return download_file(remote, path, progress=progress, retries=retries,
                                 timeout=timeout, position=line if n_jobs > 1 else None)
        finally:
            lines.put(line)

    with ThreadPoolExecutor(max_workers=min(n_jobs, max(len(items), 1))) as pool:
        futures = [pool.submit(fetch, i) for i in range(len(items))]
    errors = [(items[i][1], f.exception()) for i, f in enumerate(futures) if f.exception()]
    if errors:
        first = errors[0][1]
        if len(errors) == 1:
            raise first
        kinds = {type(e) for _, e in errors}
        kind = kinds.pop() if len(kinds) == 1 else ImagesetsError
        detail = " | ".join(f"{Path(p).name}: {e}" for p, e in errors)
        raise kind(f"{len(errors)} of {len(items)} downloads failed: {detail}")
    return [f.result() for f in futures]

