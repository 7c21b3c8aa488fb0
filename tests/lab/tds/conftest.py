"""Fixtures for the TDS server tests (helpers live in tds_helpers.py, which sets ODBCSYSINI)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .tds_helpers import EchoServer, start_server, stop_server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EchoServer]:
    """The echo server with a certificate (TLS offered to clients that ask)."""
    proc, info = start_server(tmp_path_factory.mktemp("tds-echo"))
    yield info
    stop_server(proc)


@pytest.fixture(scope="session")
def plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EchoServer]:
    """The echo server without a certificate: every client is told NOT_SUP."""
    proc, info = start_server(tmp_path_factory.mktemp("tds-echo-plain"), "--no-tls")
    yield info
    stop_server(proc)
