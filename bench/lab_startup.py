"""How long `milink lab serve --json` takes to be ready, per scenario (goal: < 2 s for `linked`).

Baseline in the same run: starting a bare Python interpreter, so the ratio shows what the
lab itself costs on this machine.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from milink_tui.services.lab_process import LabProcess

RUNS = 3


def bare_python() -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - t


def main() -> None:
    base = statistics.median(bare_python() for _ in range(RUNS))
    print(f"bare python start: {base * 1000:.0f} ms")
    for scenario in ("fresh", "linked", "scale"):
        times = []
        for _ in range(RUNS):
            lab = LabProcess(scenario)
            lab.start()
            times.append(lab.ready_seconds or 0.0)
            code = lab.stop()
            assert code == 0, f"lab exited {code}"
        med = statistics.median(times)
        print(f"lab ready ({scenario:7s}): median {med * 1000:.0f} ms over {RUNS} runs "
              f"({med / base:.1f}x bare python){'  GOAL MISSED (2 s)' if scenario == 'linked' and med > 2 else ''}")


if __name__ == "__main__":
    main()
