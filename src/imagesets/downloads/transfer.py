"""Resumable, verified, atomic HTTP(S) transfers with progress bars; standard library only.

A file is written to a fixed partial name beside its destination (``.NAME.part``), with the
server's validator it was started from beside it (``.NAME.part.json``). A rerun resumes with
``Range`` + ``If-Range: <that validator>``, so a changed object restarts from byte 0 instead of
being spliced. The result is checked (size, MD5, SHA-256, multipart ETag, ``x-amz-checksum-*``),
renamed to its final name, and recorded in the folder's :class:`DownloadManifest`; "already
complete" later means "matches the manifest".
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ..errors import ImagesetsError, InvalidDataError, NotFoundError, OfflineError
from ..fsutil import atomic_write_text
from .manifest import DownloadManifest
from .verify import (
    CHUNK_SIZE,
    Checksum,
    Verdict,
    check_file,
    file_digests,
    md5_etag,
    multipart_etag,
)

DEFAULT_TIMEOUT = 60.0
USER_AGENT = "imagesets-download/1"
_TRANSIENT = (OSError, http.client.HTTPException, socket.timeout)


class VerificationError(InvalidDataError):
    """A downloaded file does not have the size or checksum the server announced."""


class UnverifiedDownloadError(ImagesetsError):
    """Some files could only be checked by size, or not at all (server unreachable and not in
    the manifest); ``result`` holds every file's :class:`Outcome`."""

    def __init__(self, message: str, result: Downloaded) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class Remote:
    """One remote file and what is known about it (from a HEAD request or a manifest).

    ``md5`` and ``sha256`` are lower-case hex digests of the whole file; ``etag`` may be a
    multipart ETag (``"HEX-N"``) checked with ``part_size``; ``checksum`` is an
    ``x-amz-checksum-*`` header; ``etag`` (else ``last_modified``) is the validator a partial
    download is resumed against.
    """

    url: str
    size: int | None = None
    md5: str | None = None
    sha256: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    checksum: Checksum | None = None
    part_size: int | None = None

    @property
    def validator(self) -> str | None:
        """What identifies this version of the object: the ETag, else Last-Modified."""
        return self.etag or self.last_modified

    def checks(self) -> list[str]:
        """What will be verified, e.g. ``['size', 'md5']``."""
        found = [name for name in ("size", "md5", "sha256") if getattr(self, name) is not None]
        if multipart_etag(self.etag):
            found.append("etag-multipart")
        if self.checksum is not None:
            found.append(f"checksum-{self.checksum.algorithm}")
        return found

    def verify(self, path: Path) -> Verdict:
        return check_file(path, size=self.size, md5=self.md5, sha256=self.sha256,
                          etag=self.etag, checksum=self.checksum, part_size=self.part_size)


@dataclass(frozen=True)
class Outcome:
    """What happened to one file: ``action`` (``downloaded``, ``complete``: matched the
    manifest or the server, ``offline``: kept unchecked against the server), ``verified`` (a
    :data:`~imagesets.downloads.verify.METHODS` entry, or ``unverified``) and a ``note``."""

    path: Path
    action: str
    verified: str
    note: str = ""

    @property
    def trusted(self) -> bool:
        return self.verified not in ("size-only", "unverified")


class Downloaded(list):
    """The paths asked for (a list, in the caller's order) with each file's :class:`Outcome`."""

    def __init__(self, paths: Sequence[Path], outcomes: Sequence[Outcome]) -> None:
        super().__init__(paths)
        self.outcomes = list(outcomes)

    @property
    def untrusted(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.trusted]

    def summary(self) -> str:
        """One line: counts per action and per verification method, then what is unverified."""
        actions: dict[str, int] = {}
        methods: dict[str, int] = {}
        for o in self.outcomes:
            actions[o.action] = actions.get(o.action, 0) + 1
            if o.verified != "unverified":
                methods[o.verified] = methods.get(o.verified, 0) + 1
        words = {"downloaded": "downloaded", "complete": "already complete",
                 "offline": "kept offline"}
        line = (f"{len(self.outcomes)} file(s): "
                + ", ".join(f"{n} {words[a]}" for a, n in actions.items()))
        if methods:
            line += "; verified by " + ", ".join(f"{m} {n}" for m, n in methods.items())
        if self.untrusted:
            line += "; NOT VERIFIED: " + ", ".join(
                f"{o.path.name} ({o.note or o.verified})" for o in self.untrusted)
        return line


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
    """HEAD ``url``: size, validators and every checksum the server publishes.

    A plain 32-hex-digit ETag (S3 single-part uploads) is the MD5 of the content; for a
    multipart ETag the part size is asked with ``HEAD ?partNumber=1``. A SHA-256 comes from
    ``x-amz-meta-sha256``; ``x-amz-checksum-*`` (sent by S3 when asked with
    ``x-amz-checksum-mode: ENABLED``, a header other servers ignore) is kept as a checksum.
    """
    with _request(url, "HEAD", {"x-amz-checksum-mode": "ENABLED"}, timeout) as response:
        head = response.headers
    length = head.get("Content-Length")
    size = int(length) if length is not None else None
    etag = head.get("ETag")
    checksum = None
    for algorithm in ("sha256", "sha1", "crc32"):
        value = head.get(f"x-amz-checksum-{algorithm}")
        if value:
            checksum = Checksum(algorithm, value)
            break
    sha256 = head.get("x-amz-meta-sha256")
    multipart = multipart_etag(etag)
    part_size = _part_size(url, size, multipart[1], timeout) if multipart and size else None
    return Remote(url, size, md5_etag(etag), sha256.lower() if sha256 else None, etag,
                  head.get("Last-Modified"), checksum, part_size)


def _part_size(url: str, size: int, parts: int, timeout: float) -> int | None:
    """Part 1's length from ``HEAD ?partNumber=1`` (None when the server does not say)."""
    try:
        with _request(f"{url}{'&' if '?' in url else '?'}partNumber=1", "HEAD", None,
                      timeout) as response:
            head = response.headers
    except (ImagesetsError, urllib.error.HTTPError):
        return None
    length = head.get("Content-Length")
    if length is None or head.get("x-amz-mp-parts-count") not in (None, str(parts)):
        return None
    length = int(length)
    return length if 0 < length < size or (parts == 1 and length == size) else None


def partial_path(path: str | os.PathLike) -> Path:
    """The fixed name an unfinished download of ``path`` is kept under, so a rerun resumes it."""
    path = Path(path)
    return path.with_name(f".{path.name}.part")


def _state_path(part: Path) -> Path:
    return part.with_name(f"{part.name}.json")


def _read_state(part: Path) -> dict[str, Any] | None:
    try:
        state = json.loads(_state_path(part).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _start_over(remote: Remote, part: Path) -> None:
    """Empty the partial file and record which version of the object it is being filled from."""
    atomic_write_text(_state_path(part), json.dumps(
        {"url": remote.url, "etag": remote.etag, "last_modified": remote.last_modified,
         "size": remote.size}))
    part.write_bytes(b"")


def is_complete(path: str | os.PathLike, remote: Remote) -> bool:
    """True when ``path`` exists and has the remote file's size and every checksum given."""
    path = Path(path)
    return path.is_file() and not remote.verify(path).problems


def _say(message: str, progress: bool) -> None:
    if progress:
        tqdm.write(message, file=sys.stderr)


def _stream(remote: Remote, part: Path, progress: bool, desc: str, timeout: float,
            position: int | None) -> str:
    """Append the rest of the file to ``part``; return a note when it had to start over."""
    note = ""
    offset = part.stat().st_size if part.exists() else 0
    state = _read_state(part)
    if offset:
        then = (state or {}).get("etag") or (state or {}).get("last_modified")
        if state is None or then is None:
            note = "partial file of unknown origin: started over"
        elif then != remote.validator or state.get("size") != remote.size:
            note = (f"changed on the server since the partial download began (validator "
                    f"{then} -> {remote.validator}): started over from byte 0")
        if note or (remote.size is not None and offset > remote.size):
            offset = 0
    if offset == 0:
        _start_over(remote, part)
    elif remote.size is not None and offset == remote.size:
        return note
    headers = {}
    if offset:
        headers = {"Range": f"bytes={offset}-", "If-Range": state["etag"] or
                   state["last_modified"]}
    try:
        response = _request(remote.url, "GET", headers, timeout)
    except urllib.error.HTTPError:  # 416: the partial file does not fit the remote one
        _start_over(remote, part)
        response = _request(remote.url, "GET", None, timeout)
        offset = 0
    with response:
        if offset and (response.status != 206 or not str(
                response.headers.get("Content-Range", "")).startswith(f"bytes {offset}-")):
            note = "the server sent the whole object again (it changed): started over"
            _start_over(remote, part)
            offset = 0
        if note:
            _say(f"{desc}: {note}", progress)
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
    return note


def _as_manifest(manifest: DownloadManifest | str | os.PathLike | None
                 ) -> DownloadManifest | None:
    if manifest is None or isinstance(manifest, DownloadManifest):
        return manifest
    return DownloadManifest(manifest)


def _key(manifest: DownloadManifest, path: Path) -> str:
    try:
        return path.resolve().relative_to(manifest.folder.resolve()).as_posix()
    except ValueError as exc:
        raise ImagesetsError(f"{path} is outside the data folder {manifest.folder} whose "
                             f"manifest records it; download into that folder") from exc


def matches_entry(path: Path, entry: dict[str, Any] | None, verify: bool = False) -> bool:
    """The local file is the one the manifest entry describes: same size, and unchanged since
    (same modification time, else the same SHA-256; ``verify`` always rehashes)."""
    if not entry or not path.is_file():
        return False
    stat = path.stat()
    if stat.st_size != entry.get("size"):
        return False
    if not verify and stat.st_mtime_ns == entry.get("mtime_ns"):
        return True
    return file_digests(path, ["sha256"])["sha256"] == entry.get("sha256")


def _record(manifest: DownloadManifest | None, path: Path, remote: Remote,
            verdict: Verdict) -> None:
    if manifest is not None:
        manifest.record(_key(manifest, path), size=path.stat().st_size,
                        validator=remote.validator, sha256=verdict.sha256, source=remote.url,
                        verified=verdict.method, mtime_ns=path.stat().st_mtime_ns)


def _local_outcome(path: Path, manifest: DownloadManifest | None, verify: bool) -> Outcome:
    """The server cannot be reached: judge an existing file by the manifest alone."""
    entry = manifest.get(_key(manifest, path)) if manifest is not None else None
    if entry is None:
        return Outcome(path, "offline", "unverified",
                       "server unreachable and not in the download manifest")
    if not matches_entry(path, entry, verify):
        raise OfflineError(
            f"{path} does not match the download manifest (recorded {entry.get('size'):,} bytes, "
            f"sha256 {str(entry.get('sha256'))[:12]}...) and the server cannot be reached to "
            f"fetch it again; rerun when online")
    return Outcome(path, "offline", entry.get("verified", "unverified"), "server unreachable")


def _fetch(remote: Remote | str, path: Path, *, progress: bool, retries: int, timeout: float,
           position: int | None, manifest: DownloadManifest | None, verify: bool) -> Outcome:
    """Fetch one file unless it is already complete; return what happened."""
    if isinstance(remote, str):
        try:
            remote = probe(remote, timeout=timeout)
        except OfflineError:
            if path.is_file():
                return _local_outcome(path, manifest, verify)
            raise
    entry = manifest.get(_key(manifest, path)) if manifest is not None else None
    if entry is not None and entry.get("size") == remote.size and entry.get(
            "validator") == remote.validator and (remote.sha256 in (None, entry.get("sha256"))) \
            and matches_entry(path, entry, verify):
        return Outcome(path, "complete", entry.get("verified", "size-only"))
    if path.is_file():
        verdict = remote.verify(path)
        if not verdict.problems and (verdict.verified or manifest is None):
            _record(manifest, path, remote, verdict)
            return Outcome(path, "complete", verdict.method, _size_only_note(verdict))
    path.parent.mkdir(parents=True, exist_ok=True)
    part = partial_path(path)
    note = ""
    for attempt in range(retries + 1):
        try:
            note = _stream(remote, part, progress, path.name, timeout, position) or note
            break
        except OfflineError:
            if attempt == retries:
                raise
            time.sleep(min(0.2 * 2 ** attempt, 5.0))
    verdict = remote.verify(part)
    if verdict.problems:
        part.unlink(missing_ok=True)
        _state_path(part).unlink(missing_ok=True)
        raise VerificationError(
            f"{path.name} downloaded from {remote.url} failed verification "
            f"({'; '.join(verdict.problems)}): the copy on the server is damaged or the transfer "
            f"was altered. The bad download was deleted; rerun to fetch it again, or use another "
            f"mirror (--endpoint)")
    os.replace(part, path)
    _state_path(part).unlink(missing_ok=True)
    _record(manifest, path, remote, verdict)
    return Outcome(path, "downloaded", verdict.method,
                   "; ".join(n for n in (note, _size_only_note(verdict)) if n))


def _size_only_note(verdict: Verdict) -> str:
    return "the server publishes no checksum for it" if verdict.method == "size-only" else ""


def download_file(remote: Remote | str, path: str | os.PathLike, *, progress: bool = True,
                  retries: int = 3, timeout: float = DEFAULT_TIMEOUT,
                  position: int | None = None,
                  manifest: DownloadManifest | str | os.PathLike | None = None,
                  verify: bool = False, allow_unverified: bool = False) -> Path:
    """Fetch one file to ``path``: skip it if complete, resume a partial one, verify, rename.

    ``remote`` is a :class:`Remote` or a URL (then probed with HEAD). A file that fails
    verification is deleted and :class:`VerificationError` raised, so nothing bad ever has the
    final name. See :func:`download_files` for ``manifest``, ``verify``, ``allow_unverified``.
    """
    return download_files([(remote, path)], progress=progress, retries=retries,
                          timeout=timeout, manifest=manifest, verify=verify,
                          allow_unverified=allow_unverified, _position=position)[0]


def download_files(items: Sequence[tuple[Remote | str, str | os.PathLike]], *, n_jobs: int = 1,
                   progress: bool = True, retries: int = 3, timeout: float = DEFAULT_TIMEOUT,
                   manifest: DownloadManifest | str | os.PathLike | None = None,
                   verify: bool = False, allow_unverified: bool = False,
                   _position: int | None = None) -> Downloaded:
    """Fetch several ``(remote, path)`` pairs, ``n_jobs`` at a time, one progress bar line each.

    ``manifest`` (a :class:`DownloadManifest` or its folder) records every verified file and
    decides what is already complete; ``verify`` rehashes files instead of trusting their
    recorded size and modification time. The same path asked twice is fetched once. Every file
    is attempted; failures are reported together afterwards (finished files stay). Files
    verified by size only, or kept unchecked because the server was unreachable, raise
    :class:`UnverifiedDownloadError` at the end unless ``allow_unverified``. The result is the
    list of paths, with ``.outcomes`` and ``.summary()``.
    """
    if n_jobs < 1:
        raise ImagesetsError(f"n_jobs must be at least 1 (got {n_jobs})")
    book = _as_manifest(manifest)
    paths = [Path(path) for _, path in items]
    unique: dict[Path, Remote | str] = {}
    for (remote, _), path in zip(items, paths, strict=True):
        unique.setdefault(path.resolve(), remote)
    lines: queue.SimpleQueue[int] = queue.SimpleQueue()
    for line in range(n_jobs):
        lines.put(line)

    def fetch(path: Path) -> Outcome:
        line = lines.get()
        try:
            position = _position if n_jobs == 1 else line
            return _fetch(unique[path], path, progress=progress, retries=retries,
                          timeout=timeout, position=position, manifest=book, verify=verify)
        finally:
            lines.put(line)

    with ThreadPoolExecutor(max_workers=min(n_jobs, max(len(unique), 1))) as pool:
        futures = {path: pool.submit(fetch, path) for path in unique}
    errors = [(p, f.exception()) for p, f in futures.items() if f.exception()]
    if errors:
        first = errors[0][1]
        if len(errors) == 1:
            raise first
        kinds = {type(e) for _, e in errors}
        kind = kinds.pop() if len(kinds) == 1 else ImagesetsError
        detail = " | ".join(f"{p.name}: {e}" for p, e in errors)
        raise kind(f"{len(errors)} of {len(unique)} downloads failed: {detail}")
    outcomes = {p: f.result() for p, f in futures.items()}
    result = Downloaded(paths, [outcomes[p] for p in unique])
    if result.untrusted and not allow_unverified:
        offline = any(o.action == "offline" for o in result.untrusted)
        raise UnverifiedDownloadError(
            f"{result.summary()}. These files were kept but could not be verified; accept them "
            f"with --allow-unverified (allow_unverified=True)"
            + (", or rerun when the server is reachable" if offline else ""), result)
    return result
