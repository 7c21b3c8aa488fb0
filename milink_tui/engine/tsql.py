"""T-SQL quoting: the only way user text reaches a statement milink builds.

Identifiers are bracket-quoted with ``]`` doubled; literals are ``N'...'`` with ``'`` doubled.
Everything else goes through parameters. Kept separate from the lab's parser on purpose: the
lab must not share this code, or tests would agree by construction.
"""

from __future__ import annotations

MAX_IDENTIFIER = 128


class UnsafeName(ValueError):
    """A name SQL Server would reject (empty, too long, or containing a NUL)."""


def quote_name(name: str) -> str:
    """``[name]`` with ``]`` doubled, like QUOTENAME(name, '[')."""
    if not name:
        raise UnsafeName("a name cannot be empty")
    if len(name) > MAX_IDENTIFIER:
        raise UnsafeName(f"a name is at most {MAX_IDENTIFIER} characters (this one has {len(name)})")
    if "\x00" in name:
        raise UnsafeName("a name cannot contain a NUL character")
    return "[" + name.replace("]", "]]") + "]"


def quote_literal(text: str) -> str:
    """``N'text'`` with ``'`` doubled (Unicode literal)."""
    if "\x00" in text:
        raise UnsafeName("text cannot contain a NUL character")
    return "N'" + text.replace("'", "''") + "'"


def quote_binary(data: bytes) -> str:
    """``0x...`` hex literal for certificate blobs."""
    return "0x" + data.hex().upper()
