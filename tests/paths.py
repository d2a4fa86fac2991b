"""Where the tests find the repository and their reference data (``tests/data``)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = REPO_ROOT / "tests" / "data"
