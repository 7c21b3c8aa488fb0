"""Tokens for the batch parser and the DDL grammars, built on sqlglot's T-SQL tokenizer.

sqlglot already knows T-SQL's lexical rules (``[bracket]]s]``, ``N'..''..'``, ``0x..``,
comments); this module regroups its tokens into the few kinds a statement parser needs
(words, quoted identifiers, strings, variables, punctuation) and offers a cursor with the
accept/expect helpers the hand-written grammars use.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot.dialects.tsql import TSQL
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from .errors import RESERVED, TsqlError, sql_error, syntax_error


class _Tokenizer(TSQL.Tokenizer):
    # sqlglot swallows the rest of a statement after a "command" keyword (PRINT, GO, END at the
    # start of a statement); T-SQL needs every token.
    COMMANDS: set = set()


_TOKENIZER = _Tokenizer()

# Token kinds
WORD = "WORD"  # unquoted identifier or keyword
QID = "QID"  # [quoted] or "quoted" identifier
STR = "STR"
NSTR = "NSTR"
HEX = "HEX"
NUM = "NUM"
VAR = "VAR"  # @name
SYSVAR = "SYSVAR"  # @@name
PUNCT = "PUNCT"
PLACEHOLDER = "PLACEHOLDER"  # ?

_LITERAL_TYPES = {TokenType.STRING: STR, TokenType.NATIONAL_STRING: NSTR, TokenType.HEX_STRING: HEX,
                  TokenType.NUMBER: NUM}


@dataclass
class Token:
    kind: str
    text: str  # value: unescaped for strings and quoted identifiers, '@x' for variables
    start: int  # offset of the first character in the batch
    end: int  # offset of the last character
    line: int = 1

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == WORD else ""

    def is_word(self, *words: str) -> bool:
        return self.kind == WORD and self.text.upper() in words

    def is_punct(self, *chars: str) -> bool:
        return self.kind == PUNCT and self.text in chars

    @property
    def is_name(self) -> bool:
        return self.kind in (WORD, QID)


def tokenize(sql: str) -> list[Token]:
    """Split a batch into tokens; an unterminated string is error 105, as on SQL Server."""
    try:
        raw = _TOKENIZER.tokenize(sql)
    except TokenError as exc:
        quote = sql.rfind("'")
        raise sql_error(105, sql[quote + 1:] if quote >= 0 else sql) from exc
    out: list[Token] = []
    i = 0
    while i < len(raw):
        t = raw[i]
        tt = t.token_type
        src = sql[t.start:t.end + 1]
        if tt == TokenType.PARAMETER:
            # '@' name or '@' '@' name (system function); must be adjacent characters
            if i + 2 < len(raw) and raw[i + 1].token_type == TokenType.PARAMETER \
                    and raw[i + 1].start == t.end + 1 and raw[i + 2].start == raw[i + 1].end + 1:
                name = raw[i + 2]
                out.append(Token(SYSVAR, "@@" + name.text, t.start, name.end, t.line))
                i += 3
                continue
            if i + 1 < len(raw) and raw[i + 1].start == t.end + 1 and raw[i + 1].token_type not in (
                    TokenType.STRING, TokenType.NATIONAL_STRING):
                name = raw[i + 1]
                out.append(Token(VAR, "@" + sql[name.start:name.end + 1], t.start, name.end, t.line))
                i += 2
                continue
            out.append(Token(PUNCT, "@", t.start, t.end, t.line))
        elif tt == TokenType.HASH and i + 1 < len(raw) and raw[i + 1].start == t.end + 1:
            # #temp / ##global names
            j = i + 1
            prefix = "#"
            if raw[j].token_type == TokenType.HASH and j + 1 < len(raw) and raw[j + 1].start == raw[j].end + 1:
                prefix, j = "##", j + 1
            out.append(Token(WORD, prefix + raw[j].text, t.start, raw[j].end, t.line))
            i = j + 1
            continue
        elif tt in _LITERAL_TYPES:
            out.append(Token(_LITERAL_TYPES[tt], t.text, t.start, t.end, t.line))
        elif tt == TokenType.IDENTIFIER:
            if src[:1] in ("[", '"'):
                out.append(Token(QID, t.text, t.start, t.end, t.line))
            elif src.lower() == "0x":
                out.append(Token(HEX, "", t.start, t.end, t.line))
            else:
                out.append(Token(WORD, t.text, t.start, t.end, t.line))
        elif tt == TokenType.PLACEHOLDER:
            out.append(Token(PLACEHOLDER, "?", t.start, t.end, t.line))
        elif src[:1].isalpha() or src[:1] in ("_", "$", "#"):
            if " " in src.strip() or "\t" in src or "\n" in src:
                # multi-word keyword tokens (ORDER BY, GROUP BY): split them back into words
                offset = t.start
                for word in src.split():
                    pos = sql.index(word, offset)
                    out.append(Token(WORD, word, pos, pos + len(word) - 1, t.line))
                    offset = pos + len(word)
            else:
                out.append(Token(WORD, src, t.start, t.end, t.line))
        else:
            out.append(Token(PUNCT, src, t.start, t.end, t.line))
        i += 1
    return out


def token_source(sql: str, tok: Token) -> str:
    return sql[tok.start:tok.end + 1]


class Cursor:
    """A position in a token list with the helpers the hand-written grammars need."""

    def __init__(self, tokens: list[Token], sql: str, pos: int = 0, end: int | None = None,
                 major: int = 99) -> None:
        self.tokens = tokens
        self.sql = sql
        self.pos = pos
        self.end = len(tokens) if end is None else end
        self.major = major  # the server's major version: some grammar is version dependent

    # -- looking
    def peek(self, k: int = 0) -> Token | None:
        i = self.pos + k
        return self.tokens[i] if i < self.end else None

    @property
    def at_end(self) -> bool:
        return self.pos >= self.end

    def at_word(self, *words: str) -> bool:
        for k, w in enumerate(words):
            t = self.peek(k)
            if t is None or not t.is_word(w):
                return False
        return True

    def at_punct(self, p: str) -> bool:
        t = self.peek()
        return t is not None and t.is_punct(p)

    # -- consuming
    def next(self) -> Token:
        t = self.peek()
        if t is None:
            raise self.error()
        self.pos += 1
        return t

    def accept_word(self, *words: str) -> bool:
        if self.at_word(*words):
            self.pos += len(words)
            return True
        return False

    def expect_word(self, *words: str) -> None:
        if not self.accept_word(*words):
            raise self.error()

    def accept_punct(self, p: str) -> bool:
        if self.at_punct(p):
            self.pos += 1
            return True
        return False

    def expect_punct(self, p: str) -> None:
        if not self.accept_punct(p):
            raise self.error()

    def name(self, allow_reserved: bool = False) -> str:
        """One identifier part: a word (not a reserved keyword) or a quoted identifier."""
        t = self.peek()
        if t is None or not t.is_name or (t.kind == WORD and not allow_reserved and t.upper in RESERVED):
            raise self.error()
        self.pos += 1
        return t.text

    def qualified_name(self) -> list[str]:
        """a.b.c (parts may be empty as in master..x); returns the parts as written."""
        parts = [self.name()]
        while self.at_punct("."):
            self.pos += 1
            if self.at_punct("."):
                parts.append("")
                continue
            parts.append(self.name(allow_reserved=True))
        return parts

    def string(self) -> str:
        t = self.peek()
        if t is None or t.kind not in (STR, NSTR):
            raise self.error()
        self.pos += 1
        return t.text

    def integer(self) -> int:
        neg = self.accept_punct("-")
        t = self.peek()
        if t is None or t.kind != NUM or not t.text.isdigit():
            raise self.error()
        self.pos += 1
        return -int(t.text) if neg else int(t.text)

    def error(self) -> TsqlError:
        """A syntax error near the current token (or the last one at the end of the batch)."""
        t = self.peek()
        if t is None:
            t = self.tokens[self.end - 1] if self.end > 0 else None
            if t is None:
                return syntax_error("")
        return syntax_error(near_text(self.sql, t))


def near_text(sql: str, tok: Token) -> str:
    """What SQL Server quotes in 'Incorrect syntax near ...': identifiers unquoted, literals as typed."""
    if tok.kind in (WORD, QID):
        return tok.text
    if tok.kind in (STR, NSTR):
        return tok.text
    return token_source(sql, tok)


# Words that begin a new statement when they appear outside parentheses and CASE ... END.
STATEMENT_KEYWORDS = frozenset("""
ALTER BACKUP BEGIN BREAK BULK CHECKPOINT CLOSE COMMIT CONTINUE CREATE DBCC DEALLOCATE DECLARE DELETE
DENY DISABLE DROP ELSE ENABLE END EXEC EXECUTE FETCH GO GOTO GRANT IF INSERT KILL MERGE OPEN PRINT
RAISERROR READTEXT RECONFIGURE RESTORE RETURN REVERT REVOKE ROLLBACK SAVE SELECT SET SETUSER SHUTDOWN
THROW TRUNCATE UPDATE UPDATETEXT USE WAITFOR WHILE WITH WRITETEXT
""".split())


def is_statement_start(tokens: list[Token], i: int) -> bool:
    """Does token ``i`` begin a new statement (T-SQL needs no semicolons)?"""
    t = tokens[i]
    if t.kind != WORD or t.upper not in STATEMENT_KEYWORDS:
        return False
    if t.upper == "WITH":
        # only a CTE: WITH name AS ( ... or WITH name (cols) AS ( ...
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        after = tokens[i + 2] if i + 2 < len(tokens) else None
        return bool(nxt is not None and nxt.is_name and after is not None
                    and (after.is_word("AS") or after.is_punct("(")))
    return True


def at_statement_end(cur: Cursor) -> bool:
    t = cur.peek()
    return t is None or t.is_punct(";") or is_statement_start(cur.tokens, cur.pos)
