"""Dashboard tests: helpers live in dash_helpers (importable by name from this folder)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _restore_sdk_logging(sdk_logging_restored: None) -> None:
    """Every dashboard test puts the SDK's loggers back (see tests/conftest.py)."""
