"""Shared pieces of the statement grammars: the Command base class, option lists and dispatch."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...tds.backend import Message, Outcome
from ..context import ExecEnv
from ..errors import TsqlError, sql_error
from ..lexer import HEX, NSTR, NUM, QID, STR, VAR, WORD, Cursor, Token, at_statement_end


class Command:
    """A parsed statement that changes the server (or reports on it, like DBCC)."""

    keyword = ""

    def execute(self, env: ExecEnv) -> list[Outcome]:  # pragma: no cover - abstract
        raise NotImplementedError


def require_sysadmin(env: ExecEnv, number: int = 15247) -> None:
    if not env.sysadmin:
        raise sql_error(number)


def info(number: int, text: str) -> Message:
    return Message(number=number, text=text, severity=10 if number else 0)


@dataclass
class Option:
    """NAME [= value tokens] or NAME ( nested options ) inside WITH (...) / FOR ...(...) lists."""

    name: str
    tokens: list[Token] = field(default_factory=list)
    sub: list[Option] | None = None

    @property
    def words(self) -> list[str]:
        return [t.text.upper() if t.kind == WORD else t.text for t in self.tokens]

    @property
    def word(self) -> str:
        return self.words[0] if self.tokens else ""

    def string(self) -> str:
        if len(self.tokens) == 1 and self.tokens[0].kind in (STR, NSTR, QID, WORD):
            return self.tokens[0].text
        raise sql_error(102, self.tokens[0].text if self.tokens else self.name)

    def integer(self) -> int:
        text = "".join(t.text for t in self.tokens)
        try:
            return int(text)
        except ValueError:
            raise sql_error(102, text) from None

    def var(self) -> str | None:
        return self.tokens[0].text if len(self.tokens) == 1 and self.tokens[0].kind == VAR else None


def _value_tokens(cur: Cursor, stop_at_paren: bool) -> list[Token]:
    out: list[Token] = []
    depth = 0
    while True:
        t = cur.peek()
        if t is None:
            break
        if depth == 0 and (t.is_punct(",") or (stop_at_paren and t.is_punct(")"))):
            break
        if depth == 0 and not stop_at_paren and at_statement_end(cur):
            break
        if t.is_punct("("):
            depth += 1
        elif t.is_punct(")"):
            depth -= 1
        out.append(cur.next())
    return out


def parse_option(cur: Cursor, in_parens: bool) -> Option:
    t = cur.peek()
    if t is None or t.kind not in (WORD, QID):
        raise cur.error()
    name = cur.next().text.upper()
    if cur.accept_punct("="):
        tokens = _value_tokens(cur, in_parens)
        if not tokens:
            raise cur.error()
        return Option(name, tokens)
    if cur.at_punct("("):
        cur.next()
        sub = parse_option_list_body(cur)
        return Option(name, [], sub)
    return Option(name)


def parse_option_list_body(cur: Cursor) -> list[Option]:
    """Options after '(' up to and including the matching ')'."""
    out = []
    if cur.accept_punct(")"):
        return out
    while True:
        out.append(parse_option(cur, True))
        if cur.accept_punct(","):
            continue
        cur.expect_punct(")")
        return out


def parse_option_list(cur: Cursor) -> list[Option]:
    cur.expect_punct("(")
    return parse_option_list_body(cur)


def parse_flat_options(cur: Cursor) -> list[Option]:
    """a, b = c, d ... up to the end of the statement (BACKUP ... WITH, DBCC ... WITH)."""
    out = [parse_option(cur, False)]
    while cur.accept_punct(","):
        out.append(parse_option(cur, False))
    return out


def find(options: list[Option] | None, name: str) -> Option | None:
    for o in options or []:
        if o.name == name:
            return o
    return None


def literal_value(tok: Token):
    """The value of a literal token in an option or argument position."""
    if tok.kind in (STR, NSTR, QID):
        return tok.text
    if tok.kind == HEX:
        return bytes.fromhex(tok.text)
    if tok.kind == NUM:
        return int(tok.text) if tok.text.isdigit() else float(tok.text)
    if tok.kind == WORD:
        return None if tok.upper == "NULL" else tok.text
    raise sql_error(102, tok.text)


def parse_command(cur: Cursor) -> Command:
    """Dispatch on the leading keywords; the cursor is positioned at the statement's first word."""
    from . import availability, databases, dbcc, endpoints, misc, security

    first = cur.peek()
    assert first is not None
    word = first.upper
    if word in ("CREATE", "ALTER", "DROP"):
        second = cur.peek(1)
        kind = second.upper if second is not None else ""
        third = cur.peek(2).upper if cur.peek(2) is not None else ""
        if kind == "MASTER" and third == "KEY":
            return security.parse_master_key(cur)
        if kind == "CERTIFICATE":
            return security.parse_certificate(cur)
        if kind == "ENDPOINT":
            return endpoints.parse_endpoint(cur)
        if kind == "DATABASE":
            return databases.parse_database(cur)
        if kind == "AVAILABILITY" and third == "GROUP":
            return availability.parse_availability_group(cur)
        if kind == "LOGIN":
            return security.parse_login(cur)
        if kind == "SERVER" and third == "ROLE":
            return security.parse_server_role(cur)
        raise unsupported(f"{word} {second.text if second else ''}".strip())
    if word in ("OPEN", "CLOSE") and cur.at_word(word, "MASTER", "KEY"):
        return security.parse_open_master_key(cur)
    if word == "BACKUP":
        if cur.at_word("BACKUP", "DATABASE") or cur.at_word("BACKUP", "LOG"):
            return databases.parse_backup(cur)
        raise unsupported("BACKUP " + (cur.peek(1).text if cur.peek(1) else ""))
    if word == "RESTORE":
        return databases.parse_restore(cur)
    if word == "DBCC":
        return dbcc.parse_dbcc(cur)
    if word in ("GRANT", "DENY", "REVOKE"):
        return misc.parse_permission(cur)
    if word in ("RECONFIGURE", "CHECKPOINT", "KILL", "SHUTDOWN"):
        return misc.parse_simple(cur)
    if word in ("INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE"):
        return misc.parse_dml(cur)
    raise unsupported(first.text)


def unsupported(what: str) -> TsqlError:
    return TsqlError(40517, f"Keyword or statement option '{what}' is not supported in this version of SQL "
                            "Server.", 16, 1, batch_abort=True)
