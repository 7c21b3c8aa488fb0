"""Time to the first interactive screen: `milink` versus a bare Textual app, in the same run.

Each case runs as a child process in a real pty (80×24); the clock stops when the first
screen's text reaches the terminal — what a user over SSH waits for. At that moment the
child's CPU time (all its threads, from /proc) is read too: it is far less sensitive than wall
time to other processes competing for the 2 cores.

Same conditions for every case: the same interpreter and environment, one bytecode cache
(``PYTHONPYCACHEPREFIX`` in a temp dir, filled by the warm-up runs, as an installed package
would have it — ``PYTHONDONTWRITEBYTECODE`` would otherwise make milink, and only milink,
compile its sources on every start), and interleaved rounds whose order alternates, so that a
load spike hits every case alike. Reported: median, quartiles and min of each case, the ratio
of medians, and the median of per-round ratios with its quartiles. Goal: ratio ≤ 1.5×.

    BENCH_RUNS=25 python bench/startup.py            # more rounds (default 15, 2 warm-up)
    BENCH_CASES=bare,first python bench/startup.py   # only the first-run case
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import shutil
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_RUNS", "15"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "2"))
GOAL = 1.5
BARE = """
from textual.app import App
from textual.widgets import Footer, Header, Static
class Bare(App):
    BINDINGS = [("q", "quit", "Quit")]
    def compose(self):
        yield Header()
        yield Static("bare textual app ready")
        yield Footer()
Bare().run()
"""


@dataclass
class Case:
    name: str
    argv: list[str]
    marker: bytes
    env: dict[str, str] = field(default_factory=dict)
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of every live thread of ``pid`` so far, from /proc (ns precision)."""
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    except OSError:
        return float("nan")
    return total / 1e9


def first_screen(argv: list[str], marker: bytes, env: dict[str, str], timeout: float = 30.0) -> tuple[float, float]:
    """(wall, cpu) seconds from spawn until ``marker`` appears in the pty output; then the child is stopped
    with SIGTERM so it cleans up (the --lab case stops its lab)."""
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    seen = b""
    wall = cpu = float("nan")
    try:
        while time.perf_counter() - started < timeout:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen = (seen + chunk)[-200_000:]
            if marker in seen:
                wall = time.perf_counter() - started
                cpu = cpu_seconds(pid)
                break
    finally:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.perf_counter() + 10
        while time.perf_counter() < deadline:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            try:  # keep draining so the child is never blocked writing
                os.read(fd, 65536)
            except OSError:
                pass
            time.sleep(0.02)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    return wall, cpu


def quartiles(xs: list[float]) -> tuple[float, float, float]:
    if len(xs) < 2:
        return xs[0], xs[0], xs[0]
    q1, q2, q3 = statistics.quantiles(xs, n=4, method="inclusive")
    return q1, q2, q3


def describe(xs: list[float]) -> str:
    ok = [x for x in xs if x == x]  # drop NaN (a run that never showed its screen)
    if not ok:
        return "no run reached its first screen"
    q1, q2, q3 = quartiles(ok)
    failed = f", {len(xs) - len(ok)} failed" if len(ok) < len(xs) else ""
    return f"median {q2 * 1000:5.0f} ms  IQR {q1 * 1000:.0f}–{q3 * 1000:.0f}  min {min(ok) * 1000:.0f}  (n={len(ok)}{failed})"


def ratio_line(case: Case, bare: Case, series: str) -> str:
    a, b = getattr(case, series), getattr(bare, series)
    pairs = [x / y for x, y in zip(a, b, strict=True) if x == x and y == y and y > 0]
    if not pairs:
        return f"  {case.name:<6} / bare ({series}): n/a"
    q1, q2, q3 = quartiles(pairs)
    med = statistics.median(x for x in a if x == x) / statistics.median(y for y in b if y == y)
    verdict = "OK" if med <= GOAL else "OVER GOAL"
    return (f"  {case.name:<6} / bare ({series:<4}): {med:.2f}x of medians; per round median {q2:.2f}x "
            f"IQR {q1:.2f}–{q3:.2f}  — {verdict} (goal <= {GOAL}x)")


def main() -> int:
    state = Path(tempfile.mkdtemp(prefix="milink-bench-"))
    try:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.pop("MILINK_STATE_DIR", None)
        # the real state-dir lookup (platformdirs honours XDG_*), in a temp dir; run from the tree this
        # bench belongs to (PYTHONPATH), so a copy of an older commit measures that commit
        env.update({"TERM": "xterm-256color", "COLORTERM": "truecolor", "XDG_STATE_HOME": str(state / "state"),
                    "XDG_CONFIG_HOME": str(state / "config"), "XDG_DATA_HOME": str(state / "data"),
                    "XDG_CACHE_HOME": str(state / "cache"), "MILINK_KEYRING": "off",
                    "PYTHONPYCACHEPREFIX": str(state / "pycache"), "PYTHONPATH": str(ROOT)})
        bare_file = state / "bare.py"
        bare_file.write_text(BARE)
        saved = state / "saved"
        (saved / "milink").mkdir(parents=True)
        (saved / "milink" / "connections.json").write_text(json.dumps({"connections": [
            {"server": "sql01.contoso.local", "port": 1433, "user": "dba", "name": "BENCHSQL01"},
            {"server": "sql02.contoso.local", "port": 1433, "user": "dba", "name": "BENCHSQL02"}]}))
        milink = [sys.executable, "-m", "milink_tui"]
        all_cases = [
            Case("bare", [sys.executable, str(bare_file)], b"bare textual app ready"),
            # first run: nothing saved, the welcome panel and its two buttons
            Case("first", milink, b"Open the lab"),
            # a returning user: the saved connections listed
            Case("saved", milink, b"BENCHSQL02", {"XDG_STATE_HOME": str(saved)}),
            # --lab: home's body painted (its Azure line) while the lab starts in the background
            Case("lab", [*milink, "--lab"], b"Not signed in"),
        ]
        wanted = os.environ.get("BENCH_CASES", "bare,first,saved,lab").split(",")
        cases = [c for c in all_cases if c.name in wanted or c.name == "bare"]
        load0 = os.getloadavg()
        for _ in range(WARMUP):  # fills the bytecode cache and the OS file cache; not measured
            for c in cases:
                first_screen(c.argv, c.marker, {**env, **c.env})
        for i in range(RUNS):
            for c in (cases if i % 2 == 0 else cases[::-1]):
                wall, cpu = first_screen(c.argv, c.marker, {**env, **c.env})
                c.wall.append(wall)
                c.cpu.append(cpu)
        load1 = os.getloadavg()
        print(f"time to first screen, 80x24 pty, {RUNS} rounds + {WARMUP} warm-up, Python "
              f"{sys.version.split()[0]}, load average {load0[0]:.2f} -> {load1[0]:.2f} on {os.cpu_count()} cores")
        labels = {"bare": "bare Textual app", "first": "milink, first run (welcome)",
                  "saved": "milink, saved connections listed", "lab": "milink --lab (home, lab starting)"}
        for series in ("wall", "cpu"):
            print(f"{series} time:")
            for c in cases:
                print(f"  {labels[c.name]:<34} {describe(getattr(c, series))}")
        print("ratios:")
        bare = cases[0]
        for c in cases[1:]:
            for series in ("wall", "cpu"):
                print(ratio_line(c, bare, series))
    finally:
        shutil.rmtree(state, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
