"""Fixtures for the simulated SQL Server engine: small hand-built worlds (no TDS involved)."""

from __future__ import annotations

import pytest

from milink_tui.lab.hooks import NoOps
from milink_tui.lab.model import SqlInstance, World
from milink_tui.lab.sqlserver import SqlServerBackend

from .sqlserver_helpers import Client, make_world


@pytest.fixture
def world_inst() -> tuple[World, SqlInstance]:
    return make_world(hadr_enabled=True)


@pytest.fixture
def backend(world_inst: tuple[World, SqlInstance]) -> SqlServerBackend:
    world, inst = world_inst
    return SqlServerBackend(world, inst.name, NoOps())


@pytest.fixture
def client(backend: SqlServerBackend) -> Client:
    return Client(backend)
