"""Helpers for the TDS server tests: the echo server child process and client runners.

ODBCSYSINI must point at an odbcinst.ini naming "ODBC Driver 18 for SQL Server" and "FreeTDS"
before pyodbc loads a driver; tests/conftest.py does that, and this module repeats it (only if
unset) so the folder also runs on its own.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import pickle
import subprocess
import sys
import tempfile
import textwrap
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]

if not os.environ.get("ODBCSYSINI"):
    _odbc_dir = tempfile.mkdtemp(prefix="tds-odbc-")
    subprocess.run([sys.executable, str(ROOT / "tools" / "odbcinst.py"), _odbc_dir], check=True,
                   capture_output=True, timeout=60)
    os.environ["ODBCSYSINI"] = _odbc_dir

_spec = importlib.util.spec_from_file_location("tds_echo_server", HERE / "echo_server.py")
assert _spec and _spec.loader
echo = importlib.util.module_from_spec(_spec)
sys.modules["tds_echo_server"] = echo
_spec.loader.exec_module(echo)

USER = echo.USER
PASSWORD = echo.PASSWORD


@dataclass
class EchoServer:
    port: int
    ca: str
    log_path: Path

    def log(self, since: int = 0) -> str:
        """The server's log (DEBUG: one line per request), optionally from a ``mark()`` on."""
        return self.log_path.read_text(errors="replace")[since:]

    def mark(self) -> int:
        return len(self.log())


def start_server(tmp: Path, *args: str) -> tuple[subprocess.Popen[str], EchoServer]:
    log_path = tmp / "server.log"
    proc = subprocess.Popen([sys.executable, str(HERE / "echo_server.py"), "-v", *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log_path.open("w"),
                            text=True, env={**os.environ, "PYTHONFAULTHANDLER": "1"})
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(30)
    if not line or not line[0].strip():
        proc.kill()
        raise RuntimeError(f"echo server did not start:\n{log_path.read_text()}")
    info = json.loads(line[0])
    return proc, EchoServer(info["port"], info["ca"], log_path)


def stop_server(proc: subprocess.Popen[str]) -> None:
    try:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)
    except (subprocess.TimeoutExpired, OSError):
        proc.kill()
        proc.wait(5)


def odbc_driver(name: str) -> None:
    """Skip unless pyodbc can load ``name`` (a genuinely missing client)."""
    pyodbc = pytest.importorskip("pyodbc")
    if name not in pyodbc.drivers():
        pytest.skip(f"ODBC driver {name!r} not installed")


def run_client(code: str, env: dict[str, str] | None = None, timeout: float = 60) -> Any:
    """Run client code in a fresh interpreter; it must assign ``result``, which comes back unpickled.

    Used where a client must start with a different environment (SSL_CERT_FILE is read when the
    driver loads) or must not share a process with another copy of the same driver.
    """
    wrapper = (textwrap.dedent(code) + "\nimport base64 as _b, pickle as _p\n"
               "print('RESULT:' + _b.b64encode(_p.dumps(result)).decode())\n")
    proc = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONFAULTHANDLER": "1", **(env or {})})
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT:"):
            return pickle.loads(base64.b64decode(line[7:]))
    raise AssertionError(f"client process failed (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def expected_all_types() -> dict[str, Any]:
    """What a client should read back for the ``SELECT all_types`` row (fixed types padded)."""
    values = {name: value for name, _t, value in echo.ALL_TYPES}
    values["c_char"] = values["c_char"].ljust(5)
    values["c_nchar"] = values["c_nchar"].ljust(5)
    values["c_binary"] = values["c_binary"].ljust(4, b"\x00")
    return values
