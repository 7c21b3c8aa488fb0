"""The command line: instant --help/--version, and the layering rule that keeps them instant."""

from __future__ import annotations

import json
import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "milink_tui", *args], capture_output=True, text=True, timeout=60)


def test_version_prints_package_version() -> None:
    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.startswith("milink 0.")


def test_help_lists_lab_and_commands() -> None:
    out = run("--help")
    assert out.returncode == 0
    assert "--lab" in out.stdout and "lab" in out.stdout and "--scenario" in out.stdout


def test_unknown_scenario_is_a_clear_error() -> None:
    out = run("lab", "serve", "--scenario", "nope")
    assert out.returncode == 2
    assert "invalid choice: 'nope'" in out.stderr


def test_cli_imports_neither_textual_nor_azure_nor_keyring() -> None:
    code = (
        "import sys, json, milink_tui.cli as c; c.build_parser();"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'azure', 'keyring', 'aiohttp', 'pyodbc', 'msal', 'cryptography', 'platformdirs'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


def test_dashboard_needs_a_source_and_names_a_missing_recording(tmp_path) -> None:
    out = run("dashboard")
    assert out.returncode == 2 and "one of the arguments --lab --replay is required" in out.stderr
    missing = run("dashboard", "--replay", str(tmp_path / "nope.jsonl.gz"))
    assert missing.returncode == 2 and "no recording at" in missing.stdout
