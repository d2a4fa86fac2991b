"""Fixtures: a small two-image split with known masks, and a copy of the embedded sample."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .builders import SAMPLE, chairs_split


@pytest.fixture
def chairs_root(tmp_path: Path) -> Path:
    return chairs_split(tmp_path / "panocaps")


@pytest.fixture
def sample_root(tmp_path: Path) -> Path:
    """A writable copy of the embedded PanoCaps sample."""
    target = tmp_path / "sample"
    shutil.copytree(SAMPLE / "panocaps", target)
    return target


@pytest.fixture
def photos_dir() -> Path:
    return SAMPLE / "photos"
