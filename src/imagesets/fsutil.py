"""Atomic writes and path helpers shared by every dataset."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path


def _default_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def temp_path_for(path: str | os.PathLike) -> Path:
    """A fresh hidden temp name beside ``path`` (same filesystem, so rename is atomic).

    The file gets the mode a plain ``open()`` would give (mkstemp's is owner-only).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, _default_file_mode())
    os.close(fd)
    return Path(tmp)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path to write; on success rename it over ``path``, on failure delete it.

    A crash or Ctrl-C therefore never leaves a half-written file under the final name.
    """
    path = Path(path)
    tmp: Path | None = None
    try:
        with deferred_interrupts():
            tmp = temp_path_for(path)
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (fsync'd temp file + rename)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def stat_stamp(paths: Iterable[str | os.PathLike]) -> str:
    """A digest of each path's size and modification time (``-`` for a missing one).

    The cheap input check run on every ``load()``: for a folder, its mtime changes whenever an
    entry is added, removed or renamed in it.
    """
    digest = hashlib.sha256()
    for path in paths:
        try:
            stat = os.stat(path)
            digest.update(f"{os.fspath(path)}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{os.fspath(path)}\t-\n".encode())
    return digest.hexdigest()[:32]


def remove_stale_temps(folder: str | os.PathLike, name: str) -> list[Path]:
    """Delete the temp files a killed write of ``folder/name*`` left (``.{name}.*.tmp``).

    Call it only while holding the lock that serialises writers of those files.
    """
    stale = sorted(Path(folder).glob(f".{name}.*.tmp"))
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold back Ctrl-C (SIGINT) inside the block and raise it when the block ends.

    h5py releases objects through weakref callbacks, where a ``KeyboardInterrupt`` is printed
    as "Exception ignored" and lost, so the write went on and finished as if nothing happened.
    Raised after the block instead, it reaches the caller (and :func:`atomic_path`'s cleanup).
    Outside the main thread signals cannot be handled; the block then runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received and previous is not signal.SIG_IGN:
            if callable(previous):
                previous(signal.SIGINT, None)
            raise KeyboardInterrupt
