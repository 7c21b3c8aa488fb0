"""Launch the lab as a child process and read where it listens.

The app and the test suite both start the lab this way: a TDS server inside the client's
own process can deadlock pyodbc (it holds the GIL while it waits on the socket).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any


class LabStartError(RuntimeError):
    """The lab did not come up; the message carries what it printed."""


@dataclass
class LabInfo:
    """Endpoints printed by ``milink lab serve --json``."""

    raw: dict[str, Any]

    @property
    def sql(self) -> dict[str, Any]:
        return self.raw["sql"]

    @property
    def arm(self) -> dict[str, Any]:
        return self.raw["arm"]

    @property
    def entra(self) -> dict[str, Any]:
        return self.raw["entra"]

    @property
    def control_url(self) -> str:
        return self.raw["control"]["url"]

    @property
    def ca_file(self) -> str:
        return self.raw["sql"]["ca_file"]


class LabProcess:
    """``with LabProcess("linked") as lab: lab.info.sql["port"]`` — stops the lab on exit."""

    def __init__(self, scenario: str = "fresh", speed: float = 1.0, extra_env: dict[str, str] | None = None,
                 timeout: float = 20.0) -> None:
        self.scenario = scenario
        self.speed = speed
        self.timeout = timeout
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen[str] | None = None
        self.info: LabInfo | None = None
        self.ready_seconds: float | None = None

    def start(self) -> LabInfo:
        cmd = [sys.executable, "-m", "milink_tui", "lab", "serve", "--json", "--scenario", self.scenario,
               "--speed", str(self.speed)]
        env = {**os.environ, **self.extra_env}
        started = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                     start_new_session=True)
        assert self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = started + self.timeout
        line = ""
        while time.perf_counter() < deadline:
            if sel.select(timeout=0.1):
                line = self.proc.stdout.readline()
                break
            if self.proc.poll() is not None:
                break
        sel.close()
        if not line:
            err = ""
            if self.proc.poll() is not None and self.proc.stderr:
                err = self.proc.stderr.read()[-2000:]
            self.stop()
            raise LabStartError(f"the lab did not start within {self.timeout:.0f} s. {err}".strip())
        self.ready_seconds = time.perf_counter() - started
        self.info = LabInfo(json.loads(line))
        return self.info

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, wait, and return the exit code (SIGKILL if it does not go)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
        return code

    def __enter__(self) -> LabProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def control(url: str, path: str, body: dict[str, Any] | None = None, timeout: float = 10.0) -> dict[str, Any]:
    """Call the lab's control API (GET without a body, POST with one) and return its JSON."""
    import urllib.error
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url.rstrip("/") + path, data=data, method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"lab control {path}: HTTP {e.code}: {e.read().decode(errors='replace')}") from e
