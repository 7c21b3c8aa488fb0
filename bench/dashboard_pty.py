"""Terminal bytes per second, CPU and RSS of the real dashboard in a pty, against the `scale` lab.

The app runs as a child on a pseudo-terminal (80×24 and 160×50); every workload in the lab is
stopped except one visible, not selected link's, so one value changes per refresh. Steady
state means full history charts: the warm-up polls at 0.25 s until the charts are full, then
the parent presses `+` twice (0.25 → 0.5 → 1 s) like a user, waits, counts what the app writes
to the terminal for 10 s and reads the child's CPU and RSS from /proc. Goals: ≤ 2 KB/s of terminal output; ≤ 5% of a core with 100
links at 1 s.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from dashboard_refresh import ROOT, ScaleLab  # noqa: E402

from milink_tui.services.lab_process import control  # noqa: E402

WINDOW = 10.0
SETTLE = 3.0  # after switching to 1 s
CHANGING = "app002"  # second row at start: visible, not the selected one


def child(info_path: str) -> None:
    """Run the dashboard full screen on this terminal."""
    import asyncio

    from milink_tui.screens.dashboard import DashboardApp, DashboardScreen
    from milink_tui.services.dashboard_sources import lab_sources
    from milink_tui.services.lab_process import LabInfo

    info = LabInfo(json.loads(Path(info_path).read_text()))
    mis = [(f"sqlmi-scale-{i + 1:02d}", "rg-scale") for i in range(5)]
    sources = asyncio.run(lab_sources(info, Path(tempfile.mkdtemp()), managed_instances=mis))
    DashboardApp(lambda: DashboardScreen(sources, interval=0.25, min_interval=0.25)).run()


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(links: int, size: tuple[int, int]) -> dict[str, float]:
    # charts are about width - 45 samples wide; at 0.25 s a refresh of 500 links takes ~0.5 s
    warmup = (size[0] - 40) * (0.3 if links <= 100 else 0.6) + 5
    with ScaleLab(links) as lab:
        assert lab.info is not None
        for n in range(links):  # everything quiet but one link
            db = f"app{n + 1:03d}"
            tps = 20 if db == CHANGING else 0
            control(lab.info.control_url, "/workload", {"database": db, "transactions_per_second": tps,
                                                        "bytes_per_transaction": 1024})
        # a thin link: the one busy database's send queue (a table cell) grows every refresh
        control(lab.info.control_url, "/fault", {"bandwidth_bps": 10 * 1024})
        info_path = Path(tempfile.mkdtemp()) / "lab.json"
        info_path.write_text(json.dumps(lab.info.raw))
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor", "TEXTUAL_ANIMATIONS": "none"}
        proc = subprocess.Popen([sys.executable, __file__, "--child", str(info_path)], stdin=slave, stdout=slave,
                                stderr=slave, env=env, cwd=ROOT, start_new_session=True)
        os.close(slave)
        total = 0
        window_bytes = 0
        start = time.monotonic()
        cpu0 = None
        slowed = False
        try:
            while True:
                now = time.monotonic() - start
                if now >= warmup and not slowed:
                    os.write(master, b"+")
                    time.sleep(0.3)
                    os.write(master, b"+")
                    slowed = True
                if now >= warmup + SETTLE and cpu0 is None:
                    cpu0, window_bytes, t0 = proc_cpu_seconds(proc.pid), 0, time.monotonic()
                if now >= warmup + SETTLE + WINDOW:
                    break
                ready, _, _ = select.select([master], [], [], 0.1)
                if ready:
                    try:
                        data = os.read(master, 65536)
                    except OSError:
                        break
                    total += len(data)
                    window_bytes += len(data)
                    if cpu0 is not None and os.environ.get("MILINK_PTY_DUMP"):
                        with open(os.environ["MILINK_PTY_DUMP"], "ab") as dump:
                            dump.write(data + b"\n-----\n")
            elapsed = time.monotonic() - t0
            cpu = proc_cpu_seconds(proc.pid) - (cpu0 or 0.0)
            rss = proc_rss_mb(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
            os.close(master)
    return {"bytes_per_s": window_bytes / elapsed, "core_percent": 100 * cpu / elapsed, "rss_mb": rss,
            "first_screen_bytes": total - window_bytes}


def main() -> None:
    for links in (100, 500):
        for size in ((80, 24), (160, 50)):
            r = run(links, size)
            goals = []
            if r["bytes_per_s"] > 2048:
                goals.append("GOAL MISSED (2 KB/s)")
            if links == 100 and r["core_percent"] > 5:
                goals.append("GOAL MISSED (5%)")
            print(f"{links} links {size[0]}x{size[1]}: {r['bytes_per_s'] / 1024:.2f} KB/s to the terminal "
                  f"(one link changing), app CPU {r['core_percent']:.1f}% of a core at 1 s, "
                  f"RSS {r['rss_mb']:.0f} MB {' '.join(goals)}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
