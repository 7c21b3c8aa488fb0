"""The executor's journal: JSON lines on disk, fsync'd after every event.

A crash, a kill or a dropped SSH session at any point leaves a journal that says which steps
were started, which finished, and which objects this run created — enough to resume or to
roll back exactly what was done, and nothing else. Secrets are never written here.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def state_dir() -> Path:
    """Where runs are journaled (``MILINK_STATE_DIR`` overrides, for tests)."""
    override = os.environ.get("MILINK_STATE_DIR")
    if override:
        return Path(override)
    from platformdirs import user_state_dir

    return Path(user_state_dir("milink"))


@dataclass
class StepRecord:
    """What the journal knows about one step after replaying its events."""

    step: str
    state: str  # started / applied / present / failed / undone / undo-failed
    created: bool
    detail: str = ""


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def new(cls, plan_json: dict[str, Any], folder: Path | None = None) -> Journal:
        folder = folder or state_dir() / "runs"
        folder.mkdir(parents=True, exist_ok=True)
        run_id = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
        journal = cls(folder / f"{run_id}.jsonl")
        journal.append({"event": "plan", "plan": plan_json})
        return journal

    @property
    def run_id(self) -> str:
        return self.path.stem

    def append(self, event: dict[str, Any]) -> None:
        event = {"ts": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"), **event}
        line = json.dumps(event, default=str) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def events(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a torn last line from a crash: everything before it is intact
        return out

    def plan(self) -> dict[str, Any]:
        for e in self.events():
            if e.get("event") == "plan":
                return e["plan"]
        raise ValueError(f"{self.path} has no plan")

    def steps(self) -> dict[str, StepRecord]:
        records: dict[str, StepRecord] = {}
        for e in self.events():
            step = e.get("step")
            if not step:
                continue
            rec = records.setdefault(step, StepRecord(step, "", False))
            rec.state = e["event"]
            rec.detail = e.get("detail", rec.detail)
            if e["event"] == "applied":
                rec.created = bool(e.get("created", True))
            elif e["event"] == "undone":
                rec.created = False
        return records

    @property
    def finished(self) -> bool:
        return any(e.get("event") in ("run-completed", "rolled-back") for e in self.events())


def unfinished_runs(folder: Path | None = None) -> list[Journal]:
    """Journals of runs that neither completed nor were rolled back (offer Resume / Roll back)."""
    folder = folder or state_dir() / "runs"
    if not folder.exists():
        return []
    runs = [Journal(p) for p in sorted(folder.glob("*.jsonl"))]
    return [j for j in runs if not j.finished]
