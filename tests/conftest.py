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
