"""Fixtures for importer tests: vendored and shared real files, crafted files in tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_DATA = REPO_ROOT / "tests" / "data"
SHARED_DATA = (REPO_ROOT / ".." / "shared" / "data").resolve()

WriteFile = Callable[..., Path]


@pytest.fixture(name="test_data")
def fixture_test_data() -> Path:
    """Return tests/data (small vendored real files, see PROVENANCE.md)."""
    return TEST_DATA


@pytest.fixture(name="shared_data")
def fixture_shared_data() -> Path:
    """Return ../shared/data (the staged real files), skipping when it is absent."""
    if not (SHARED_DATA / "MANIFEST.md").is_file():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(name="write_file")
def fixture_write_file(tmp_path: Path) -> WriteFile:
    """Return a function writing text (lines joined by newlines, final newline) to tmp_path."""

    def write(name: str, *lines: str, final_newline: bool = True, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        text = "\n".join(lines) + ("\n" if final_newline else "")
        path.write_bytes(text.encode(encoding))
        return path

    return write
