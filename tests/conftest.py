"""Suite-wide fixtures: every test gets its own data home, never the user's."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def imagesets_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
                   ) -> Path:
    """A fresh, empty data home for each test (``IMAGESETS_HOME``)."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("IMAGESETS_HOME", str(home))
    return home
