"""Run every benchmark script in this folder and print their numbers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

here = Path(__file__).parent
for script in sorted(here.glob("*.py")):
    if script.name == "run_all.py":
        continue
    print(f"== {script.name}")
    subprocess.run([sys.executable, str(script)], check=False)
