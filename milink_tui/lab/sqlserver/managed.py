"""A lab managed instance's T-SQL side: the SQL Server engine, flavoured as Azure SQL Managed Instance.

The ARM model (:class:`ManagedInstance`) stays the source of truth; :class:`ManagedSqlInstance`
is a SqlInstance view of it that the existing engine serves unchanged: EngineEdition 8, an MI
@@VERSION, Agent always running on a Windows host whose PowerShell steps probe from the
instance subnet (``World.probe_tcp_from_mi``), the Service Fabric DMVs (``render_mi``), and
``sys.databases`` re-read from the instance's databases on every request. DDL on this side does
not reach the replication engine (links to a managed instance are made through ARM).
"""

from __future__ import annotations

import datetime as dt
import weakref
from dataclasses import dataclass

from ..hooks import LinkOps
from ..model import Database, DataFile, Login, ManagedInstance, SqlInstance, World
from ..tds.backend import SqlError
from .backend import SqlServerBackend
from .context import SqlSession

MI_VERSION = "12.0.2000.8"  # what every managed instance reports as ProductVersion
_STATES = {"Online": "ONLINE", "Restoring": "RESTORING", "Creating": "RESTORING", "Offline": "OFFLINE"}
_MAJORS = {"SQLServer2022": 16, "SQLServer2025": 17, "AlwaysUpToDate": 17}


@dataclass(eq=False)
class ManagedSqlInstance(SqlInstance):
    """The T-SQL face of one managed instance; ``major`` drives catalog columns, not ProductVersion."""

    managed_instance: ManagedInstance | None = None
    feature_major: int = 16

    @property
    def major(self) -> int:
        return self.feature_major


def flavour(mi: ManagedInstance, admin: tuple[str, str]) -> ManagedSqlInstance:
    """A fresh SqlInstance for ``mi`` with its SQL admin login (sysadmin)."""
    inst = ManagedSqlInstance(
        name=mi.name, version=MI_VERSION, product_level="RTM", update_level=None, update_reference=None,
        edition="SQL Azure", engine_edition=8, host_platform="Windows", host_distribution="Windows Server 2022",
        host_release="10.0", collation=mi.collation, hadr_enabled=True, agent_running=True,
        address=mi.listener_ip, managed_instance=mi, feature_major=_MAJORS.get(mi.database_format, 16))
    inst.logins[admin[0]] = Login(admin[0], admin[1], sysadmin=True)
    sync_databases(inst, mi)
    return inst


def sync_databases(inst: ManagedSqlInstance, mi: ManagedInstance) -> None:
    """sys.databases follows the instance's databases (ARM, link seeding) as they are now."""
    kept: dict[str, Database] = {}
    for md in mi.databases.values():
        db = inst.databases.get(md.name)
        if db is None:
            next_id = max([inst.next_database_id(), *(d.database_id + 1 for d in kept.values())])
            db = Database(md.name, next_id,
                          compatibility_level=inst.major * 10, create_date=dt.datetime(2025, 1, 1))
        db.state = _STATES.get(md.state, md.state.upper())
        db.collation = md.collation
        db.is_read_only = md.state == "Restoring"
        pages = max(1024, int(md.size_mb * 128))
        if not db.files or db.files[0].size_pages != pages:
            base = f"C:\\WFRoot\\DB\\Fabric\\work\\data\\{md.name}"
            db.files = [DataFile(1, 0, "data_0", base + ".mdf", pages),
                        DataFile(2, 1, "log", base + "_log.ldf", max(1024, pages // 8), data_space_id=0)]
        kept[md.name] = db
    inst.databases = kept


class ManagedInstanceBackend(SqlServerBackend):
    """The TDS backend for ``world.managed_instances[name]`` (SQL admin login; Entra via serve.py)."""

    admin: tuple[str, str] = ("labadmin", "")

    def __init__(self, world: World, instance_name: str, ops: LinkOps) -> None:
        super().__init__(world, instance_name, ops)
        self._flavour: tuple[weakref.ref[ManagedInstance], ManagedSqlInstance] | None = None

    @property
    def instance(self) -> SqlInstance:
        mi = self.world.find_mi(self.instance_name)
        if mi is None:
            raise SqlError(40532, f'Cannot open server "{self.instance_name}" requested by the login. The login '
                                  "failed.", 20, 1)
        if self._flavour is None or self._flavour[0]() is not mi:  # first use, or a scenario swap
            self._flavour = (weakref.ref(mi), flavour(mi, self.admin))
        inst = self._flavour[1]
        sync_databases(inst, mi)
        return inst

    def login(self, user: str, password: str, database: str | None, app_name: str) -> SqlSession:
        """A stopped or unavailable instance refuses logins the way Azure SQL does (40613)."""
        mi = self.world.find_mi(self.instance_name)
        if mi is not None and (not mi.available or mi.state != "Ready"):
            raise SqlError(40613, f"Database 'master' on server '{mi.name}' is not currently available. "
                                  "Please retry the connection later.", 17, 1)
        return super().login(user, password, database, app_name)


def managed_backend(admin: tuple[str, str]) -> type[ManagedInstanceBackend]:
    """ManagedInstanceBackend with this SQL admin login and password."""
    return type("ManagedInstanceBackend", (ManagedInstanceBackend,), {"admin": admin})
