"""Shared test setup.

ODBCSYSINI must point at a project-local odbcinst.ini (ODBC Driver 18 from PyPI, FreeTDS
from Debian) *before* pyodbc loads unixODBC, so it is set here at import time.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_odbc = ROOT / ".odbc"
if not (_odbc / "odbcinst.ini").exists():
    sys.path.insert(0, str(ROOT / "tools"))
    import odbcinst  # noqa: E402

    odbcinst.main(["odbcinst", str(_odbc)])
os.environ.setdefault("ODBCSYSINI", str(_odbc))
os.environ.setdefault("TZ", "UTC")

from milink_tui.services.lab_process import LabProcess  # noqa: E402


@pytest.fixture
def lab_factory() -> Iterator:
    """Start labs (child processes) in any scenario; all are stopped at the end of the test."""
    started: list[LabProcess] = []

    def start(scenario: str = "fresh", speed: float = 1.0) -> LabProcess:
        lab = LabProcess(scenario, speed=speed)
        lab.start()
        started.append(lab)
        return lab

    yield start
    for lab in started:
        lab.stop()


@pytest.fixture(scope="module")
def windows_lab() -> Iterator[LabProcess]:
    """A ``ready-windows`` lab (its Agent runs PowerShell job steps), shared by a module's tests."""
    lab = LabProcess("ready-windows", speed=10)
    lab.start()
    yield lab
    lab.stop()


@pytest.fixture
def sdk_logging_restored() -> Iterator[None]:
    """Azure sessions route the SDK's loggers to a file process-wide (route_sdk_logging); put the
    loggers and the shared handler back after the test, so a later test finds none of it."""
    import logging

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
