"""TUI test setup: a private state dir (journals, saved connections), no real keyring, and labs
started as child processes at a speed where seeding takes a moment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from milink_tui.services.lab_process import LabProcess

LAB_SPEED = 50.0


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setenv("MILINK_STATE_DIR", str(state))
    monkeypatch.setenv("MILINK_KEYRING", "off")
    return state


@pytest.fixture(scope="module")
def fresh_lab() -> Iterator[LabProcess]:
    """One `fresh` lab per module: the wizard adapts to what earlier tests already prepared."""
    lab = LabProcess("fresh", speed=LAB_SPEED)
    lab.start()
    yield lab
    lab.stop()
