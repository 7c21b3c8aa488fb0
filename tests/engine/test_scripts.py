"""Exported scripts: golden files, and no secret ever written into one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from milink_tui.engine import scripts
from milink_tui.engine.plan import LinkPlan, link_specs

from .sample import sample_plan

# the example scripts in assets/ are the golden files (one copy, shown to users and checked here)
GOLDEN = Path(__file__).resolve().parents[2] / "assets" / "example-scripts"


@pytest.mark.parametrize("direction", ["sql-first", "mi-first"])
def test_exported_scripts_match_golden(direction: str) -> None:
    files = scripts.all_scripts(sample_plan(direction))
    for name, text in files.items():
        path = GOLDEN / direction / name
        if os.environ.get("UPDATE_GOLDEN"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        assert path.exists(), f"missing golden {path}; run with UPDATE_GOLDEN=1"
        assert text == path.read_text(), f"{name} changed; review and run with UPDATE_GOLDEN=1"


def test_sql_script_is_sqlcmd_mode_with_guards_and_variables() -> None:
    text = scripts.tsql(sample_plan())
    assert ":on error exit" in text
    assert "$(MasterKeyPassword)" in text
    assert text.count("\nGO\n") >= 8
    assert "IF NOT EXISTS (SELECT 1 FROM sys.availability_groups WHERE name = N'AG_SalesDb')" in text
    assert "LISTENER_URL = N'tcp://sqlmi-lab-gp.a1b2c3d4e5f6.database.windows.net:5022;Server=[sqlmi-lab-gp]'" in text


def test_several_databases_make_suffixed_links() -> None:
    plan = sample_plan(databases=("SalesDb", "Orders", "CRM"))
    assert [s.link_name for s in plan.links] == ["link_SalesDb", "link_Orders", "link_CRM"]
    text = scripts.az_cli(plan)
    assert text.count("az sql mi link create") == 3


def test_hostile_names_are_quoted_in_every_script() -> None:
    plan = sample_plan(databases=("we]ird 'db",))
    plan.links = link_specs(["we]ird 'db"], None)
    t = scripts.tsql(plan)
    assert "FOR DATABASE [we]]ird 'db]" in t
    assert "N'AG_we]ird ''db'" in t
    ps = scripts.powershell(plan)
    assert "-Database 'we]ird ''db'" in ps
    sh = scripts.az_cli(plan)
    assert "'\"'\"'" in sh  # the single quote survives POSIX quoting


def test_a_password_never_reaches_a_script() -> None:
    sentinel = "S3ntinel-P@ss-4242"
    plan = sample_plan()
    rendered = "".join(scripts.all_scripts(plan).values()) + str(plan.to_json())
    assert sentinel not in rendered
    assert LinkPlan.from_json(plan.to_json()) == plan
