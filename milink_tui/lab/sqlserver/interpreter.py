"""Runs a parsed batch: variables, IF/WHILE/TRY-CATCH, PRINT/RAISERROR, EXEC, and error semantics.

T-SQL keeps going after most statement errors (the error is reported and the next statement
runs), while compile-time errors such as 208 end the batch; TRY...CATCH turns errors into a
jump. Expressions are evaluated by the query engine as ``SELECT <expr>`` so they get exactly
the same functions and types as queries.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..tds.backend import Message, Outcome, ResultSet, SqlType
from .context import ExecEnv
from .errors import TsqlError, sql_error
from .lexer import HEX, NUM, SYSVAR, VAR, WORD, tokenize
from .parser import (
    BlockStmt,
    CommandStmt,
    DeclareStmt,
    ExecArg,
    ExecStmt,
    IfStmt,
    LoopControlStmt,
    PrintStmt,
    QueryStmt,
    RaiseErrorStmt,
    ReturnStmt,
    SetOptionStmt,
    SetVarStmt,
    Stmt,
    ThrowStmt,
    TranStmt,
    TryStmt,
    UseStmt,
    WaitforStmt,
    WhileStmt,
    parse_batch,
)
from .procedures import bind, lookup
from .sqltypes import coerce, parse_type, python_type_of, to_text

if TYPE_CHECKING:
    from .engine import QueryEngine

MAX_LOOP = 100_000


class BatchAbort(Exception):
    """The rest of the batch does not run (the error has been reported)."""


class _Return(Exception):
    pass


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


def report(env: ExecEnv, err: TsqlError, out: list[Outcome]) -> None:
    out.append(err.message)
    for extra in err.extra:
        out.append(extra.message)
    env.session.error = err.number


class Interpreter:
    def __init__(self, engine: QueryEngine) -> None:
        self.engine = engine
        self._batches: OrderedDict[tuple[str, int], list[Stmt]] = OrderedDict()  # parsed batches (immutable)

    # ------------------------------------------------------------------ entry points
    async def run_batch(self, env: ExecEnv, sql: str, out: list[Outcome]) -> None:
        """Parse and run one batch, appending outcomes; errors are reported, never raised."""
        try:
            stmts = self.compile(env, sql)
            await self.exec_list(env, stmts, out, in_try=False)
        except TsqlError as err:
            report(env, err, out)
        except (BatchAbort, _Return):
            pass
        except (_Break, _Continue):
            report(env, sql_error(135, "Cannot use a BREAK statement outside the scope of a WHILE statement."),
                   out)

    def compile(self, env: ExecEnv, sql: str) -> list[Stmt]:
        key = (sql, env.major)
        stmts = self._batches.get(key)
        if stmts is None:
            stmts = self._parse(env, sql)
            self._batches[key] = stmts
            if len(self._batches) > 256:
                self._batches.popitem(last=False)
        else:
            self._batches.move_to_end(key)
        for s in _walk(stmts):
            if isinstance(s, DeclareStmt):
                for item in s.items:
                    if item.name.lower() in env.variables:
                        raise sql_error(134, item.name)
        return stmts

    def _parse(self, env: ExecEnv, sql: str) -> list[Stmt]:
        from .engine import parse_sql

        stmts = parse_batch(sql, env.major)
        declared: set[str] = set()
        for s in _walk(stmts):
            if isinstance(s, DeclareStmt):
                for item in s.items:
                    key = item.name.lower()
                    if key in declared:
                        raise sql_error(134, item.name)
                    declared.add(key)
                    parse_type(item.type_text)
                    if item.init:
                        parse_sql("SELECT " + item.init)
            elif isinstance(s, QueryStmt):
                parse_sql(s.text)
            elif isinstance(s, (SetVarStmt, PrintStmt)):
                parse_sql("SELECT " + s.expr)
            elif isinstance(s, (IfStmt, WhileStmt)):
                parse_sql(f"SELECT CASE WHEN {s.cond} THEN 1 ELSE 0 END")
        return stmts

    # ------------------------------------------------------------------ execution
    async def exec_list(self, env: ExecEnv, stmts: list[Stmt], out: list[Outcome], in_try: bool) -> None:
        for stmt in stmts:
            try:
                await self.exec_stmt(env, stmt, out, in_try)
            except TsqlError as err:
                if err.message.line == 1 and stmt.line > 1:
                    err.message.line = stmt.line
                    for extra in err.extra:
                        extra.message.line = stmt.line
                if in_try:
                    raise
                report(env, err, out)
                if err.batch_abort:
                    raise BatchAbort from None
            else:
                if not isinstance(stmt, (BlockStmt, IfStmt, WhileStmt, TryStmt)):
                    env.session.error = 0

    async def exec_stmt(self, env: ExecEnv, stmt: Stmt, out: list[Outcome], in_try: bool) -> None:  # noqa: C901
        env.now_cache = None
        if isinstance(stmt, BlockStmt):
            await self.exec_list(env, stmt.body, out, in_try)
        elif isinstance(stmt, IfStmt):
            if self.condition(env, stmt.cond):
                await self.exec_stmt(env, stmt.then, out, in_try)
            elif stmt.otherwise is not None:
                await self.exec_stmt(env, stmt.otherwise, out, in_try)
        elif isinstance(stmt, WhileStmt):
            await self._while(env, stmt, out, in_try)
        elif isinstance(stmt, TryStmt):
            await self._try(env, stmt, out, in_try)
        elif isinstance(stmt, QueryStmt):
            with env.world.lock:
                self.query(env, stmt.text, out)
        elif isinstance(stmt, DeclareStmt):
            for item in stmt.items:
                t = parse_type(item.type_text)
                value = None
                if item.init is not None:
                    v, vt = self.evaluate(env, item.init)
                    value = coerce(v, t, vt)
                env.variables[item.name.lower()] = (t, value)
        elif isinstance(stmt, SetVarStmt):
            self._set_var(env, stmt)
        elif isinstance(stmt, SetOptionStmt):
            self._set_option(env, stmt)
        elif isinstance(stmt, PrintStmt):
            value, vt = self.evaluate(env, stmt.expr)
            out.append(Message(0, "" if value is None else to_text(value, vt), 0))
        elif isinstance(stmt, ExecStmt):
            await self._exec(env, stmt, out)
        elif isinstance(stmt, UseStmt):
            self._use(env, stmt.database)
        elif isinstance(stmt, CommandStmt):
            with env.world.lock:
                out.extend(stmt.command.execute(env))
        elif isinstance(stmt, RaiseErrorStmt):
            self._raiserror(env, stmt, out)
        elif isinstance(stmt, ThrowStmt):
            self._throw(env, stmt)
        elif isinstance(stmt, TranStmt):
            self._tran(env, stmt.action)
        elif isinstance(stmt, WaitforStmt):
            await self._waitfor(env, stmt)
        elif isinstance(stmt, ReturnStmt):
            raise _Return
        elif isinstance(stmt, LoopControlStmt):
            raise _Break if stmt.action == "BREAK" else _Continue
        else:  # pragma: no cover - every parsed statement type is handled above
            raise sql_error(102, type(stmt).__name__)

    # ------------------------------------------------------------------ queries and expressions
    def query(self, env: ExecEnv, text: str, out: list[Outcome]) -> None:
        plan = self.engine.plan(env, text)
        columns, rows = self.engine.run(env, plan)
        env.session.rowcount = len(rows)
        if plan.assign is not None:
            if rows:
                last = rows[-1]
                for i, name in enumerate(plan.assign):
                    t = env.variables[name][0]
                    env.variables[name] = (t, coerce(last[i], t, columns[i].type))
            return
        out.append(ResultSet(columns, rows))

    def evaluate(self, env: ExecEnv, expr: str) -> tuple[Any, SqlType | None]:
        with env.world.lock:
            plan = self.engine.plan(env, "SELECT " + expr)
            columns, rows = self.engine.run(env, plan)
        return (rows[0][0] if rows else None), columns[0].type

    def condition(self, env: ExecEnv, cond: str) -> bool:
        value, _ = self.evaluate(env, f"CASE WHEN {cond} THEN 1 ELSE 0 END")
        return value == 1

    # ------------------------------------------------------------------ statements
    async def _while(self, env: ExecEnv, stmt: WhileStmt, out: list[Outcome], in_try: bool) -> None:
        for _ in range(MAX_LOOP):
            if not self.condition(env, stmt.cond):
                return
            try:
                await self.exec_stmt(env, stmt.body, out, in_try)
            except _Break:
                return
            except _Continue:
                continue
            await asyncio.sleep(0)
        raise TsqlError(50000, "The lab stopped a WHILE loop after 100000 iterations.", 16, 1, batch_abort=True)

    async def _try(self, env: ExecEnv, stmt: TryStmt, out: list[Outcome], in_try: bool) -> None:
        try:
            await self.exec_list(env, stmt.body, out, in_try=True)
        except TsqlError as err:
            if err.message.severity >= 20:
                raise
            previous = env.current_error
            env.current_error = _ErrorInfo(err)
            try:
                await self.exec_list(env, stmt.catch, out, in_try)
            finally:
                env.current_error = previous

    def _set_var(self, env: ExecEnv, stmt: SetVarStmt) -> None:
        key = stmt.name.lower()
        if key not in env.variables:
            raise sql_error(137, stmt.name)
        t = env.variables[key][0]
        expr = f"{stmt.name} {stmt.op} ({stmt.expr})" if stmt.op else stmt.expr
        value, vt = self.evaluate(env, expr)
        env.variables[key] = (t, coerce(value, t, vt))

    def _set_option(self, env: ExecEnv, stmt: SetOptionStmt) -> None:
        words = stmt.words
        names = [w.text.upper() for w in words]
        opts = env.session.options
        if names[0] in ("LOCK_TIMEOUT", "TEXTSIZE", "ROWCOUNT", "DEADLOCK_PRIORITY", "DATEFIRST", "QUERY_GOVERNOR_COST_LIMIT"):
            if len(words) < 2:
                raise sql_error(102, words[0].text)
            value_tok = words[-1]
            if value_tok.kind == VAR:
                value: Any = env.variables.get(value_tok.text.lower(), (None, None))[1]
            else:
                text = "".join(w.text for w in words[1:])
                value = int(text) if re.fullmatch(r"-?\d+", text) else text.upper()
            opts[names[0]] = value
            return
        if names[0] == "CONTEXT_INFO":
            tok = words[-1]
            env.session.context_info = bytes.fromhex(tok.text) if tok.kind == HEX else None
            return
        if names[0] == "TRANSACTION":
            opts["TRANSACTION ISOLATION LEVEL"] = " ".join(names[3:])
            return
        if names[0] in ("LANGUAGE", "DATEFORMAT"):
            opts[names[0]] = words[-1].text
            return
        if names[-1] not in ("ON", "OFF"):
            raise sql_error(102, words[-1].text)
        for w in words[:-1]:
            if w.text != ",":
                opts[w.text.upper()] = names[-1] == "ON"

    def _use(self, env: ExecEnv, name: str) -> None:
        db = env.find_db(name)
        if db is None:
            raise sql_error(911, name)
        if db.state == "OFFLINE":
            raise TsqlError(942, f"Database '{db.name}' cannot be opened because it is offline.", 14, 4)
        if db.state == "RESTORING":
            raise TsqlError(927, f"Database '{db.name}' cannot be opened. It is in the middle of a restore.", 14, 2)
        env.session.database = db.name

    def _raiserror(self, env: ExecEnv, stmt: RaiseErrorStmt, out: list[Outcome]) -> None:
        values = [self.evaluate(env, a)[0] for a in stmt.args]
        if len(values) < 3:
            raise sql_error(102, ")")
        msg, severity, state = values[0], int(values[1] or 0), int(values[2] or 0)
        number = 50000
        if isinstance(msg, int) and not isinstance(msg, bool):
            number = msg
            text = (f"Error {msg}, severity {severity}, state {state} was raised, but no message with that error "
                    "number was found in sys.messages. If error is larger than 50000, make sure the user-defined "
                    "message is added using sp_addmessage.")
            number = 18054 if msg >= 50000 else msg
        else:
            text = format_message(to_text(msg) if msg is not None else "", values[3:])
        if severity <= 10:
            out.append(Message(number, text, severity, max(state, 1)))
            return
        raise TsqlError(number, text, min(severity, 25), max(state, 1), batch_abort=False)

    def _throw(self, env: ExecEnv, stmt: ThrowStmt) -> None:
        if not stmt.args:
            if env.current_error is None:
                raise TsqlError(10704, "To rethrow an error, a THROW statement must be used inside a CATCH block. "
                                       "Insert the THROW statement inside a CATCH block, or add error parameters to "
                                       "the THROW statement.", 15, 1, batch_abort=True)
            err = env.current_error.error
            raise TsqlError(err.number, err.message.text, err.message.severity, err.message.state, batch_abort=True)
        number, text, state = (self.evaluate(env, a)[0] for a in stmt.args)
        if not isinstance(number, int) or number < 50000:
            raise TsqlError(35100, f"Error number {number} in the THROW statement is outside the valid range. Specify "
                                   "an error number in the valid range of 50000 to 2147483647.", 16, 10)
        raise TsqlError(number, to_text(text), 16, int(state or 1), batch_abort=True)

    def _tran(self, env: ExecEnv, action: str) -> None:
        s = env.session
        if action == "BEGIN":
            s.trancount += 1
        elif action == "COMMIT":
            if s.trancount == 0:
                raise TsqlError(3902, "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION.", 16, 1)
            s.trancount -= 1
        elif action == "ROLLBACK":
            if s.trancount == 0:
                raise TsqlError(3903, "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.",
                                16, 1)
            s.trancount = 0

    async def _waitfor(self, env: ExecEnv, stmt: WaitforStmt) -> None:
        value, _ = self.evaluate(env, stmt.expr)
        text = to_text(value) if value is not None else ""
        m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?\s*", text)
        if m is None:
            raise TsqlError(148, f"Incorrect time syntax in time string '{text}' used with WAITFOR.", 15, 1)
        seconds = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3) or 0) + \
            int((m.group(4) or "0").ljust(3, "0")) / 1000
        clock = env.world.clock
        if stmt.kind == "TIME":
            now = clock.now()
            target = now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() + seconds
            seconds = (target - now.timestamp()) % 86400
        await asyncio.sleep(seconds / max(clock.speed, 1e-6))

    # ------------------------------------------------------------------ EXEC
    def arg_value(self, env: ExecEnv, arg: ExecArg) -> Any:
        if not arg.value:
            return Ellipsis  # DEFAULT
        tok = arg.value[-1]
        if len(arg.value) == 2:
            v = _number(tok.text)
            return -v if arg.value[0].text == "-" else v
        if tok.kind == VAR:
            entry = env.variables.get(tok.text.lower())
            if entry is None:
                raise sql_error(137, tok.text)
            return entry[1]
        if tok.kind == SYSVAR:
            from .functions import GLOBALS

            g = GLOBALS.get(tok.text.upper())
            if g is None:
                raise sql_error(137, tok.text)
            return g[1](env)
        if tok.kind == NUM:
            return _number(tok.text)
        if tok.kind == HEX:
            return bytes.fromhex(tok.text)
        if tok.kind == WORD and tok.upper == "NULL":
            return None
        return tok.text  # strings, quoted and bare identifiers

    async def _exec(self, env: ExecEnv, stmt: ExecStmt, out: list[Outcome]) -> None:
        if stmt.dynamic is not None:
            sql, _ = self.evaluate(env, stmt.dynamic)
            await self.run_nested(env, "" if sql is None else to_text(sql), {}, out)
            return
        assert stmt.proc is not None
        name = stmt.proc[-1].lower()
        if name == "sp_executesql" and (len(stmt.proc) == 1 or stmt.proc[-2].lower() in ("sys", "")):
            await self._sp_executesql(env, stmt, out)
            return
        args = [(a.name, self.arg_value(env, a)) for a in stmt.args]
        outputs = {i: a.value[0].text.lower() for i, a in enumerate(stmt.args)
                   if a.output and a.value and a.value[0].kind == VAR}
        outcomes, status = self.call_procedure(env, stmt.proc, args, outputs)
        out.extend(outcomes)
        if stmt.return_var is not None:
            key = stmt.return_var.lower()
            if key not in env.variables:
                raise sql_error(137, stmt.return_var)
            env.variables[key] = (env.variables[key][0], status)

    def call_procedure(self, env: ExecEnv, parts: list[str], args: list[tuple[str | None, Any]],
                       outputs: dict[int, str] | None = None) -> tuple[list[Outcome], int]:
        """Run a procedure; ``outputs`` maps argument positions passed OUTPUT to caller variables."""
        with env.world.lock:
            env.now_cache = None
            p = lookup(env, parts)
            bound = bind(p, args)
            targets = []  # (param, caller variable), checked before the procedure runs
            for i, var in (outputs or {}).items():
                name = args[i][0]
                param = (next((q for q in p.params if q.name.lower() == name.lower()), None) if name
                         else p.params[i] if i < len(p.params) else None)
                if param is None or not param.output:
                    raise TsqlError(8162, f'The formal parameter "{param.name if param else name}" was not '
                                          "declared as an OUTPUT parameter, but the actual parameter passed in "
                                          "requested output.", 16, 2)
                if var not in env.variables:
                    raise sql_error(137, var)
                targets.append((param, var))
            result = p.impl(env, bound)
            for param, var in targets:
                t = env.variables[var][0]
                value = bound.get(param.name)
                env.variables[var] = (t, coerce(value, t, python_type_of(value)) if value is not None else None)
            return result

    async def _sp_executesql(self, env: ExecEnv, stmt: ExecStmt, out: list[Outcome]) -> None:
        args = [(a.name, self.arg_value(env, a), a) for a in stmt.args]
        if not args:
            raise sql_error(201, "sp_executesql", "@statement")
        named = {n.lower(): (v, a) for n, v, a in args if n}
        positional = [(v, a) for n, v, a in args if not n]
        sql_value = named.pop("@stmt", named.pop("@statement", None))
        if sql_value is None:
            sql_value = positional.pop(0) if positional else (None, None)
        params_value = named.pop("@params", None)
        if params_value is None and positional:
            params_value = positional.pop(0)
        definitions = parse_param_definitions(to_text(params_value[0]) if params_value and params_value[0] else "")
        values: dict[str, tuple[SqlType, Any]] = {}
        outputs: list[tuple[str, str]] = []
        for i, (pname, ptype, is_out) in enumerate(definitions):
            entry = named.pop(pname.lower(), None)
            if entry is None and i < len(positional):
                entry = positional[i]
            value = None if entry is None or entry[0] is Ellipsis else entry[0]
            values[pname.lower()] = (ptype, coerce(value, ptype, python_type_of(value)) if value is not None else None)
            if is_out and entry is not None and entry[1].output and entry[1].value and entry[1].value[0].kind == VAR:
                outputs.append((pname.lower(), entry[1].value[0].text.lower()))
        if named:
            raise sql_error(8145, next(iter(named)), "sp_executesql")
        sql = sql_value[0]
        child = await self.run_nested(env, "" if sql is None else to_text(sql), values, out)
        for inner, outer in outputs:
            if outer in env.variables and inner in child.variables:
                t = env.variables[outer][0]
                env.variables[outer] = (t, coerce(child.variables[inner][1], t, child.variables[inner][0]))

    async def run_nested(self, env: ExecEnv, sql: str, variables: dict[str, tuple[SqlType, Any]],
                         out: list[Outcome]) -> ExecEnv:
        """Dynamic SQL: its own batch and variable scope, same session."""
        child = ExecEnv(env.world, env.inst, env.state, env.session, env.ops)
        child.variables = dict(variables)
        child.nest_level = env.nest_level + 1
        child.current_error = env.current_error
        if child.nest_level > 32:
            raise TsqlError(217, "Maximum stored procedure, function, trigger, or view nesting level exceeded "
                                 "(limit 32).", 16, 1)
        stmts = self.compile(child, sql)
        database = env.session.database  # USE inside dynamic SQL only lasts for that batch
        try:
            await self.exec_list(child, stmts, out, in_try=False)
        except (BatchAbort, _Return):
            pass
        finally:
            env.session.database = database
        return child


class _ErrorInfo:
    """What ERROR_NUMBER()/ERROR_MESSAGE()... report inside CATCH."""

    def __init__(self, error: TsqlError) -> None:
        self.error = error
        self.number = error.number
        self.severity = error.message.severity
        self.state = error.message.state
        self.line = error.message.line
        self.text = error.message.text


def _number(text: str) -> Any:
    if re.fullmatch(r"\d+", text):
        return int(text)
    return float(text)


def format_message(template: str, args: list[Any]) -> str:
    """RAISERROR's printf-style substitution (%s %d %i %u %x %ls %.*ls ...)."""
    values = iter(args)

    def sub(m: re.Match[str]) -> str:
        spec = m.group(0)
        if spec == "%%":
            return "%"
        try:
            v = next(values)
        except StopIteration:
            return "(null)"
        conv = spec[-1]
        if conv in "di":
            return str(int(v)) if v is not None else "(null)"
        if conv in "xX":
            return format(int(v), conv) if v is not None else "(null)"
        if conv == "o":
            return format(int(v), "o") if v is not None else "(null)"
        if conv == "u":
            return str(int(v) & 0xFFFFFFFF) if v is not None else "(null)"
        return "(null)" if v is None else to_text(v)

    return re.sub(r"%%|%[-+ #0]*(\d+|\*)?(\.(\d+|\*))?(h|l|I64)?[disuoxXcS]", sub, template)


def parse_param_definitions(text: str) -> list[tuple[str, SqlType, bool]]:
    """'@a int, @b nvarchar(10) OUTPUT' -> [('@a', int, False), ('@b', nvarchar(10), True)]."""
    out: list[tuple[str, SqlType, bool]] = []
    tokens = tokenize(text) if text.strip() else []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.kind != VAR:
            raise sql_error(102, t.text)
        j = i + 1
        if j < len(tokens) and tokens[j].is_word("AS"):
            j += 1
        start = j
        depth = 0
        while j < len(tokens) and not (depth == 0 and (tokens[j].is_punct(",") or tokens[j].is_word(
                "OUTPUT", "OUT", "READONLY") or tokens[j].is_punct("="))):
            if tokens[j].is_punct("("):
                depth += 1
            elif tokens[j].is_punct(")"):
                depth -= 1
            j += 1
        if start == j:
            raise sql_error(102, t.text)
        ptype = parse_type(text[tokens[start].start:tokens[j - 1].end + 1])
        is_out = False
        while j < len(tokens) and not tokens[j].is_punct(","):
            if tokens[j].is_word("OUTPUT", "OUT"):
                is_out = True
            j += 1
        out.append((t.text, ptype, is_out))
        i = j + 1
    return out


def _walk(stmts: Iterable[Stmt]) -> Iterable[Stmt]:
    for s in stmts:
        yield s
        if isinstance(s, BlockStmt):
            yield from _walk(s.body)
        elif isinstance(s, IfStmt):
            yield from _walk([s.then] + ([s.otherwise] if s.otherwise else []))
        elif isinstance(s, WhileStmt):
            yield from _walk([s.body])
        elif isinstance(s, TryStmt):
            yield from _walk(s.body)
            yield from _walk(s.catch)

