"""DBCC TRACEON / TRACEOFF / TRACESTATUS, SQLPERF(LOGSPACE), CHECKDB and the cache-flush commands."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...tds.backend import Column, Message, Outcome, ResultSet, SqlType
from ..context import ExecEnv, default_files
from ..errors import TsqlError, sql_error
from ..lexer import NUM, Cursor
from .base import Command, parse_flat_options

DBCC_DONE = Message(2528, "DBCC execution completed. If DBCC printed error messages, contact your system "
                          "administrator.", 10)
_INT = SqlType("int")


@dataclass
class DbccCommand(Command):
    name: str
    args: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)

    @property
    def quiet(self) -> bool:
        return "NO_INFOMSGS" in self.options

    def execute(self, env: ExecEnv) -> list[Outcome]:
        handler = getattr(self, f"_do_{self.name.lower()}", None)
        if handler is None:
            raise TsqlError(2526, "Incorrect DBCC statement. Check the documentation for the correct DBCC syntax "
                                  "and options.", 16, 1)
        out = handler(env)
        if not self.quiet:
            out.append(DBCC_DONE)
        return out

    def _flags(self) -> tuple[list[int], bool]:
        flags, global_ = [], False
        for a in self.args:
            try:
                value = int(a)
            except ValueError:
                raise sql_error(102, a) from None
            if value == -1:
                global_ = True
            else:
                flags.append(value)
        return flags, global_

    def _require_sysadmin(self, env: ExecEnv) -> None:
        if not env.sysadmin:
            raise sql_error(2571, env.session.login, self.name.lower())

    def _session_flags(self, env: ExecEnv) -> set[int]:
        return env.session.options.setdefault("TRACE_FLAGS", set())

    def _do_traceon(self, env: ExecEnv) -> list[Outcome]:
        self._require_sysadmin(env)
        flags, global_ = self._flags()
        target = env.inst.trace_flags if global_ else self._session_flags(env)
        target.update(flags)
        return []

    def _do_traceoff(self, env: ExecEnv) -> list[Outcome]:
        self._require_sysadmin(env)
        flags, global_ = self._flags()
        target = env.inst.trace_flags if global_ else self._session_flags(env)
        target.difference_update(flags)
        return []

    def _do_tracestatus(self, env: ExecEnv) -> list[Outcome]:
        flags, global_ = self._flags()
        session = self._session_flags(env)
        on_global = env.inst.trace_flags
        if flags:
            wanted = flags
        elif global_:
            wanted = sorted(on_global)
        else:
            wanted = sorted(on_global | session)
        rows = [(f, int(f in on_global or f in session), int(f in on_global), int(f in session)) for f in wanted]
        if not rows:
            return []
        cols = [Column("TraceFlag", _INT, False), Column("Status", _INT, False), Column("Global", _INT, False),
                Column("Session", _INT, False)]
        return [ResultSet(cols, rows)]

    def _do_sqlperf(self, env: ExecEnv) -> list[Outcome]:
        if [a.upper() for a in self.args] != ["LOGSPACE"]:
            raise TsqlError(2526, "Incorrect DBCC statement. Check the documentation for the correct DBCC syntax "
                                  "and options.", 16, 1)
        rows = []
        for db in env.databases():
            if db.state != "ONLINE":
                continue
            log_pages = sum(f.size_pages for f in default_files(env.inst, db) if f.type == 1) or 1
            size_mb = log_pages / 128.0
            used = max(0, db.end_of_log_lsn - db.log_truncation_lsn)
            pct = min(100.0, 100.0 * used / (log_pages * 8192) + 0.5)
            rows.append((db.name, round(size_mb, 6), round(pct, 6), 0))
        cols = [Column("Database Name", SqlType("nvarchar", 128), False), Column("Log Size (MB)", SqlType("real"), False),
                Column("Log Space Used (%)", SqlType("real"), False), Column("Status", _INT, False)]
        return [ResultSet(cols, rows)]

    def _do_checkdb(self, env: ExecEnv) -> list[Outcome]:
        name = self.args[0] if self.args else env.session.database
        db = env.find_db(name)
        if db is None:
            raise sql_error(911, name)
        if self.quiet:
            return []
        return [Message(8989, f"CHECKDB found 0 allocation errors and 0 consistency errors in database '{db.name}'.",
                        10)]

    def _do_freeproccache(self, env: ExecEnv) -> list[Outcome]:
        self._require_sysadmin(env)
        return []

    _do_dropcleanbuffers = _do_freeproccache
    _do_freesystemcache = _do_freeproccache


def parse_dbcc(cur: Cursor) -> DbccCommand:
    cur.expect_word("DBCC")
    name = cur.name(allow_reserved=True).upper()
    cmd = DbccCommand(name)
    if cur.accept_punct("("):
        while not cur.accept_punct(")"):
            t = cur.next()
            if t.is_punct(","):
                continue
            if t.is_punct("-"):
                nxt = cur.next()
                if nxt.kind != NUM:
                    raise sql_error(102, nxt.text)
                cmd.args.append("-" + nxt.text)
            else:
                cmd.args.append(t.text)
    if cur.accept_word("WITH"):
        cmd.options = [o.name for o in parse_flat_options(cur)]
    return cmd
