"""Atomic writes: all or nothing under the final name, with ordinary permissions."""

from __future__ import annotations

import os
import stat

import pytest

from imagesets.fsutil import atomic_path, atomic_write_text


def test_atomic_write_replaces_whole_file_with_umask_mode(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    old_umask = os.umask(0o022)
    try:
        atomic_write_text(target, "new content")
    finally:
        os.umask(old_umask)
    assert target.read_text() == "new content"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_failure_keeps_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"complete")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise KeyboardInterrupt
    assert target.read_bytes() == b"complete"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]
