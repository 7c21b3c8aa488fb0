"""Dashboard tests: helpers live in dash_helpers (importable by name from this folder)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _restore_sdk_logging() -> Iterator[None]:
    """Azure sessions route the SDK's loggers to a file process-wide; undo it after each test.

    Otherwise a later test (tests/clients) finds this test's file handler still attached.
    """
    from milink_tui.clients import azure_errors

    names = ("azure", "msal", "msal_extensions")
    saved = {n: (logging.getLogger(n).level, logging.getLogger(n).propagate, list(logging.getLogger(n).handlers))
             for n in names}
    handler = azure_errors._handler
    yield
    for n, (level, propagate, handlers) in saved.items():
        logger = logging.getLogger(n)
        logger.setLevel(level)
        logger.propagate = propagate
        logger.handlers[:] = handlers
    if azure_errors._handler is not handler and azure_errors._handler is not None:
        azure_errors._handler.close()
        azure_errors._handler = handler
