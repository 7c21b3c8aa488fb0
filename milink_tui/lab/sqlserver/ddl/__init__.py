"""DDL, BACKUP, DBCC and security statements, executed against the model.

Each statement has a parser (pure syntax, run when the batch is parsed so a syntax error stops
the whole batch like on SQL Server) and an ``execute`` that checks permissions and semantics
and mutates the World, calling the LinkOps hooks where replication must react.
"""

from __future__ import annotations

from .base import Command, parse_command

__all__ = ["Command", "parse_command"]
