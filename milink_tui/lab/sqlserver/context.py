"""Sessions, engine-private server state and the per-request environment.

The World model is the single source of truth for anything the rest of the lab needs; the
few things only T-SQL can observe (when the master key was created, sp_configure values,
backup device paths, private keys, sessions) live in :class:`ServerState` so ``model.py``
stays untouched.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any

from ..hooks import LinkOps
from ..model import Certificate, Database, DataFile, Filegroup, SqlInstance, World
from ..tds.backend import SqlType

_spids = itertools.count(51)
_NS = uuid.UUID("6f0d2d1e-8f42-4c8e-9a55-3c1a4c2b7e10")


@functools.lru_cache(maxsize=65536)
def stable_guid(*parts: object) -> uuid.UUID:
    """A GUID that is the same every time for the same object (database_guid, file_guid, ...)."""
    return uuid.uuid5(_NS, "|".join(str(p).lower() for p in parts))


@dataclass(eq=False)
class SqlSession:
    """One client connection's state (what RESETCONNECTION puts back to the login defaults)."""

    login: str
    database: str
    default_database: str = "master"
    app_name: str = ""
    host_name: str = "localhost"
    spid: int = field(default_factory=lambda: next(_spids))
    options: dict[str, Any] = field(default_factory=dict)
    trancount: int = 0
    rowcount: int = 0
    error: int = 0
    login_time: dt.datetime | None = None
    last_request_start: dt.datetime | None = None
    last_request_end: dt.datetime | None = None
    context_info: bytes | None = None


@dataclass
class ConfigOption:
    configuration_id: int
    name: str
    minimum: int
    maximum: int
    value: int
    description: str
    is_dynamic: bool
    is_advanced: bool
    value_in_use: int | None = None

    def in_use(self) -> int:
        return self.value if self.value_in_use is None else self.value_in_use


def _default_config() -> dict[str, ConfigOption]:
    rows = [
        (518, "show advanced options", 0, 1, 0, "show advanced options", True, False),
        (1538, "cost threshold for parallelism", 0, 32767, 5, "cost threshold for parallelism", True, True),
        (1539, "max degree of parallelism", 0, 32767, 0, "maximum degree of parallelism", True, True),
        (1543, "min server memory (MB)", 0, 2147483647, 0, "Minimum size of server memory (MB)", True, True),
        (1544, "max server memory (MB)", 128, 2147483647, 2147483647, "Maximum size of server memory (MB)",
         True, True),
        (1562, "clr enabled", 0, 1, 0, "CLR user code execution enabled in the server", True, False),
        (1576, "remote admin connections", 0, 1, 0, "Dedicated Admin Connections are allowed from remote "
                                                   "clients", True, False),
        (1579, "backup compression default", 0, 1, 0, "Enable compression of backups by default", True, False),
        (1584, "backup checksum default", 0, 1, 0, "Enable checksum of backups by default", True, False),
        (16384, "Agent XPs", 0, 1, 0, "Enable or disable Agent XPs", True, True),
        (16386, "Database Mail XPs", 0, 1, 0, "Enable or disable Database Mail XPs", True, True),
        (16387, "SMO and DMO XPs", 0, 1, 1, "Enable or disable SMO and DMO XPs", True, True),
        (16388, "Ole Automation Procedures", 0, 1, 0, "Enable or disable Ole Automation Procedures", True,
         True),
        (16390, "xp_cmdshell", 0, 1, 0, "Enable or disable command shell", True, True),
        (16393, "contained database authentication", 0, 1, 0, "Enables contained databases and contained "
                                                                "authentication", True, False),
    ]
    return {r[1].lower(): ConfigOption(*r) for r in rows}


@dataclass
class BackupExtra:
    """What msdb knows about a backup beyond the model's Backup row."""

    device: str
    compressed: bool
    user_name: str
    begins_log_chain: bool
    database_backup_lsn: int | None
    name: str | None = None
    description: str | None = None


class ServerState:
    """Engine-private, per-instance state that only T-SQL observes."""

    def __init__(self, world: World, instance: SqlInstance) -> None:
        now = world.clock.now()
        self.start_time = now
        self.master_key_created: dt.datetime | None = now if instance.master_key else None
        self.db_master_keys: dict[str, dt.datetime] = {}
        self.db_certs: dict[str, dict[str, Certificate]] = {}
        self.private_keys: dict[bytes, bytes] = {}
        self.backup_extra: dict[int, BackupExtra] = {}
        self.config = _default_config()
        self.suspended: set[str] = set()  # database names with HADR data movement suspended
        self.multidb_milink = False
        self.ag_create_any_database: set[str] = set()
        self.sessions: weakref.WeakValueDictionary[int, SqlSession] = weakref.WeakValueDictionary()
        self.cert_cache: dict[bytes, Any] = {}  # thumbprint -> parsed CertInfo
        self.system_dbs = _system_databases(instance, now)
        self.endpoint_created: dict[str, dt.datetime] = {}
        self.ag_settings: dict[tuple[str, str], str] = {}  # (ag name, option) -> value from ALTER AG SET


_STATES: dict[int, tuple[weakref.ref, ServerState]] = {}


def state_for(world: World, instance: SqlInstance) -> ServerState:
    """The ServerState of ``instance``, shared by every backend serving it (one per instance object)."""
    key = id(instance)
    entry = _STATES.get(key)
    if entry is not None and entry[0]() is instance:
        return entry[1]
    for k in [k for k, (ref, _) in _STATES.items() if ref() is None]:
        del _STATES[k]
    state = ServerState(world, instance)
    _STATES[key] = (weakref.ref(instance), state)
    return state


def _system_databases(inst: SqlInstance, now: dt.datetime) -> list[Database]:
    created = dt.datetime(2003, 4, 8, 9, 13, 36, 390000)
    compat = inst.major * 10
    specs = [("master", 1, "SIMPLE", "master", "mastlog", "master.mdf", created),
             ("tempdb", 2, "SIMPLE", "tempdev", "templog", "tempdb.mdf", now.replace(microsecond=0)),
             ("model", 3, "FULL", "modeldev", "modellog", "model.mdf", created),
             ("msdb", 4, "SIMPLE", "MSDBData", "MSDBLog", "MSDBData.mdf", created)]
    out = []
    for name, dbid, rm, data, log, phys, when in specs:
        db = Database(name=name, database_id=dbid, recovery_model=rm, collation=inst.collation,  # type: ignore[arg-type]
                      compatibility_level=compat, create_date=when,
                      service_broker_guid=stable_guid(inst.name, name, "broker"),
                      is_broker_enabled=name == "msdb")
        db.files = [DataFile(1, 0, data, data_path(inst, phys), 1024),
                    DataFile(2, 1, log, data_path(inst, log + ".ldf"), 256, data_space_id=0)]
        db.filegroups = [Filegroup("PRIMARY", 1)]
        out.append(db)
    return out


def is_windows(inst: SqlInstance) -> bool:
    return inst.host_platform == "Windows"


def instance_id(inst: SqlInstance) -> str:
    """MSSQL16.MSSQLSERVER-style instance id used in registry keys and paths."""
    return f"MSSQL{inst.major}.{instance_name(inst) or 'MSSQLSERVER'}"


def machine_name(inst: SqlInstance) -> str:
    return inst.name.split("\\", 1)[0]


def instance_name(inst: SqlInstance) -> str | None:
    return inst.name.split("\\", 1)[1] if "\\" in inst.name else None


def data_dir(inst: SqlInstance) -> str:
    if is_windows(inst):
        return f"C:\\Program Files\\Microsoft SQL Server\\{instance_id(inst)}\\MSSQL\\DATA\\"
    return "/var/opt/mssql/data/"


def backup_dir(inst: SqlInstance) -> str:
    if is_windows(inst):
        return f"C:\\Program Files\\Microsoft SQL Server\\{instance_id(inst)}\\MSSQL\\Backup\\"
    return "/var/opt/mssql/data/"


def data_path(inst: SqlInstance, file_name: str) -> str:
    return data_dir(inst) + file_name


def default_files(inst: SqlInstance, db: Database) -> list[DataFile]:
    """The files a database shows when the model gave it none (CREATE DATABASE defaults)."""
    if db.files:
        return db.files
    return [DataFile(1, 0, db.name, data_path(inst, f"{db.name}.mdf"), 1024),
            DataFile(2, 1, f"{db.name}_log", data_path(inst, f"{db.name}_log.ldf"), 1024, data_space_id=0)]


class ExecEnv:
    """Everything a statement needs: the world, this instance, the session and batch variables."""

    def __init__(self, world: World, inst: SqlInstance, state: ServerState, session: SqlSession,
                 ops: LinkOps) -> None:
        self.world = world
        self.inst = inst
        self.state = state
        self.session = session
        self.ops = ops
        self.variables: dict[str, tuple[SqlType, Any]] = {}  # lower name -> (type, value)
        self.current_error: Any = None  # the error a CATCH block is handling
        self.nest_level = 0
        self.now_cache: dt.datetime | None = None
        self._index: dict[str, Any] | None = None  # lookup tables, only while a query reads the model
        self.need: frozenset[str] | None = None  # columns the view being rendered must fill (None = all)

    def begin_read(self) -> None:
        """Build name/id indexes for the duration of one query (renderers and UDFs look up a lot)."""
        dbs = self._databases()
        by_name: dict[str, Database] = {}
        for d in dbs:
            by_name.setdefault(d.name.lower(), d)
        ags = {}
        for ag in self.inst.availability_groups.values():
            ags.setdefault(ag.name.lower(), ag)
        self._index = {"dbs": dbs, "db_name": by_name, "db_id": {d.database_id: d for d in dbs}, "ag": ags,
                       "major": self.inst.major}

    def end_read(self) -> None:
        self._index = None

    def cache(self, key: str, build):  # noqa: ANN001 - build() -> value, memoized for one query
        """Memoize ``build()`` for the current query only (no caching outside a read)."""
        if self._index is None:
            return build()
        if key not in self._index:
            self._index[key] = build()
        return self._index[key]

    def find_ag(self, name: str):  # -> AvailabilityGroup | None
        if self._index is not None:
            return self._index["ag"].get(name.lower())
        return self.inst.find_ag(name)

    @property
    def now(self) -> dt.datetime:
        if self.now_cache is None:
            self.now_cache = self.world.clock.now()
        return self.now_cache

    @property
    def major(self) -> int:
        if self._index is not None:
            return self._index["major"]
        return self.inst.major

    def login(self):  # -> Login | None
        return self.inst.logins.get(self.session.login) or next(
            (v for k, v in self.inst.logins.items() if k.lower() == self.session.login.lower()), None)

    @property
    def sysadmin(self) -> bool:
        lg = self.login()
        return bool(lg and lg.sysadmin)

    # -- databases (user databases from the model, system databases synthesized)
    def databases(self) -> list[Database]:
        if self._index is not None:
            return self._index["dbs"]
        return self._databases()

    def _databases(self) -> list[Database]:
        model = {d.name.lower() for d in self.inst.databases.values()}
        out = [d for d in self.state.system_dbs if d.name.lower() not in model]
        out.extend(self.inst.databases.values())
        return sorted(out, key=lambda d: d.database_id)

    def find_db(self, name: str) -> Database | None:
        if self._index is not None:
            return self._index["db_name"].get(name.lower())
        db = self.inst.find_database(name)
        if db is not None:
            return db
        for d in self.state.system_dbs:
            if d.name.lower() == name.lower():
                return d
        return None

    def db_by_id(self, dbid: int) -> Database | None:
        if self._index is not None:
            return self._index["db_id"].get(dbid)
        for d in self.databases():
            if d.database_id == dbid:
                return d
        return None

    @property
    def current_db(self) -> Database | None:
        return self.find_db(self.session.database)

    def certificates(self, db_name: str) -> dict[str, Certificate]:
        """The certificate store of a database (master's is the model's instance.certificates)."""
        if db_name.lower() == "master":
            return self.inst.certificates
        return self.state.db_certs.setdefault(db_name.lower(), {})
