"""GRANT/DENY/REVOKE, RECONFIGURE, CHECKPOINT, KILL and the data-modification statements."""

from __future__ import annotations

from dataclasses import dataclass

from ...tds.backend import Outcome
from ..catalog import find_view
from ..context import ExecEnv
from ..errors import sql_error
from ..lexer import Cursor, at_statement_end
from .base import Command, require_sysadmin, unsupported


@dataclass
class PermissionCommand(Command):
    verb: str
    principals: list[str]

    def execute(self, env: ExecEnv) -> list[Outcome]:
        require_sysadmin(env)
        return []


def parse_permission(cur: Cursor) -> PermissionCommand:
    verb = cur.next().upper
    depth = 0
    while True:
        t = cur.peek()
        if t is None:
            raise cur.error()
        if depth == 0 and (t.is_word("TO") or (verb == "REVOKE" and t.is_word("FROM"))):
            cur.next()
            break
        if t.is_punct("("):
            depth += 1
        elif t.is_punct(")"):
            depth -= 1
        cur.next()
    principals = [cur.name(allow_reserved=True)]
    while cur.accept_punct(","):
        principals.append(cur.name(allow_reserved=True))
    cur.accept_word("WITH", "GRANT", "OPTION")
    cur.accept_word("CASCADE")
    if cur.accept_word("AS"):
        cur.name(allow_reserved=True)
    return PermissionCommand(verb, principals)


@dataclass
class SimpleCommand(Command):
    verb: str
    arg: int | None = None

    def execute(self, env: ExecEnv) -> list[Outcome]:
        if self.verb == "RECONFIGURE":
            require_sysadmin(env)
            for opt in env.state.config.values():
                opt.value_in_use = opt.value
        elif self.verb == "KILL":
            require_sysadmin(env)
            if self.arg == env.session.spid:
                raise sql_error(6104)
            if self.arg not in env.state.sessions:
                raise sql_error(6106, self.arg)
            raise unsupported("KILL")
        elif self.verb == "SHUTDOWN":
            raise unsupported("SHUTDOWN")
        return []


def parse_simple(cur: Cursor) -> SimpleCommand:
    verb = cur.next().upper
    cmd = SimpleCommand(verb)
    if verb == "RECONFIGURE":
        cur.accept_word("WITH", "OVERRIDE")
    elif verb == "CHECKPOINT":
        t = cur.peek()
        if t is not None and t.kind == "NUM":
            cur.next()
    elif verb == "KILL":
        cmd.arg = cur.integer()
    elif verb == "SHUTDOWN":
        cur.accept_word("WITH", "NOWAIT")
    return cmd


@dataclass
class DmlCommand(Command):
    verb: str
    target: list[str]

    def execute(self, env: ExecEnv) -> list[Outcome]:
        name = self.target[-1] if self.target else ""
        schema = self.target[-2] if len(self.target) > 1 else "dbo"
        if find_view(schema or "dbo", name) is not None:
            raise sql_error(259)
        raise sql_error(208, ".".join(self.target))


def parse_dml(cur: Cursor) -> DmlCommand:
    verb = cur.next().upper
    if verb == "INSERT":
        cur.accept_word("INTO")
    elif verb == "DELETE":
        cur.accept_word("FROM")
    elif verb == "TRUNCATE":
        cur.expect_word("TABLE")
    elif verb == "MERGE":
        cur.accept_word("INTO")
    t = cur.peek()
    target: list[str] = []
    if t is not None and (t.is_name or t.kind == "VAR"):
        target = [cur.next().text] if t.kind == "VAR" else cur.qualified_name()
    depth = 0
    while not cur.at_end:
        t = cur.peek()
        if depth == 0 and at_statement_end(cur) and not (t is not None and t.is_word("SELECT", "SET", "WITH")):
            break
        if t is not None and t.is_punct(";") and depth == 0:
            break
        if t is not None and t.is_punct("("):
            depth += 1
        elif t is not None and t.is_punct(")"):
            depth -= 1
        cur.next()
    return DmlCommand(verb, target)
