"""Time to the first interactive screen: `milink` versus a bare Textual app, in the same run.

Both run as child processes in a real pty (80×24), and the clock stops when the first screen's
text reaches the terminal — what a user over SSH waits for. Runs alternate so both see the same
machine state; medians are compared. Goal: ratio ≤ 1.5×.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_RUNS", "7"))
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


def first_screen(argv: list[str], marker: bytes, env: dict[str, str], timeout: float = 30.0) -> float:
    """Seconds from spawn until ``marker`` appears in the pty output; then the child is stopped."""
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    seen = b""
    elapsed = float("nan")
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
                elapsed = time.perf_counter() - started
                break
    finally:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.perf_counter() + 5
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
    return elapsed


def main() -> int:
    state = tempfile.mkdtemp(prefix="milink-bench-")
    env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor", "MILINK_STATE_DIR": state,
           "MILINK_KEYRING": "off", "PYTHONDONTWRITEBYTECODE": "1"}
    bare_file = Path(state) / "bare.py"
    bare_file.write_text(BARE)
    bare_cmd = [sys.executable, str(bare_file)]
    milink_cmd = [sys.executable, "-m", "milink_tui"]
    # warm the OS file cache once for each, unmeasured
    first_screen(bare_cmd, b"bare textual app ready", env)
    first_screen(milink_cmd, b"Managed Instance link", env)
    bare, milink = [], []
    for _ in range(RUNS):
        bare.append(first_screen(bare_cmd, b"bare textual app ready", env))
        milink.append(first_screen(milink_cmd, b"Managed Instance link", env))
    b, m = statistics.median(bare), statistics.median(milink)
    print(f"bare Textual app, first screen: median {b * 1000:.0f} ms  ({', '.join(f'{x * 1000:.0f}' for x in bare)})")
    print(f"milink home screen, first paint: median {m * 1000:.0f} ms  "
          f"({', '.join(f'{x * 1000:.0f}' for x in milink)})")
    ratio = m / b
    print(f"ratio milink / bare: {ratio:.2f}x (goal <= 1.5x) — {'OK' if ratio <= 1.5 else 'OVER GOAL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
