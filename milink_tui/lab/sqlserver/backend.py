"""SqlServerBackend: the simulated SQL Server instance behind the TDS front end.

One backend per simulated instance; it owns an in-memory SQLite connection for the catalog
views, the engine-private server state and the sessions. Every ``execute``/``call`` is one
client round trip and is counted on the World (``tds:<instance>``).
"""

from __future__ import annotations

import itertools
import sqlite3
from typing import Any

from ..hooks import LinkOps
from ..model import SqlInstance, World
from ..tds.backend import DropConnection, Outcome, Param, ReturnStatus, Session, SqlError
from .context import ExecEnv, ServerState, SqlSession, state_for
from .engine import QueryEngine
from .errors import TsqlError, sql_error
from .interpreter import Interpreter, report
from .lexer import Cursor, tokenize
from .parser import replace_placeholders
from .sqltypes import coerce, python_type_of
from .tables import TableStore


class SqlServerBackend:
    """Answers logins, batches and RPCs for ``world.sql_instances[instance_name]``."""

    def __init__(self, world: World, instance_name: str, ops: LinkOps) -> None:
        self.world = world
        self.instance_name = instance_name
        self.ops = ops
        self.conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self.tables = TableStore(self.conn)
        self.engine = QueryEngine(self.conn, self.tables)
        self.interpreter = Interpreter(self.engine)
        self._transactions = itertools.count(1)

    # ------------------------------------------------------------------ identity
    @property
    def instance(self) -> SqlInstance:
        return self.world.sql_instances[self.instance_name]

    @property
    def state(self) -> ServerState:
        """Engine-private state of the current instance object (a scenario swap replaces the instance)."""
        return state_for(self.world, self.instance)

    @property
    def server_name(self) -> str:
        return self.instance.name

    @property
    def version(self) -> tuple[int, int, int, int]:
        parts = [int(p) for p in self.instance.version.split(".")[:4]]
        parts += [0] * (4 - len(parts))
        return parts[0], parts[1], parts[2], parts[3]

    # ------------------------------------------------------------------ sessions
    def login(self, user: str, password: str, database: str | None, app_name: str) -> SqlSession:
        with self.world.lock:
            inst = self.instance
            login = next((lg for name, lg in inst.logins.items() if name.lower() == user.lower()), None)
            if login is None or login.password != password or login.disabled:
                raise SqlError(18456, f"Login failed for user '{user}'.", 14, 1)
            env = ExecEnv(self.world, inst, self.state, SqlSession(login.name, "master"), self.ops)
            db_name = "master"
            if database:
                db = env.find_db(database)
                if db is None or db.state not in ("ONLINE",):
                    raise SqlError(4060, f'Cannot open database "{database}" requested by the login. The login '
                                         "failed.", 11, 1)
                db_name = db.name
            now = self.world.clock.now()
            session = SqlSession(login=login.name, database=db_name, default_database=db_name,
                                 app_name=app_name or "", login_time=now, last_request_start=now)
            self.state.sessions[session.spid] = session
            return session

    def reset(self, session: Session) -> None:
        s = _session(session)
        s.database = s.default_database
        s.options.clear()
        s.trancount = 0
        s.context_info = None
        s.rowcount = 0
        s.error = 0

    def _env(self, session: Session) -> ExecEnv:
        s = _session(session)
        self.state.sessions.setdefault(s.spid, s)
        s.last_request_start = self.world.clock.now()
        return ExecEnv(self.world, self.instance, self.state, s, self.ops)

    # ------------------------------------------------------------------ requests
    async def execute(self, session: Session, sql: str, params: list[Param]) -> list[Outcome]:
        """Run a batch; errors come back as ERROR messages after whatever ran before them."""
        self.world.count(f"tds:{self.instance.name}")
        if self.world.faults.tds_drop_next > 0:  # control API: drop the next N requests' connections
            self.world.faults.tds_drop_next -= 1
            raise DropConnection()
        env = self._env(session)
        out: list[Outcome] = []
        try:
            sql = self._bind(env, sql, params)
        except TsqlError as err:
            report(env, err, out)
            return out
        await self.interpreter.run_batch(env, sql, out)
        env.session.last_request_end = self.world.clock.now()
        return out

    def _bind(self, env: ExecEnv, sql: str, params: list[Param]) -> str:
        if not params:
            return sql
        sql, count = replace_placeholders(sql)
        for i, p in enumerate(params):
            name = f"@P{i + 1}" if count or not p.name else (p.name if p.name.startswith("@") else "@" + p.name)
            t = p.type or python_type_of(p.value)
            value = p.value
            if value is not None and p.type is not None:
                value = coerce(value, p.type, python_type_of(value), strict=False)
                value = p.value if value is None else value
            env.variables[name.lower()] = (t, value)
        return sql

    async def call(self, session: Session, procedure: str, params: list[Param]) -> list[Outcome]:
        """An RPC by procedure name; unknown procedures raise 2812 (state 62)."""
        self.world.count(f"tds:{self.instance.name}")
        env = self._env(session)
        tokens = tokenize(procedure)
        try:
            parts = Cursor(tokens, procedure).qualified_name() if tokens else [procedure]
        except TsqlError:
            raise sql_error(2812, procedure) from None
        out: list[Outcome] = []
        args: list[tuple[str | None, Any]] = [(p.name or None, p.value) for p in params]
        if parts[-1].lower() == "sp_executesql":
            await self._rpc_executesql(env, args, out)
            out.append(ReturnStatus(0 if env.session.error == 0 else 1))
            return out
        outcomes, status = self.interpreter.call_procedure(env, parts, args)
        out.extend(outcomes)
        out.append(ReturnStatus(status))
        env.session.last_request_end = self.world.clock.now()
        return out

    async def _rpc_executesql(self, env: ExecEnv, args: list[tuple[str | None, Any]], out: list[Outcome]) -> None:
        from .interpreter import parse_param_definitions

        positional = [v for n, v in args if not n]
        named = {n.lower(): v for n, v in args if n}
        sql = named.pop("@stmt", named.pop("@statement", positional.pop(0) if positional else ""))
        definitions = parse_param_definitions(str(named.pop("@params", positional.pop(0) if positional else "")
                                                  or ""))
        values = {}
        for i, (name, ptype, _) in enumerate(definitions):
            value = named.get(name.lower(), positional[i] if i < len(positional) else None)
            values[name.lower()] = (ptype, coerce(value, ptype, python_type_of(value)) if value is not None else None)
        env.session.error = 0
        try:
            await self.interpreter.run_nested(env, str(sql or ""), values, out)
        except TsqlError as err:
            report(env, err, out)

    # ------------------------------------------------------------------ transactions
    def begin(self, session: Session) -> int:
        s = _session(session)
        s.trancount += 1
        return next(self._transactions)

    def commit(self, session: Session) -> None:
        s = _session(session)
        s.trancount = max(0, s.trancount - 1)

    def rollback(self, session: Session) -> None:
        _session(session).trancount = 0


def _session(session: Session) -> SqlSession:
    if not isinstance(session, SqlSession):
        raise TypeError("session was not created by this backend's login()")
    return session
