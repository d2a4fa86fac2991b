"""What a downloaded file can be checked against, and the check itself (one read of the file).

Besides whole-file MD5 (single-part S3 ETags) and SHA-256, this covers S3 multipart objects:
their ETag is ``MD5(MD5(part 1) + ... + MD5(part N))-N`` and a composite ``x-amz-checksum-*``
is the same construction with another hash. The part size comes from the server (``HEAD`` with
``partNumber=1``) or, failing that, from the sizes common uploaders use.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHUNK_SIZE = 1 << 20
MIB = 1 << 20
#: Part sizes tried when the server does not tell: the 8 MiB default of boto3/AWS CLI and the
#: 16 MiB of other tools and their multiples, then 5 MiB (the S3 minimum) and 15 MiB (s3cmd).
PART_SIZE_GUESSES = tuple(sorted({8 * MIB * m for m in range(1, 65)} |
                                 {16 * MIB * m for m in range(1, 33)})) + (5 * MIB, 15 * MIB)
MAX_GUESSES = 8
#: How a file was verified, strongest first (``checksum-ALG`` stands for ``x-amz-checksum-ALG``).
METHODS = ("sha256", "md5", "checksum-sha256", "checksum-sha1", "checksum-crc32",
           "etag-multipart", "size-only")
_MD5_ETAG = re.compile(r'^(?:W/)?"?([0-9a-fA-F]{32})"?$')
_MULTIPART_ETAG = re.compile(r'^(?:W/)?"?([0-9a-fA-F]{32})-(\d+)"?$')


class _Crc32:
    """zlib.crc32 behind the hashlib interface (big-endian 4-byte digest, as S3 encodes it)."""

    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes) -> None:
        self.value = zlib.crc32(data, self.value)

    def digest(self) -> bytes:
        return self.value.to_bytes(4, "big")


HASHES: dict[str, Callable[[], Any]] = {"sha256": hashlib.sha256, "sha1": hashlib.sha1,
                                        "crc32": _Crc32, "md5": hashlib.md5}


@dataclass(frozen=True)
class Checksum:
    """An ``x-amz-checksum-ALG`` value: base64 of the digest, ``-N`` when composite of N parts."""

    algorithm: str
    value: str

    @property
    def parts(self) -> int | None:
        head, _, count = self.value.partition("-")
        return int(count) if count.isdigit() else None

    @property
    def digest(self) -> bytes:
        return base64.b64decode(self.value.partition("-")[0])


def multipart_etag(etag: str | None) -> tuple[str, int] | None:
    """``(md5 of the part md5s, N)`` of a multipart ETag ``"HEX-N"``, else None."""
    found = _MULTIPART_ETAG.match(etag or "")
    return (found.group(1).lower(), int(found.group(2))) if found else None


def md5_etag(etag: str | None) -> str | None:
    """The MD5 a plain 32-hex-digit ETag (an S3 single-part upload) stands for, else None."""
    found = _MD5_ETAG.match(etag or "")
    return found.group(1).lower() if found else None


def part_size_candidates(size: int, parts: int, known: int | None = None) -> list[int]:
    """Part sizes that split ``size`` bytes into exactly ``parts`` parts (``known`` alone when
    the server told it)."""
    if known:
        return [known]
    fits = [p for p in PART_SIZE_GUESSES if p > 0 and -(-size // p) == parts]
    return fits[:MAX_GUESSES]


class _PartDigests:
    """Digests of consecutive ``part_size`` slices of a stream, for one multipart guess."""

    def __init__(self, part_size: int, algorithm: str) -> None:
        self.part_size, self.algorithm = part_size, algorithm
        self.current, self.filled, self.digests = HASHES[algorithm](), 0, []

    def update(self, data: bytes) -> None:
        view = memoryview(data)
        while view.nbytes:
            take = min(self.part_size - self.filled, view.nbytes)
            self.current.update(view[:take])
            self.filled += take
            view = view[take:]
            if self.filled == self.part_size:
                self._close_part()

    def _close_part(self) -> None:
        self.digests.append(self.current.digest())
        self.current, self.filled = HASHES[self.algorithm](), 0

    def composite(self) -> tuple[bytes, int]:
        if self.filled:
            self._close_part()
        outer = HASHES[self.algorithm]()
        outer.update(b"".join(self.digests))
        return outer.digest(), len(self.digests)


@dataclass
class Verdict:
    """The outcome of checking a file: ``method`` it was verified by (``size-only`` when
    nothing stronger was available), its ``sha256``, and ``problems`` (empty when it matches)."""

    method: str
    sha256: str
    problems: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return not self.problems and self.method != "size-only"


def check_file(path: str | os.PathLike, *, size: int | None, md5: str | None = None,
               sha256: str | None = None, etag: str | None = None,
               checksum: Checksum | None = None, part_size: int | None = None) -> Verdict:
    """Check ``path`` against everything known about the remote file, in one read.

    A multipart ETag or composite checksum whose part size had to be guessed proves nothing when
    no guess matches (the file is then ``size-only``); with the part size from the server a
    mismatch is a problem like any other.
    """
    path = Path(path)
    got_size = path.stat().st_size
    if size is not None and got_size != size:
        return Verdict("size-only", "", [f"size is {got_size:,} bytes, expected {size:,}"])
    whole = {"sha256": hashlib.sha256()}
    if md5:
        whole["md5"] = hashlib.md5()
    full_checksum = checksum if checksum and checksum.parts is None else None
    if full_checksum:
        whole[f"checksum-{full_checksum.algorithm}"] = HASHES[full_checksum.algorithm]()
    composites: list[tuple[str, bytes, int, _PartDigests]] = []
    multipart = multipart_etag(etag)
    if multipart:
        digest, count = multipart
        composites += [("etag-multipart", bytes.fromhex(digest), count, _PartDigests(p, "md5"))
                       for p in part_size_candidates(got_size, count, part_size)]
    if checksum and checksum.parts:
        composites += [(f"checksum-{checksum.algorithm}", checksum.digest, checksum.parts,
                        _PartDigests(p, checksum.algorithm))
                       for p in part_size_candidates(got_size, checksum.parts, part_size)]
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK_SIZE * 4):
            for h in whole.values():
                h.update(block)
            for *_, parts in composites:
                parts.update(block)
    digests = {name: h.digest() for name, h in whole.items()}
    got_sha256 = digests["sha256"].hex()
    problems, passed = [], []
    expected = {"sha256": bytes.fromhex(sha256) if sha256 else None,
                "md5": bytes.fromhex(md5) if md5 else None}
    if full_checksum:
        expected[f"checksum-{full_checksum.algorithm}"] = full_checksum.digest
    for name, want in expected.items():
        if want is None:
            continue
        if digests[name] == want:
            passed.append(name)
        else:
            problems.append(f"{name} is {_show(digests[name], name)}, expected {_show(want, name)}")
    for name in dict.fromkeys(c[0] for c in composites):
        tried = [(want, count, parts) for method, want, count, parts in composites
                 if method == name]
        results = [(parts.composite(), want, count, parts.part_size)
                   for want, count, parts in tried]
        if any(got == (want, count) for got, want, count, _ in results):
            passed.append(name)
        elif part_size:
            (got, count), want, _, _ = results[0]
            problems.append(f"{name} (parts of {part_size:,} bytes) is "
                            f"{_show(got, name)}-{count}, expected {_show(want, name)}")
    method = min(passed, key=METHODS.index) if passed else "size-only"
    return Verdict(method, got_sha256, problems)


def _show(digest: bytes, name: str) -> str:
    return base64.b64encode(digest).decode() if name.startswith("checksum-") else digest.hex()


def file_digests(path: str | os.PathLike, algorithms: Iterable[str]) -> dict[str, str]:
    """Hex digests of a file's content for each hashlib algorithm named, in one read."""
    hashes = {name: hashlib.new(name) for name in algorithms}
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK_SIZE * 4):
            for h in hashes.values():
                h.update(block)
    return {name: h.hexdigest() for name, h in hashes.items()}
