"""CREATE / ALTER / DROP AVAILABILITY GROUP, including distributed AGs (the link's SQL Server side).

Anything that changes replication (a DAG created or joined, dropped, failed over, demoted, its
commit mode changed) is handed to the LinkOps hooks; a hook's LabError becomes the statement's
error. Local metadata (AG rows, database membership) is maintained here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...hooks import LabError
from ...model import AvailabilityGroup, Database, Replica
from ...tds.backend import Outcome
from ..context import ExecEnv
from ..errors import TsqlError, sql_error
from ..lexer import NSTR, STR, Cursor
from .base import Command, Option, find, parse_option_list, require_sysadmin, unsupported

_URL = re.compile(r"^tcp://([^:;/\s]+):(\d{1,5})(;.*)?$", re.I)
_LINK_SUFFIX = re.compile(r"^(;(server|database)=\[[^\]]+\])+$", re.I)


def _hook_error(exc: LabError) -> TsqlError:
    return TsqlError(exc.number or 50000, exc.text, exc.severity, exc.state)


@dataclass
class Member:
    """One REPLICA ON / AVAILABILITY GROUP ON entry."""

    name: str
    options: list[Option]

    def opt(self, key: str, default: str | None = None) -> str | None:
        o = find(self.options, key)
        if o is None:
            return default
        return o.string() if o.tokens and o.tokens[0].kind in (STR, NSTR) else o.word

    def timeout(self, default: int) -> int:
        o = find(self.options, "SESSION_TIMEOUT")
        return o.integer() if o is not None else default


def _check_hadr(env: ExecEnv) -> None:
    if not env.inst.hadr_enabled:
        raise sql_error(35221)


def _check_mode(value: str | None, allowed: tuple[str, ...], option: str) -> str:
    if value is None or value.upper() not in allowed:
        raise sql_error(102, value or option)
    return value.upper()


def _validate_url(url: str, ag_name: str, env: ExecEnv, listener: bool) -> None:
    m = _URL.match(url.strip())
    if m is None or not 0 < int(m.group(2)) < 65536:
        raise TsqlError(35232, f"The specified endpoint URL '{url}' is invalid. Reenter the command specifying the "
                               "correct URL. For information about specifying the endpoint URL for an availability "
                               "replica, see SQL Server Books Online.", 16, 1)
    suffix = m.group(3)
    if suffix:
        if not listener or not _LINK_SUFFIX.match(suffix) or not env.inst.has_azure_connect_procs:
            raise sql_error(19499, url)


def join_database(env: ExecEnv, ag: AvailabilityGroup, db: Database) -> None:
    """Mark ``db`` as a member of the plain AG ``ag`` (sys.databases.group_database_id/replica_id)."""
    local = next((r for r in ag.replicas if r.is_local), None)
    db.group_database_id = db.group_database_id or uuid.uuid4()
    db.replica_id = local.replica_id if local else None


def _check_database(env: ExecEnv, ag_name: str, name: str, ag: AvailabilityGroup | None = None) -> Database:
    db = env.find_db(name)
    if db is None:
        raise sql_error(35238, name, ag_name)
    if db.database_id <= 4:
        raise sql_error(35249, db.name)
    for other in env.inst.availability_groups.values():
        if not other.is_distributed and any(n.lower() == db.name.lower() for n in other.databases):
            raise sql_error(35280 if other is ag else 35244, db.name, ag_name)
    if db.recovery_model != "FULL":
        raise sql_error(1465, db.name)
    if not db.log_chain_started:
        raise sql_error(1475, db.name)
    return db


@dataclass
class CreateAvailabilityGroup(Command):
    name: str
    options: list[Option] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)
    replicas: list[Member] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)  # DAG: AVAILABILITY GROUP ON

    @property
    def distributed(self) -> bool:
        return find(self.options, "DISTRIBUTED") is not None

    def execute(self, env: ExecEnv) -> list[Outcome]:
        require_sysadmin(env)
        _check_hadr(env)
        if env.inst.find_ag(self.name) is not None:
            raise sql_error(19509 if self.distributed else 41042, self.name)
        if self.distributed:
            return self._create_dag(env)
        return self._create_ag(env)

    def _create_ag(self, env: ExecEnv) -> list[Outcome]:
        if not self.replicas:
            raise sql_error(102, self.name)
        inst = env.inst
        replicas = []
        for m in self.replicas:
            url = m.opt("ENDPOINT_URL")
            if url is None:
                raise TsqlError(35236, f"The endpoint URL was not specified for the availability replica hosted by "
                                       f"server instance '{m.name}'. Reenter the command, specifying the endpoint URL "
                                       "of this instance of SQL Server.", 15, 1)
            _validate_url(url, self.name, env, listener=False)
            replicas.append(Replica(
                server_name=m.name, endpoint_url=url,
                availability_mode=_check_mode(m.opt("AVAILABILITY_MODE"), ("SYNCHRONOUS_COMMIT",
                                              "ASYNCHRONOUS_COMMIT", "CONFIGURATION_ONLY"), "AVAILABILITY_MODE"),  # type: ignore[arg-type]
                failover_mode=_check_mode(m.opt("FAILOVER_MODE"), ("AUTOMATIC", "MANUAL", "EXTERNAL"),
                                          "FAILOVER_MODE"),  # type: ignore[arg-type]
                seeding_mode=_check_mode(m.opt("SEEDING_MODE", "MANUAL"), ("AUTOMATIC", "MANUAL"),
                                         "SEEDING_MODE"),  # type: ignore[arg-type]
                session_timeout=m.timeout(10), is_local=m.name.lower() == inst.name.lower(),
                create_date=env.now))
        if not any(r.is_local for r in replicas):
            raise sql_error(35237, self.name)
        dbs = [_check_database(env, self.name, n) for n in self.databases]
        cluster = find(self.options, "CLUSTER_TYPE")
        ag = AvailabilityGroup(
            name=self.name, replicas=replicas, databases=[d.name for d in dbs],
            cluster_type=(cluster.word if cluster else ("WSFC" if inst.host_platform == "Windows" else "NONE")),  # type: ignore[arg-type]
            basic=find(self.options, "BASIC") is not None,
            db_failover=(find(self.options, "DB_FAILOVER").word == "ON") if find(self.options, "DB_FAILOVER") else False,  # type: ignore[union-attr]
            role="PRIMARY", create_date=env.now)
        inst.availability_groups[self.name] = ag
        for db in dbs:
            join_database(env, ag, db)
        return []

    def _create_dag(self, env: ExecEnv) -> list[Outcome]:
        def check_local(local: AvailabilityGroup) -> None:
            if local.role != "PRIMARY":
                raise sql_error(35251)
        _register_dag(env, _build_dag(env, self.name, self.members, "PRIMARY", check_local))
        return []


def _build_dag(env: ExecEnv, name: str, members: list, role: str,
               check_local: Callable[[AvailabilityGroup], None]) -> AvailabilityGroup:
    """A distributed AG from its two members (CREATE and JOIN alike); ``check_local`` vets the
    member AG that lives on this instance (CREATE and JOIN refuse different things)."""
    if len(members) != 2:
        raise sql_error(102, name)
    replicas = []
    local_found = False
    for m in members:
        url = m.opt("LISTENER_URL")
        if url is None:
            raise sql_error(102, m.name)
        _validate_url(url, name, env, listener=True)
        local = env.inst.find_ag(m.name)
        is_local = local is not None and not local.is_distributed and not local_found
        if is_local:
            check_local(local)  # type: ignore[arg-type]
            local_found = True
        replicas.append(_dag_member(m, url, is_local, env))
    if not local_found:
        raise sql_error(19501)
    return AvailabilityGroup(name=name, replicas=replicas, is_distributed=True, cluster_type="NONE", role=role,
                             create_date=env.now)


def _dag_member(m, url: str, is_local: bool, env: ExecEnv) -> Replica:
    """One member AG of a distributed AG, from its WITH (...) options (CREATE and JOIN alike)."""
    return Replica(
        server_name=m.name, endpoint_url=url,
        availability_mode=_check_mode(m.opt("AVAILABILITY_MODE"), ("SYNCHRONOUS_COMMIT",
                                      "ASYNCHRONOUS_COMMIT"), "AVAILABILITY_MODE"),  # type: ignore[arg-type]
        failover_mode=_check_mode(m.opt("FAILOVER_MODE", "MANUAL"), ("MANUAL",), "FAILOVER_MODE"),  # type: ignore[arg-type]
        seeding_mode=_check_mode(m.opt("SEEDING_MODE", "AUTOMATIC"), ("AUTOMATIC", "MANUAL"),
                                 "SEEDING_MODE"),  # type: ignore[arg-type]
        session_timeout=m.timeout(10), is_local=is_local, create_date=env.now if is_local else None)


def _register_dag(env: ExecEnv, dag: AvailabilityGroup) -> None:
    env.inst.availability_groups[dag.name] = dag
    try:
        env.ops.sql_dag_created(env.inst, dag)
    except LabError as exc:
        env.inst.availability_groups.pop(dag.name, None)
        raise _hook_error(exc) from None


def _member_list(cur: Cursor, key: str) -> list[Member]:
    out = []
    while True:
        t = cur.next()
        if t.kind not in (STR, NSTR) and not t.is_name:
            raise sql_error(102, t.text)
        cur.expect_word("WITH")
        out.append(Member(t.text, parse_option_list(cur)))
        if not cur.accept_punct(","):
            return out


def _parse_create(cur: Cursor, name: str) -> CreateAvailabilityGroup:
    cmd = CreateAvailabilityGroup(name)
    if cur.accept_word("WITH"):
        cmd.options = parse_option_list(cur)
        if cur.major < 14:
            for o in cmd.options:
                if o.name in ("CLUSTER_TYPE", "REQUIRED_SYNCHRONIZED_SECONDARIES_TO_COMMIT", "CONTAINED"):
                    raise sql_error(102, o.name)
    if cur.accept_word("FOR"):
        if cur.accept_word("DATABASE"):
            cmd.databases.append(cur.name())
            while cur.accept_punct(","):
                cmd.databases.append(cur.name())
    if cur.accept_word("REPLICA", "ON"):
        cmd.replicas = _member_list(cur, "REPLICA")
    elif cur.accept_word("AVAILABILITY", "GROUP", "ON"):
        cmd.members = _member_list(cur, "AVAILABILITY GROUP")
        if not cmd.distributed:
            raise sql_error(102, "AVAILABILITY")
    else:
        raise cur.error()
    if cur.at_word("LISTENER"):
        raise unsupported("LISTENER")
    return cmd


# --------------------------------------------------------------------------- ALTER


@dataclass
class AlterAvailabilityGroup(Command):
    name: str
    action: str
    members: list[Member] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)
    value: Any = None

    def execute(self, env: ExecEnv) -> list[Outcome]:
        require_sysadmin(env)
        _check_hadr(env)
        ag = env.inst.find_ag(self.name)
        if self.action == "JOIN_DAG":
            if ag is not None:  # UNVERIFIED: which number a JOIN under an existing AG name gets
                raise sql_error(41042, self.name)
            return self._join_dag(env)
        if ag is None:
            raise sql_error(15151, "alter", "availability group", self.name)
        try:
            return getattr(self, f"_do_{self.action.lower()}")(env, ag) or []
        except LabError as exc:
            raise _hook_error(exc) from None

    def _join_dag(self, env: ExecEnv) -> list[Outcome]:
        def check_local(local: AvailabilityGroup) -> None:
            if local.databases:
                raise sql_error(19511, self.name, local.name)
        _register_dag(env, _build_dag(env, self.name, self.members, "SECONDARY", check_local))
        return []

    def _require_dag(self, ag: AvailabilityGroup, what: str) -> None:
        if not ag.is_distributed:
            raise unsupported(what)

    def _do_modify_members(self, env: ExecEnv, ag: AvailabilityGroup) -> None:
        self._require_dag(ag, "MODIFY AVAILABILITY GROUP ON")
        changed = False
        for m in self.members:
            replica = ag.replica(m.name)
            if replica is None:
                raise sql_error(19508, m.name, ag.name)
            mode = m.opt("AVAILABILITY_MODE")
            if mode is not None:
                new = _check_mode(mode, ("SYNCHRONOUS_COMMIT", "ASYNCHRONOUS_COMMIT"), "AVAILABILITY_MODE")
                changed = changed or new != replica.availability_mode
                replica.availability_mode = new  # type: ignore[assignment]
            seeding = m.opt("SEEDING_MODE")
            if seeding is not None:
                replica.seeding_mode = _check_mode(seeding, ("AUTOMATIC", "MANUAL"), "SEEDING_MODE")  # type: ignore[assignment]
            url = m.opt("LISTENER_URL")
            if url is not None:
                _validate_url(url, ag.name, env, listener=True)
                replica.endpoint_url = url
        ag.sequence_number += 1
        env.ops.sql_availability_mode_changed(env.inst, ag)

    def _do_modify_replica(self, env: ExecEnv, ag: AvailabilityGroup) -> None:
        for m in self.members:
            replica = ag.replica(m.name)
            if replica is None:
                raise sql_error(15151, "find", "availability replica", m.name)
            mode = m.opt("AVAILABILITY_MODE")
            if mode is not None:
                replica.availability_mode = _check_mode(mode, ("SYNCHRONOUS_COMMIT", "ASYNCHRONOUS_COMMIT",  # type: ignore[assignment]
                                                               "CONFIGURATION_ONLY"), "AVAILABILITY_MODE")
            fm = m.opt("FAILOVER_MODE")
            if fm is not None:
                replica.failover_mode = _check_mode(fm, ("AUTOMATIC", "MANUAL", "EXTERNAL"), "FAILOVER_MODE")  # type: ignore[assignment]
            seeding = m.opt("SEEDING_MODE")
            if seeding is not None:
                replica.seeding_mode = _check_mode(seeding, ("AUTOMATIC", "MANUAL"), "SEEDING_MODE")  # type: ignore[assignment]
            if find(m.options, "SESSION_TIMEOUT") is not None:
                replica.session_timeout = m.timeout(replica.session_timeout)
            url = m.opt("ENDPOINT_URL")
            if url is not None:
                _validate_url(url, ag.name, env, listener=False)
                replica.endpoint_url = url
        ag.sequence_number += 1

    def _do_set(self, env: ExecEnv, ag: AvailabilityGroup) -> None:
        for o in self.options:
            if o.name == "ROLE":
                self._require_dag(ag, "ROLE")
                if o.word != "SECONDARY":
                    raise sql_error(102, o.word)
                env.ops.sql_set_role_secondary(env.inst, ag)
            elif o.name == "DB_FAILOVER":
                ag.db_failover = o.word == "ON"
            elif o.name in ("REQUIRED_SYNCHRONIZED_SECONDARIES_TO_COMMIT", "FAILURE_CONDITION_LEVEL",
                            "HEALTH_CHECK_TIMEOUT", "AUTOMATED_BACKUP_PREFERENCE", "DTC_SUPPORT"):
                env.state.ag_settings[(ag.name.lower(), o.name)] = " ".join(o.words)
            else:
                raise sql_error(102, o.name)
        ag.sequence_number += 1

    def _do_failover(self, env: ExecEnv, ag: AvailabilityGroup) -> None:
        self._require_dag(ag, "FAILOVER")
        env.ops.sql_failover(env.inst, ag, force=bool(self.value))

    def _do_add_database(self, env: ExecEnv, ag: AvailabilityGroup) -> None:
        if ag.is_distributed:
            raise unsupported("ADD DATABASE")
        if ag.role != "PRIMARY":
            raise sql_error(35251)
        dbs = [_check_database(env, ag.name, n, ag) for n in self.databases]
        for db in dbs:
            ag.databases.append(db.name)
            join_database(env, ag, db)
        ag.sequence_number += 1

    def _do_remove_database(self, env: ExecEnv, ag: AvailabilityGroup) -> None:
        for name in self.databases:
            member = next((n for n in ag.databases if n.lower() == name.lower()), None)
            if member is None:
                raise sql_error(35281, name, ag.name)
            ag.databases.remove(member)
            db = env.find_db(member)
            if db is not None:
                db.group_database_id = None
                db.replica_id = None
                env.state.suspended.discard(db.name.lower())
        ag.sequence_number += 1

    def _do_grant(self, env: ExecEnv, ag: AvailabilityGroup) -> None:
        if self.value:
            env.state.ag_create_any_database.add(ag.name.lower())
        else:
            env.state.ag_create_any_database.discard(ag.name.lower())


def _parse_alter(cur: Cursor, name: str) -> AlterAvailabilityGroup:
    if cur.accept_word("JOIN"):
        if cur.accept_word("AVAILABILITY", "GROUP", "ON"):
            return AlterAvailabilityGroup(name, "JOIN_DAG", members=_member_list(cur, "AVAILABILITY GROUP"))
        raise unsupported("JOIN")
    if cur.accept_word("MODIFY", "AVAILABILITY", "GROUP", "ON"):
        return AlterAvailabilityGroup(name, "MODIFY_MEMBERS", members=_member_list(cur, "AVAILABILITY GROUP"))
    if cur.accept_word("MODIFY", "REPLICA", "ON"):
        return AlterAvailabilityGroup(name, "MODIFY_REPLICA", members=_member_list(cur, "REPLICA"))
    if cur.accept_word("SET"):
        return AlterAvailabilityGroup(name, "SET", options=parse_option_list(cur))
    if cur.accept_word("FAILOVER"):
        return AlterAvailabilityGroup(name, "FAILOVER", value=False)
    if cur.accept_word("FORCE_FAILOVER_ALLOW_DATA_LOSS"):
        return AlterAvailabilityGroup(name, "FAILOVER", value=True)
    if cur.accept_word("ADD", "DATABASE") or cur.accept_word("REMOVE", "DATABASE"):
        adding = cur.tokens[cur.pos - 2].upper == "ADD"
        dbs = [cur.name()]
        while cur.accept_punct(","):
            dbs.append(cur.name())
        return AlterAvailabilityGroup(name, "ADD_DATABASE" if adding else "REMOVE_DATABASE", databases=dbs)
    if cur.accept_word("GRANT", "CREATE", "ANY", "DATABASE"):
        return AlterAvailabilityGroup(name, "GRANT", value=True)
    if cur.accept_word("DENY", "CREATE", "ANY", "DATABASE"):
        return AlterAvailabilityGroup(name, "GRANT", value=False)
    t = cur.peek()
    raise unsupported(t.text if t else "ALTER AVAILABILITY GROUP")


@dataclass
class DropAvailabilityGroup(Command):
    name: str

    def execute(self, env: ExecEnv) -> list[Outcome]:
        require_sysadmin(env)
        ag = env.inst.find_ag(self.name)
        if ag is None:
            raise sql_error(15151, "drop", "availability group", self.name)
        secondaries = _global_secondaries(env, ag)
        key = next(k for k, v in env.inst.availability_groups.items() if v is ag)
        del env.inst.availability_groups[key]
        if ag.is_distributed:
            try:
                env.ops.sql_dag_dropped(env.inst, ag)
            except LabError as exc:
                env.inst.availability_groups[key] = ag
                raise _hook_error(exc) from None
        else:
            for name in ag.databases:
                db = env.find_db(name)
                if db is not None:
                    db.group_database_id = None
                    db.replica_id = None
                    env.state.suspended.discard(db.name.lower())
            env.state.ag_create_any_database.discard(ag.name.lower())
        for db in secondaries:
            db.state = "RESTORING"
        return []


def _global_secondaries(env: ExecEnv, ag: AvailabilityGroup) -> list[Database]:
    """Local databases that are secondary copies in the global picture of ``ag``.

    Dropping an AG where it is not the primary leaves those databases RESTORING (Learn: DROP
    AVAILABILITY GROUP; "Enable and disable Always On": "The secondary databases enter the
    RESTORING state"), so a link whose managed instance is primary never leaves a writable copy
    behind on SQL Server. For a DAG that is the local member AG's databases when the DAG's local
    role is SECONDARY (the forwarder); for a plain AG, its own databases when it is a secondary
    replica or the member of a DAG in the secondary role.
    """
    if ag.is_distributed:
        if ag.role == "PRIMARY":
            return []
        local = next((r for r in ag.replicas if r.is_local), None)
        member = env.inst.find_ag(local.server_name) if local is not None else None
        names = member.databases if member is not None and not member.is_distributed else []
    else:
        forwarding = any(
            d.is_distributed and d.role != "PRIMARY"
            and any(r.is_local and r.server_name.lower() == ag.name.lower() for r in d.replicas)
            for d in env.inst.availability_groups.values())
        names = ag.databases if ag.role != "PRIMARY" or forwarding else []
    return [db for db in (env.find_db(n) for n in names) if db is not None]


def parse_availability_group(cur: Cursor) -> Command:
    action = cur.next().upper
    cur.expect_word("AVAILABILITY", "GROUP")
    name = cur.name()
    if action == "DROP":
        return DropAvailabilityGroup(name)
    if action == "ALTER":
        return _parse_alter(cur, name)
    return _parse_create(cur, name)
