"""Fixtures for the data tests: the shared real-data folder (../shared/data beside the repository)."""

from pathlib import Path

import pytest

SHARED_DATA = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()


@pytest.fixture
def shared_data() -> Path:
    """The shared data folder; the test is skipped when it is absent."""
    if not (SHARED_DATA / "multi30k").is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA
