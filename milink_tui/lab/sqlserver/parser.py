"""Splits a T-SQL batch into statements (T-SQL needs no semicolons) and parses control flow.

SELECT statements and expressions are kept as source text for the query engine; DDL and other
commands are parsed by the grammars in :mod:`ddl`. The whole batch is parsed before anything
runs, so a syntax error anywhere means nothing executes -- as on SQL Server.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .ddl import Command, parse_command
from .ddl.base import unsupported
from .errors import sql_error, syntax_error
from .lexer import (
    HEX,
    NSTR,
    NUM,
    PLACEHOLDER,
    QID,
    STR,
    SYSVAR,
    VAR,
    WORD,
    Cursor,
    Token,
    at_statement_end,
    is_statement_start,
    near_text,
    tokenize,
)


@dataclass
class Stmt:
    line: int


@dataclass
class QueryStmt(Stmt):
    text: str


@dataclass
class DeclareItem:
    name: str
    type_text: str
    init: str | None


@dataclass
class DeclareStmt(Stmt):
    items: list[DeclareItem]


@dataclass
class SetVarStmt(Stmt):
    name: str
    op: str  # '' for '=', else the compound operator ('+', '-', ...)
    expr: str


@dataclass
class SetOptionStmt(Stmt):
    words: list[Token]


@dataclass
class IfStmt(Stmt):
    cond: str
    then: Stmt
    otherwise: Stmt | None


@dataclass
class WhileStmt(Stmt):
    cond: str
    body: Stmt


@dataclass
class BlockStmt(Stmt):
    body: list[Stmt]


@dataclass
class TryStmt(Stmt):
    body: list[Stmt]
    catch: list[Stmt]


@dataclass
class PrintStmt(Stmt):
    expr: str


@dataclass
class ExecArg:
    name: str | None
    value: list[Token]  # empty = DEFAULT
    output: bool = False


@dataclass
class ExecStmt(Stmt):
    proc: list[str] | None
    dynamic: str | None = None
    args: list[ExecArg] = field(default_factory=list)
    return_var: str | None = None


@dataclass
class UseStmt(Stmt):
    database: str


@dataclass
class CommandStmt(Stmt):
    command: Command


@dataclass
class RaiseErrorStmt(Stmt):
    args: list[str]
    options: list[str]


@dataclass
class ThrowStmt(Stmt):
    args: list[str]


@dataclass
class TranStmt(Stmt):
    action: str


@dataclass
class WaitforStmt(Stmt):
    kind: str
    expr: str


@dataclass
class ReturnStmt(Stmt):
    expr: str | None


@dataclass
class LoopControlStmt(Stmt):
    action: str  # BREAK / CONTINUE


_SET_OPS = {"+", "-", "*", "/", "%", "&", "|", "^"}
_COMMAND_WORDS = {"CREATE", "ALTER", "DROP", "BACKUP", "RESTORE", "DBCC", "GRANT", "DENY", "REVOKE", "RECONFIGURE",
                  "CHECKPOINT", "KILL", "SHUTDOWN", "INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE"}


def replace_placeholders(sql: str) -> tuple[str, int]:
    """Turn ODBC '?' markers into @P1, @P2, ... (positional parameters); returns (sql, count)."""
    tokens = [t for t in tokenize(sql) if t.kind == PLACEHOLDER]
    if not tokens:
        return sql, 0
    out, last = [], 0
    for i, t in enumerate(tokens):
        out.append(sql[last:t.start])
        out.append(f"@P{i + 1}")
        last = t.end + 1
    out.append(sql[last:])
    return "".join(out), len(tokens)


class BatchParser:
    def __init__(self, sql: str, major: int = 99) -> None:
        self.sql = sql
        self.tokens = tokenize(sql)
        for t in self.tokens:
            if t.kind in (WORD, QID) and len(t.text) > 128:
                raise sql_error(103, f"The identifier that starts with '{t.text[:128]}' is too long. Maximum "
                                     "length is 128.", severity=15)
        self.cur = Cursor(self.tokens, sql, major=major)

    # ------------------------------------------------------------------ helpers
    def _text(self, start: int, end: int) -> str:
        return self.sql[self.tokens[start].start:self.tokens[end].end + 1]

    def _scan_expr(self, stop_comma: bool = False, stop_words: tuple[str, ...] = ()) -> str:
        cur = self.cur
        start = cur.pos
        depth = case = 0
        while not cur.at_end:
            t = cur.tokens[cur.pos]
            if depth == 0 and case == 0:
                if t.is_punct(";") or (stop_comma and t.is_punct(",")):
                    break
                if t.kind == WORD and t.upper in stop_words:
                    break
                if cur.pos > start and is_statement_start(cur.tokens, cur.pos):
                    break
            if t.is_punct("("):
                depth += 1
            elif t.is_punct(")"):
                if depth == 0:
                    break
                depth -= 1
            elif t.is_word("CASE"):
                case += 1
            elif t.is_word("END") and case > 0:
                case -= 1
            cur.pos += 1
        if cur.pos == start:
            raise cur.error()
        return self._text(start, cur.pos - 1)

    def _scan_query(self) -> str:
        cur = self.cur
        start = cur.pos
        depth = case = 0
        cte = cur.tokens[start].is_word("WITH")
        main_seen = False
        prev: Token | None = None
        while not cur.at_end:
            t = cur.tokens[cur.pos]
            if depth == 0 and case == 0 and cur.pos > start:
                if t.is_punct(";"):
                    break
                if is_statement_start(cur.tokens, cur.pos):
                    continues = t.is_word("SELECT") and prev is not None and (
                        prev.is_word("UNION", "ALL", "EXCEPT", "INTERSECT") or prev.is_punct("("))
                    if t.is_word("SELECT") and cte and not main_seen:
                        continues = True
                    if not continues:
                        break
                    if t.is_word("SELECT"):
                        main_seen = True
            if t.is_punct("("):
                depth += 1
            elif t.is_punct(")"):
                if depth == 0:
                    raise syntax_error(")")
                depth -= 1
            elif t.is_word("CASE"):
                case += 1
            elif t.is_word("END") and case > 0:
                case -= 1
            prev = t
            cur.pos += 1
        return self._text(start, cur.pos - 1)

    # ------------------------------------------------------------------ statements
    def parse(self) -> list[Stmt]:
        out = []
        first = True
        while not self.cur.at_end:
            if self.cur.accept_punct(";"):
                continue
            out.append(self.statement(first))
            first = False
        return out

    def _end_statement(self) -> None:
        if not at_statement_end(self.cur):
            raise self.cur.error()

    def statement(self, first: bool = False) -> Stmt:  # noqa: C901 - a dispatch on the first keyword
        cur = self.cur
        t = cur.peek()
        assert t is not None
        line = t.line
        if t.is_punct("("):
            return QueryStmt(line, self._scan_query())
        if t.kind != WORD:
            if first and t.kind == QID:
                return self._exec(line, bare=True)
            raise cur.error()
        word = t.upper
        nxt = cur.peek(1)
        if nxt is not None and nxt.is_punct(":") and word not in _COMMAND_WORDS:
            cur.pos += 2  # a GOTO label
            return BlockStmt(line, [])
        if word in ("SELECT", "WITH"):
            if word == "WITH" and not is_statement_start(cur.tokens, cur.pos):
                raise cur.error()
            return QueryStmt(line, self._scan_query())
        if word == "DECLARE":
            return self._declare(line)
        if word == "SET":
            return self._set(line)
        if word == "IF":
            cur.next()
            cond = self._scan_expr()
            then = self._child()
            while cur.accept_punct(";"):
                pass
            otherwise = None
            if cur.accept_word("ELSE"):
                otherwise = self._child()
            return IfStmt(line, cond, then, otherwise)
        if word == "WHILE":
            cur.next()
            cond = self._scan_expr()
            return WhileStmt(line, cond, self._child())
        if word == "BEGIN":
            return self._begin(line)
        if word in ("COMMIT", "ROLLBACK", "SAVE"):
            cur.next()
            cur.accept_word("TRAN") or cur.accept_word("TRANSACTION") or cur.accept_word("WORK")
            t2 = cur.peek()
            if t2 is not None and (t2.kind in (QID, VAR) or (t2.kind == WORD and not at_statement_end(cur))):
                cur.next()
            return TranStmt(line, word)
        if word == "PRINT":
            cur.next()
            return PrintStmt(line, self._scan_expr())
        if word in ("EXEC", "EXECUTE"):
            cur.next()
            return self._exec(line)
        if word == "USE":
            cur.next()
            name = cur.name(allow_reserved=True)
            self._end_statement()
            return UseStmt(line, name)
        if word == "RAISERROR":
            cur.next()
            cur.expect_punct("(")
            args = [self._scan_expr(stop_comma=True)]
            while cur.accept_punct(","):
                args.append(self._scan_expr(stop_comma=True))
            cur.expect_punct(")")
            opts = []
            if cur.accept_word("WITH"):
                opts.append(cur.next().upper)
                while cur.accept_punct(","):
                    opts.append(cur.next().upper)
            return RaiseErrorStmt(line, args, opts)
        if word == "THROW":
            cur.next()
            if at_statement_end(cur):
                return ThrowStmt(line, [])
            args = [self._scan_expr(stop_comma=True)]
            while cur.accept_punct(","):
                args.append(self._scan_expr(stop_comma=True))
            if len(args) != 3:
                raise cur.error()
            return ThrowStmt(line, args)
        if word == "WAITFOR":
            cur.next()
            kind = cur.next().upper
            if kind not in ("DELAY", "TIME"):
                raise syntax_error(kind)
            return WaitforStmt(line, kind, self._scan_expr())
        if word == "RETURN":
            cur.next()
            return ReturnStmt(line, None if at_statement_end(cur) else self._scan_expr())
        if word in ("BREAK", "CONTINUE"):
            cur.next()
            return LoopControlStmt(line, word)
        if word == "GO":
            raise syntax_error(t.text)
        if word in ("OPEN", "CLOSE") and cur.at_word(word, "MASTER", "KEY"):
            return self._command(line)
        if word in _COMMAND_WORDS:
            return self._command(line)
        if word in ("ELSE", "END"):
            raise syntax_error(t.text)
        if word in ("GOTO", "OPEN", "CLOSE", "FETCH", "DEALLOCATE", "BULK", "ENABLE", "DISABLE",
                    "REVERT", "SETUSER", "READTEXT", "WRITETEXT", "UPDATETEXT"):
            raise unsupported(t.text)
        if first:
            return self._exec(line, bare=True)
        raise syntax_error(near_text(self.sql, t))

    def _child(self) -> Stmt:
        cur = self.cur
        while cur.accept_punct(";"):
            pass
        if cur.at_end:
            raise cur.error()
        return self.statement()

    def _command(self, line: int) -> CommandStmt:
        cmd = parse_command(self.cur)
        self._end_statement()
        return CommandStmt(line, cmd)

    def _begin(self, line: int) -> Stmt:
        cur = self.cur
        cur.next()
        if cur.accept_word("TRY"):
            body = self._block_until("TRY")
            cur.expect_word("BEGIN", "CATCH")
            catch = self._block_until("CATCH")
            return TryStmt(line, body, catch)
        if cur.accept_word("TRAN") or cur.accept_word("TRANSACTION") or cur.accept_word("DISTRIBUTED"):
            cur.accept_word("TRAN") or cur.accept_word("TRANSACTION")
            t = cur.peek()
            if t is not None and (t.kind in (QID, VAR) or (t.kind == WORD and not at_statement_end(cur))):
                cur.next()
                if cur.accept_word("WITH", "MARK"):
                    if cur.peek() is not None and cur.peek().kind in (STR, NSTR):  # type: ignore[union-attr]
                        cur.next()
            return TranStmt(line, "BEGIN")
        return BlockStmt(line, self._block_until(None))

    def _block_until(self, suffix: str | None) -> list[Stmt]:
        cur = self.cur
        body: list[Stmt] = []
        while True:
            while cur.accept_punct(";"):
                pass
            if cur.at_end:
                raise cur.error()
            if cur.at_word("END"):
                if suffix is None:
                    cur.next()
                    return body
                if cur.at_word("END", suffix):
                    cur.pos += 2
                    return body
                raise cur.error()
            body.append(self.statement())

    def _declare(self, line: int) -> DeclareStmt:
        cur = self.cur
        cur.next()
        items = []
        while True:
            t = cur.next()
            if t.kind != VAR:
                raise syntax_error(near_text(self.sql, t))
            cur.accept_word("AS")
            type_start = cur.pos
            tt = cur.next()
            if tt.kind != WORD:
                raise syntax_error(near_text(self.sql, tt))
            if tt.upper in ("TABLE", "CURSOR"):
                raise unsupported(f"DECLARE {tt.text}")
            if tt.upper == "DOUBLE":
                cur.accept_word("PRECISION")
            if cur.at_punct("("):
                while not cur.accept_punct(")"):
                    cur.next()
            type_text = self._text(type_start, cur.pos - 1)
            init = None
            if cur.accept_punct("="):
                init = self._scan_expr(stop_comma=True)
            items.append(DeclareItem(t.text, type_text, init))
            if not cur.accept_punct(","):
                break
        self._end_statement()
        return DeclareStmt(line, items)

    def _set(self, line: int) -> Stmt:
        cur = self.cur
        cur.next()
        t = cur.peek()
        if t is None:
            raise cur.error()
        if t.kind == VAR:
            cur.next()
            op = ""
            nxt = cur.peek()
            if nxt is not None and nxt.kind == "PUNCT" and nxt.text in _SET_OPS and cur.peek(1) is not None \
                    and cur.peek(1).is_punct("="):  # type: ignore[union-attr]
                op = nxt.text
                cur.pos += 1
            cur.expect_punct("=")
            return SetVarStmt(line, t.text, op, self._scan_expr())
        words = []
        while not at_statement_end(cur):
            words.append(cur.next())
        if not words:
            raise cur.error()
        return SetOptionStmt(line, words)

    def _exec(self, line: int, bare: bool = False) -> ExecStmt:
        cur = self.cur
        if not bare and cur.at_punct("("):
            cur.next()
            text = self._scan_expr()
            cur.expect_punct(")")
            if cur.accept_word("AS"):
                raise unsupported("EXECUTE AS")
            if cur.accept_word("AT"):
                raise unsupported("EXECUTE AT")
            return ExecStmt(line, None, dynamic=text)
        if not bare and cur.at_word("AS"):
            raise unsupported("EXECUTE AS")
        return_var = None
        t = cur.peek()
        if t is not None and t.kind == VAR and cur.peek(1) is not None and cur.peek(1).is_punct("="):  # type: ignore[union-attr]
            return_var = t.text
            cur.pos += 2
        t = cur.peek()
        if t is not None and t.kind == VAR:
            raise unsupported("EXECUTE @procedure_variable")
        parts = cur.qualified_name()
        stmt = ExecStmt(line, parts, return_var=return_var)
        if at_statement_end(cur):
            return stmt
        while True:
            stmt.args.append(self._exec_arg())
            if not cur.accept_punct(","):
                break
        self._end_statement()
        return stmt

    def _exec_arg(self) -> ExecArg:
        cur = self.cur
        name = None
        t = cur.peek()
        if t is not None and t.kind == VAR and cur.peek(1) is not None and cur.peek(1).is_punct("="):  # type: ignore[union-attr]
            name = t.text
            cur.pos += 2
        t = cur.next()
        value: list[Token]
        if t.is_punct("-") or t.is_punct("+"):
            n = cur.next()
            if n.kind != NUM:
                raise syntax_error(near_text(self.sql, n))
            value = [t, n]
        elif t.kind in (STR, NSTR, NUM, HEX, VAR, SYSVAR, QID):
            value = [t]
        elif t.kind == WORD:
            value = [] if t.upper == "DEFAULT" else [t]
        else:
            raise syntax_error(near_text(self.sql, t))
        output = cur.accept_word("OUTPUT") or cur.accept_word("OUT")
        return ExecArg(name, value, output)


def parse_batch(sql: str, major: int = 99) -> list[Stmt]:
    return BatchParser(sql, major).parse()


def split_batches(script: str) -> list[str]:
    """Split a script on GO lines the way sqlcmd/SSMS do (GO is a client command, not T-SQL)."""
    batches, current = [], []
    for line in script.splitlines():
        stripped = line.strip()
        if stripped.upper() == "GO" or (stripped.upper().startswith("GO ") and stripped[3:].strip().isdigit()):
            repeat = int(stripped[3:].strip()) if stripped.upper().startswith("GO ") else 1
            text = "\n".join(current).strip()
            if text:
                batches.extend([text] * repeat)
            current = []
        else:
            current.append(line)
    text = "\n".join(current).strip()
    if text:
        batches.append(text)
    return batches
