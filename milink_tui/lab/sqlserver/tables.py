"""The embedded SQLite database that holds the catalog views while a query runs.

A view becomes a SQLite table the first time a query references it (one table per database for
database-scoped views) and is re-filled from the model right before each statement that reads
it, so results are always current and only referenced views cost anything.
"""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..model import Database
from . import agent, render, render_hadr, render_mi
from .catalog import DATABASE, MSDB, SERVER, VIEWS, ViewDef
from .context import ExecEnv
from .errors import sql_error
from .sqltypes import BINARY_TYPES, DATE_TYPES, FLOAT_TYPES, INT_TYPES, STRING_TYPES

RENDERERS: dict[str, Callable[..., Iterable[dict[str, Any]]]] = {
    "sys.databases": render.r_databases,
    "sys.master_files": render.r_master_files,
    "sys.database_files": render.r_database_files,
    "sys.filegroups": render.r_filegroups,
    "sys.tables": render.r_tables,
    "sys.schemas": render.r_schemas,
    "dbo.backupset": render.r_backupset,
    "dbo.backupmediafamily": render.r_backupmediafamily,
    "sys.database_recovery_status": render.r_database_recovery_status,
    "sys.certificates": render.r_certificates,
    "sys.symmetric_keys": render.r_symmetric_keys,
    "sys.endpoints": render.r_endpoints,
    "sys.tcp_endpoints": render.r_tcp_endpoints,
    "sys.database_mirroring_endpoints": render.r_database_mirroring_endpoints,
    "sys.availability_groups": render_hadr.r_availability_groups,
    "sys.availability_groups_cluster": render_hadr.r_availability_groups_cluster,
    "sys.availability_replicas": render_hadr.r_availability_replicas,
    "sys.availability_databases_cluster": render_hadr.r_availability_databases_cluster,
    "sys.dm_hadr_availability_replica_states": render_hadr.r_dm_hadr_availability_replica_states,
    "sys.dm_hadr_database_replica_states": render_hadr.r_dm_hadr_database_replica_states,
    "sys.dm_hadr_availability_group_states": render_hadr.r_dm_hadr_availability_group_states,
    "sys.dm_hadr_automatic_seeding": render_hadr.r_dm_hadr_automatic_seeding,
    "sys.dm_hadr_physical_seeding_stats": render_hadr.r_dm_hadr_physical_seeding_stats,
    "sys.dm_hadr_cluster": render.r_dm_hadr_cluster,
    "sys.dm_os_host_info": render.r_dm_os_host_info,
    "sys.dm_server_services": render.r_dm_server_services,
    "sys.configurations": render.r_configurations,
    "sys.dm_server_registry": render.r_dm_server_registry,
    "sys.system_objects": render.r_system_objects,
    "sys.server_principals": render.r_server_principals,
    "sys.sql_logins": render.r_sql_logins,
    "sys.server_role_members": render.r_server_role_members,
    "sys.dm_database_encryption_keys": render.r_dm_database_encryption_keys,
    "sys.dm_exec_sessions": render.r_dm_exec_sessions,
    **agent.RENDERERS,
    **render_mi.RENDERERS,
}
assert set(RENDERERS) == set(VIEWS), set(VIEWS) ^ set(RENDERERS)

# Columns that correlated subqueries and joins look rows up by: indexed so that a per-database
# subquery over sys.master_files or msdb history does not scan the whole table for every row.
INDEXES: dict[str, tuple[str, ...]] = {
    "sys.master_files": ("database_id",),
    "dbo.backupset": ("database_name",),
    "dbo.backupmediafamily": ("media_set_id",),
    "sys.database_recovery_status": ("database_id",),
    "sys.availability_databases_cluster": ("database_name", "group_id"),
    "sys.availability_replicas": ("replica_id",),
    "sys.dm_hadr_availability_replica_states": ("group_id",),
    "sys.dm_hadr_database_replica_states": ("group_id",),
}

# DMVs with rows per availability group: refreshed incrementally, re-rendering only the groups
# whose inputs changed (a scale scenario has 1,000 groups; a dashboard polls them every second).
GROUPED: dict[str, tuple[Callable[[ExecEnv, Any], list[dict[str, Any]]], Callable[[ExecEnv, Any], Any]]] = {
    "sys.dm_hadr_database_replica_states": (render_hadr.database_state_rows, render_hadr.sig_database_states),
    "sys.dm_hadr_availability_replica_states": (render_hadr.replica_state_rows, render_hadr.sig_replica_states),
}

# Views whose rows depend only on slowly changing configuration: a signature of every input lets
# a refresh be skipped when nothing changed (they are joined by nearly every dashboard query).
SIGNATURES: dict[str, Callable[[ExecEnv], Any]] = {
    "sys.availability_groups": render_hadr.sig_availability_groups,
    "sys.availability_replicas": render_hadr.sig_availability_replicas,
    "sys.availability_databases_cluster": render_hadr.sig_availability_databases_cluster,
    "dbo.backupset": render.sig_backupset,
    "dbo.backupmediafamily": render.sig_backupset,
    "sys.master_files": render.sig_master_files,
    "sys.database_recovery_status": render.sig_database_recovery_status,
}


@dataclass(frozen=True)
class TableRef:
    """One view instance a query reads: the view, and for database-scoped views, which database."""

    view: str
    database: str | None  # lower-case database name for DATABASE scope, else None


def sqlite_decl(type_name: str) -> str:
    if type_name == "uniqueidentifier":
        return "TEXT"  # always stored upper-case; the engine upper-cases what it is compared with
    if type_name in STRING_TYPES:
        return "TEXT COLLATE NOCASE"
    if type_name in DATE_TYPES:
        return "TEXT"
    if type_name in INT_TYPES or type_name in ("decimal", "numeric"):
        return "NUMERIC"
    if type_name in FLOAT_TYPES:
        return "REAL"
    if type_name in BINARY_TYPES:
        return "BLOB"
    return ""


class TableStore:
    """Owns the SQLite connection's catalog tables and refreshes them from the model."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.names: dict[TableRef, str] = {}
        self._inserts: dict[str, str] = {}
        self._loaded: dict[str, tuple[Any, Any]] = {}  # table -> (columns, signature) last loaded
        self._groups: dict[str, tuple[Any, dict[int, Any]]] = {}  # grouped table -> (columns, group sigs)

    def table_name(self, ref: TableRef) -> str:
        name = self.names.get(ref)
        if name is None:
            view = VIEWS[ref.view]
            name = f"t{len(self.names) + 1}_{ref.view.split('.', 1)[1]}"
            cols = ", ".join(f'"{c.name}" {sqlite_decl(c.type.name)}' for c in view.columns)
            if ref.view in GROUPED:
                cols += ', "_grp" INTEGER'  # which group a row belongs to (never selectable)
            self.conn.execute(f"CREATE TABLE {name} ({cols})")
            if ref.view in GROUPED:
                self.conn.execute(f'CREATE INDEX {name}__grp ON {name} ("_grp")')
            for column in INDEXES.get(ref.view, ()):
                self.conn.execute(f'CREATE INDEX {name}_{column} ON {name} ("{column}")')
            self._inserts[name] = f"INSERT INTO {name} VALUES ({', '.join('?' * len(view.columns))})"
            self.names[ref] = name
        return name

    def refresh(self, env: ExecEnv, ref: TableRef, columns: tuple[str, ...] | None = None) -> None:
        """Replace the table's rows with the model's current state.

        Only ``columns`` (those the query reads) are loaded; the others stay NULL. Loading is
        the main cost of a query, so this keeps wide DMVs cheap.
        """
        name = self.table_name(ref)
        view = VIEWS[ref.view]
        if ref.view in GROUPED:
            self._refresh_grouped(env, ref, name, columns)
            return
        renderer = RENDERERS[ref.view]
        signature = SIGNATURES.get(ref.view)
        key = (columns, signature(env), env.major) if signature is not None else None
        if key is not None and self._loaded.get(name) == key:
            return
        self._loaded.pop(name, None)
        env.need = frozenset(columns) if columns is not None else None
        try:
            if view.scope == DATABASE:
                db = env.find_db(ref.database or "")
                if db is None:
                    raise sql_error(208, f"{ref.database}.{ref.view}")
                rows = list(renderer(env, db))
            else:
                rows = list(renderer(env))
        finally:
            env.need = None
        defaults = view.defaults
        self.conn.execute(f"DELETE FROM {name}")
        if columns is None or len(columns) == len(defaults):
            data = [tuple({**defaults, **row}.values()) for row in rows]
            insert = self._inserts[name]
        elif not columns:
            data = [() for _ in rows]
            insert = f"INSERT INTO {name} DEFAULT VALUES"
        else:
            pick = operator.itemgetter(*columns)
            if len(columns) == 1:
                data = [(pick({**defaults, **row}),) for row in rows]
            else:
                data = [pick({**defaults, **row}) for row in rows]
            insert = self._partial_insert(name, columns)
        if data:
            self.conn.executemany(insert, data)
        if key is not None:
            self._loaded[name] = key

    def _refresh_grouped(self, env: ExecEnv, ref: TableRef, name: str, columns: tuple[str, ...] | None) -> None:
        """Re-render only the availability groups whose signature changed since the last load.

        When most groups changed (every link under load), one bulk reload is cheaper than many
        small deletes and inserts.
        """
        view = VIEWS[ref.view]
        rows_of, signature_of = GROUPED[ref.view]
        cols = columns if columns is not None else tuple(c.name for c in view.columns)
        state = self._groups.get(name)
        if state is None or state[0] != (cols, env.major):
            state = ((cols, env.major), {}, 0)
        known: dict[int, Any] = state[1]
        churn: int = state[2]  # refreshes left to reload in bulk without computing signatures
        self._groups.pop(name, None)  # re-registered only once the table is consistent again
        env.need = frozenset(cols)
        try:
            current: list[tuple[int, Any, Any]] = []
            changed = 0
            for ag in env.inst.availability_groups.values():
                key = ag.group_id.int & 0x7FFFFFFFFFFFFFFF
                sig = signature_of(env, ag) if not churn else None
                current.append((key, sig, ag))
                changed += known.get(key) != sig
            bulk = churn > 0 or not known or changed * 3 > len(current)
            # every link changing (the scale scenario under load): stop paying for signatures for a while
            churn = churn - 1 if churn else (4 if known and bulk else 0)
            insert = self._partial_insert(name, (*cols, "_grp"))
            defaults = view.defaults
            pick = operator.itemgetter(*cols)
            single = len(cols) == 1

            def data_of(key: int, ag: Any) -> list[tuple]:
                rows = rows_of(env, ag)
                if single:
                    return [(pick({**defaults, **row}), key) for row in rows]
                return [(*pick({**defaults, **row}), key) for row in rows]

            if bulk:
                self.conn.execute(f"DELETE FROM {name}")
                data = [t for key, _, ag in current for t in data_of(key, ag)]
                if data:
                    self.conn.executemany(insert, data)
                known = {key: sig for key, sig, _ in current} if not any(c[1] is None for c in current) else {}
            else:
                seen = set()
                for key, sig, ag in current:
                    seen.add(key)
                    if known.get(key) == sig:
                        continue
                    if key in known:
                        self.conn.execute(f"DELETE FROM {name} WHERE _grp = ?", (key,))
                    data = data_of(key, ag)
                    if data:
                        self.conn.executemany(insert, data)
                    known[key] = sig
                for key in [k for k in known if k not in seen]:
                    self.conn.execute(f"DELETE FROM {name} WHERE _grp = ?", (key,))
                    del known[key]
        finally:
            env.need = None
        self._groups[name] = ((cols, env.major), known, churn)

    def _partial_insert(self, name: str, columns: tuple[str, ...]) -> str:
        key = f"{name}|{','.join(columns)}"
        sql = self._inserts.get(key)
        if sql is None:
            cols = ", ".join(f'"{c}"' for c in columns)
            sql = self._inserts[key] = f"INSERT INTO {name} ({cols}) VALUES ({', '.join('?' * len(columns))})"
        return sql


def scope_database(view: ViewDef, db: Database | None) -> str | None:
    if view.scope == DATABASE:
        return db.name.lower() if db else None
    return None


__all__ = ["TableRef", "TableStore", "RENDERERS", "SERVER", "DATABASE", "MSDB", "scope_database"]
