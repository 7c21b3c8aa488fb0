"""Record the dashboard's source reports to a compressed file and replay them later.

A recording is gzip-compressed JSON lines: a header, then one line per source report
(failures included, so outages replay as stale sources). It holds what the screen showed —
normalised DMV and ARM fields, never connection strings or secrets. Replay drives the same
screen through the same messages, at any speed (Dolphie's replay, for post-incident review).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import IO, Any

from milink_tui.engine.dashboard import SourceReport, iso, jsonable, redact_obj, utcnow

try:  # writes datetimes as the ISO text iso() gives (UTC, "Z"), ~7x json.dumps on a 500-link report
    import orjson

    def _dumps(obj: dict[str, Any]) -> bytes:
        return orjson.dumps(obj, default=str, option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC)
except ImportError:  # pragma: no cover - orjson is a declared dependency
    def _dumps(obj: dict[str, Any]) -> bytes:
        return json.dumps(jsonable(obj), separators=(",", ":"), default=str).encode()

FORMAT = "milink-dashboard-recording"
VERSION = 1


class Recorder:
    """Append reports to ``path`` (.jsonl.gz); each line is flushed so a crash loses little."""

    def __init__(self, path: str | Path, meta: dict[str, Any] | None = None) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._raw: IO[bytes] = open(self.path, "ab")  # noqa: SIM115 - closed in close()
        self._gz = gzip.GzipFile(fileobj=self._raw, mode="ab", compresslevel=6)
        self.count = 0
        self._write({"type": "header", "format": FORMAT, "version": VERSION, "started": iso(utcnow()),
                     **redact_obj(meta or {})})

    def _write(self, obj: dict[str, Any]) -> None:
        self._gz.write(_dumps(obj) + b"\n")
        self._gz.flush()  # Z_SYNC_FLUSH: everything so far is readable even if we die now

    def write(self, report: SourceReport) -> None:
        """One report as a line. Its free text was redacted where it entered (normalize_sql,
        normalize_arm, failure): at 500 links a second pass over every value here cost ~15 ms
        a refresh, and turning datetimes into text first ~11 ms; orjson writes them itself."""
        self._write({"type": "report", **report.to_record()})
        self.count += 1

    def close(self) -> None:
        if not self._gz.closed:
            self._gz.close()
            self._raw.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_recording(path: str | Path) -> tuple[dict[str, Any], list[SourceReport]]:
    """(header, reports) of a recording; a truncated tail (crash while writing) is ignored."""
    header: dict[str, Any] = {}
    reports: list[SourceReport] = []
    for obj in _lines(Path(path).expanduser()):
        if obj.get("type") == "header":
            if not header:
                header = obj
        elif obj.get("type") == "report":
            reports.append(SourceReport.from_json(obj))
    if not header or header.get("format") != FORMAT:
        raise ValueError(f"{path} is not a milink dashboard recording")
    return header, reports


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        try:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError:
                        return
        except (EOFError, OSError):  # the last member was not closed: what was flushed is still good
            return


class ReplaySource:
    """Plays a recording back at ``speed``× through ``on_report``; pause/seek-free and simple."""

    kind = "replay"

    def __init__(self, path: str | Path, speed: float = 1.0) -> None:
        self.path = Path(path)
        self.header, self.reports = read_recording(self.path)
        self.speed = speed
        self.position = 0
        self.paused = False
        self._resume = asyncio.Event()

    @property
    def sources(self) -> list[tuple[str, str]]:
        seen: dict[str, str] = {}
        for r in self.reports:
            seen.setdefault(r.source, r.kind)
        return list(seen.items())

    @property
    def started(self) -> dt.datetime | None:
        return self.reports[0].at if self.reports else None

    def pause(self) -> None:
        self.paused = True
        self._resume.clear()

    def resume(self) -> None:
        self.paused = False
        self._resume.set()

    async def frames(self, sleep: Callable[[float], Any] = asyncio.sleep) -> AsyncIterator[SourceReport]:
        """Reports in order, waiting the recorded gaps divided by ``speed`` (0 = as fast as possible)."""
        prev: dt.datetime | None = None
        while self.position < len(self.reports):
            if self.paused:
                await self._resume.wait()
            r = self.reports[self.position]
            if prev is not None and self.speed > 0:
                gap = (r.at - prev).total_seconds() / self.speed
                if gap > 0:
                    await sleep(min(gap, 5.0))
            prev = r.at
            self.position += 1
            yield r
