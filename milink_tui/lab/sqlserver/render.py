"""Model -> rows for the database, file, backup, security and server-level catalog views.

Each renderer returns dicts holding only the values that differ from the column defaults in
:mod:`catalog`, already in SQLite form (datetimes as text, GUIDs as upper-case text). The
availability-group views and DMVs are in :mod:`render_hadr`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from ..model import Certificate, Database
from . import x509
from .context import (
    ExecEnv,
    backup_dir,
    data_dir,
    default_files,
    instance_id,
    instance_name,
    is_windows,
    machine_name,
    stable_guid,
)
from .sqltypes import guid_text, to_sqlite

Row = dict[str, Any]

STATE_CODES = {"ONLINE": 0, "RESTORING": 1, "RECOVERING": 2, "RECOVERY_PENDING": 3, "SUSPECT": 4,
               "EMERGENCY": 5, "OFFLINE": 6}
RECOVERY_CODES = {"FULL": 1, "BULK_LOGGED": 2, "SIMPLE": 3}
FILE_TYPES = {0: "ROWS", 1: "LOG", 2: "FILESTREAM", 4: "FULLTEXT"}
FG_TYPES = {"FG": "ROWS_FILEGROUP", "FD": "FILESTREAM_DATA_FILEGROUP", "FX": "MEMORY_OPTIMIZED_DATA_FILEGROUP"}
PVK_DESC = {"NA": "NO_PRIVATE_KEY", "MK": "ENCRYPTED_BY_MASTER_KEY", "PW": "ENCRYPTED_BY_PASSWORD",
            "SK": "ENCRYPTED_BY_SERVICE_MASTER_KEY"}
DB_VERSIONS = {13: 852, 14: 869, 15: 904, 16: 957, 17: 998}


def ts(value: dt.datetime | None) -> str | None:
    return value.isoformat(" ") if value is not None else None


def g(value: Any) -> str | None:
    return guid_text(value) if isinstance(value, uuid.UUID) else (str(value).upper() if value is not None else None)


def database_guid(env: ExecEnv, db: Database) -> str:
    return g(stable_guid(env.inst.name, db.name, db.database_id, "database"))  # type: ignore[return-value]


# --------------------------------------------------------------------------- databases


def _log_reuse_wait(env: ExecEnv, db: Database) -> tuple[int, str]:
    from .render_hadr import dag_streams_for_db  # local import: render_hadr imports this module

    if db.recovery_model != "SIMPLE" and db.log_chain_started and db.end_of_log_lsn > db.log_truncation_lsn:
        return 2, "LOG_BACKUP"
    for stream in dag_streams_for_db(env, db.name):
        if stream.hardened_lsn < db.end_of_log_lsn:
            return 9, "AVAILABILITY_REPLICA"
    return 0, "NOTHING"


def r_databases(env: ExecEnv) -> Iterable[Row]:
    major = env.major
    for db in env.databases():
        system = db.database_id <= 4
        wait, wait_desc = _log_reuse_wait(env, db)
        row: Row = {
            "name": db.name, "database_id": db.database_id, "create_date": ts(db.create_date),
            "compatibility_level": db.compatibility_level, "collation_name": db.collation,
            "is_read_only": db.is_read_only, "state": STATE_CODES.get(db.state, 0), "state_desc": db.state,
            "is_in_standby": db.is_in_standby, "recovery_model": RECOVERY_CODES[db.recovery_model],
            "recovery_model_desc": db.recovery_model, "is_published": db.is_published,
            "is_distributor": db.is_distributor, "service_broker_guid": g(db.service_broker_guid),
            "is_broker_enabled": db.is_broker_enabled, "log_reuse_wait": wait, "log_reuse_wait_desc": wait_desc,
            "is_cdc_enabled": db.is_cdc_enabled, "is_encrypted": db.is_encrypted,
            "replica_id": g(db.replica_id), "group_database_id": g(db.group_database_id),
            "is_query_store_on": not system and major >= 16,
            "is_master_key_encrypted_by_server": (db.name == "master" and env.inst.master_key)
            or db.name.lower() in env.state.db_master_keys,
        }
        if db.name in ("master", "msdb"):
            row["snapshot_isolation_state"], row["snapshot_isolation_state_desc"] = 1, "ON"
        if db.name == "msdb":
            row["is_trustworthy_on"] = True
        if db.name in ("master", "tempdb"):
            row["is_db_chaining_on"] = True
        if system:
            row["is_mixed_page_allocation_on"] = True
        if major >= 15:
            row["physical_database_name"] = db.name
            row["is_accelerated_database_recovery_on"] = db.is_adr_on
        if db.state != "ONLINE":
            row["collation_name"] = None if db.state in ("OFFLINE", "RECOVERY_PENDING") else db.collation
        yield row


def _files(env: ExecEnv, db: Database, with_db_id: bool) -> Iterable[Row]:
    full = _last_full_backup(env, db.name)
    for f in default_files(env.inst, db):
        row: Row = {
            "file_id": f.file_id, "file_guid": g(stable_guid(env.inst.name, db.name, f.file_id, "file")),
            "type": f.type, "type_desc": FILE_TYPES.get(f.type, "ROWS"), "data_space_id": f.data_space_id,
            "name": f.name, "physical_name": f.physical_name, "size": f.size_pages,
            "state": STATE_CODES.get(db.state, 0), "state_desc": db.state,
            "max_size": 268435456 if f.type == 1 else -1,
            "growth": 8192 if f.type != 2 else 0,
        }
        if f.type == 2:
            row["max_size"] = -1
        if full is not None and f.type == 0:
            row["differential_base_lsn"] = full.first_lsn
            row["differential_base_guid"] = g(stable_guid(env.inst.name, full.backup_set_id, "diffbase"))
            row["differential_base_time"] = ts(full.start)
            row["backup_lsn"] = full.first_lsn
        if with_db_id:
            row["database_id"] = db.database_id
        yield row


def r_master_files(env: ExecEnv) -> Iterable[Row]:
    for db in env.databases():
        yield from _files(env, db, True)


def r_database_files(env: ExecEnv, db: Database) -> Iterable[Row]:
    return _files(env, db, False)


def r_filegroups(env: ExecEnv, db: Database) -> Iterable[Row]:
    for i, fg in enumerate(db.filegroups):
        yield {"name": fg.name, "data_space_id": fg.data_space_id, "type": fg.type,
               "type_desc": FG_TYPES.get(fg.type, "ROWS_FILEGROUP"),
               "is_default": fg.type == "FG" and (fg.name == "PRIMARY" or i == 0),
               "filegroup_guid": None if fg.name == "PRIMARY" else g(stable_guid(env.inst.name, db.name, fg.name))}


def r_tables(env: ExecEnv, db: Database) -> Iterable[Row]:
    created = ts(db.create_date)
    fd = next((fg.data_space_id for fg in db.filegroups if fg.type == "FD"), None)
    for i in range(db.memory_optimized_tables):
        yield {"name": f"MemoryOptimizedTable{i + 1}", "object_id": 1_000_000 + i, "create_date": created,
               "modify_date": created, "is_memory_optimized": True, "durability": 0}
    for i in range(db.filetables):
        yield {"name": f"FileTable{i + 1}", "object_id": 2_000_000 + i, "create_date": created,
               "modify_date": created, "is_filetable": True, "filestream_data_space_id": fd,
               "lob_data_space_id": 1}


def r_schemas(env: ExecEnv, db: Database) -> Iterable[Row]:
    for name, sid, owner in (("dbo", 1, 1), ("guest", 2, 2), ("INFORMATION_SCHEMA", 3, 3), ("sys", 4, 4)):
        yield {"name": name, "schema_id": sid, "principal_id": owner}


# --------------------------------------------------------------------------- backups


def backups_of(env: ExecEnv, db_name: str) -> list:
    """msdb history of one database (indexed once per query: scale scenarios keep long histories)."""
    def build() -> dict[str, list]:
        index: dict[str, list] = {}
        for b in env.inst.backups:
            index.setdefault(b.database_name.lower(), []).append(b)
        return index
    return env.cache("backups_by_db", build).get(db_name.lower(), [])


def _last_full_backup(env: ExecEnv, db_name: str):
    best = None
    for b in backups_of(env, db_name):
        if b.type == "D" and not b.is_copy_only:
            if best is None or b.finish >= best.finish:
                best = b
    return best


def _backups_sig(env: ExecEnv) -> tuple:
    return tuple((b.backup_set_id, b.database_name, b.type, b.start, b.finish, b.first_lsn, b.last_lsn, b.size_bytes,
                  b.is_copy_only, b.checksums) for b in env.inst.backups)


def sig_backupset(env: ExecEnv) -> tuple:
    """Every input of r_backupset / r_backupmediafamily (history rarely changes; dashboards poll it)."""
    dbs = tuple((d.name, d.database_id, d.create_date, d.compatibility_level, d.collation, d.recovery_model)
                for d in env.databases())
    return (_backups_sig(env), dbs, tuple(sorted((k, id(v)) for k, v in env.state.backup_extra.items())), env.major,
            env.inst.version, env.inst.name)


def sig_master_files(env: ExecEnv) -> tuple:
    """Every input of r_master_files."""
    return tuple((d.name, d.database_id, d.state, tuple((f.file_id, f.type, f.name, f.physical_name, f.size_pages,
                                                          f.data_space_id) for f in d.files))
                 for d in env.databases()), _backups_sig(env), env.inst.name


def sig_database_recovery_status(env: ExecEnv) -> tuple:
    """Every input of r_database_recovery_status."""
    return tuple((d.name, d.database_id, d.state, d.recovery_model, d.log_chain_started, d.log_truncation_lsn)
                 for d in env.databases()), _backups_sig(env), env.inst.name


def r_backupset(env: ExecEnv) -> Iterable[Row]:
    inst = env.inst
    build = int(inst.version.split(".")[2]) if inst.version.count(".") >= 2 else 0
    for b in inst.backups:
        db = env.find_db(b.database_name)
        extra = env.state.backup_extra.get(b.backup_set_id)
        compressed = bool(extra and extra.compressed)
        row: Row = {
            "backup_set_id": b.backup_set_id,
            "backup_set_uuid": g(stable_guid(inst.name, b.backup_set_id, "set")),
            "media_set_id": b.backup_set_id, "software_major_version": inst.major,
            "software_build_version": build, "first_lsn": b.first_lsn, "last_lsn": b.last_lsn,
            "checkpoint_lsn": b.first_lsn, "database_backup_lsn": extra.database_backup_lsn if extra else None,
            "backup_start_date": ts(b.start), "backup_finish_date": ts(b.finish), "type": b.type,
            "backup_size": b.size_bytes, "database_name": b.database_name, "server_name": inst.name,
            "machine_name": machine_name(inst), "has_backup_checksums": b.checksums,
            "is_copy_only": b.is_copy_only, "begins_log_chain": bool(extra and extra.begins_log_chain),
            "compressed_backup_size": int(b.size_bytes * 0.36) if compressed else b.size_bytes,
            "user_name": extra.user_name if extra else "sa",
            "name": extra.name if extra else None, "description": extra.description if extra else None,
        }
        if db is not None:
            row.update({
                "database_creation_date": ts(db.create_date), "compatibility_level": db.compatibility_level,
                "database_version": DB_VERSIONS.get(inst.major, 957), "collation_name": db.collation,
                "recovery_model": db.recovery_model.replace("BULK_LOGGED", "BULK-LOGGED"),
                "database_guid": database_guid(env, db), "family_guid": database_guid(env, db),
                "first_recovery_fork_guid": g(stable_guid(inst.name, db.name, "fork")),
                "last_recovery_fork_guid": g(stable_guid(inst.name, db.name, "fork")),
            })
        if env.major >= 16:
            row["compression_algorithm"] = "MS_XPRESS" if compressed else None
            row["last_valid_restore_time"] = ts(b.finish) if b.type == "L" else None
        yield row


def r_backupmediafamily(env: ExecEnv) -> Iterable[Row]:
    for b in env.inst.backups:
        extra = env.state.backup_extra.get(b.backup_set_id)
        device = extra.device if extra else f"{backup_dir(env.inst)}{b.database_name}_{b.backup_set_id}.bak"
        yield {"media_set_id": b.backup_set_id, "media_family_id": g(stable_guid(env.inst.name, b.backup_set_id)),
               "physical_device_name": device, "device_type": 9 if device.lower().startswith("http") else 2}


def last_log_backup_lsn(env: ExecEnv, db: Database) -> int | None:
    """sys.database_recovery_status.last_log_backup_lsn: NULL until the log chain starts."""
    if db.recovery_model == "SIMPLE" or not db.log_chain_started:
        return None
    best: int | None = None
    for b in backups_of(env, db.name):
        if not b.is_copy_only and b.type in ("D", "L"):
            best = max(best or 0, b.last_lsn)
    return best if best is not None else db.log_truncation_lsn


def r_database_recovery_status(env: ExecEnv) -> Iterable[Row]:
    for db in env.databases():
        if db.state != "ONLINE":
            continue
        guid = database_guid(env, db)
        yield {"database_id": db.database_id, "database_guid": guid, "family_guid": guid,
               "last_log_backup_lsn": last_log_backup_lsn(env, db),
               "recovery_fork_guid": g(stable_guid(env.inst.name, db.name, "fork")),
               "first_recovery_fork_guid": g(stable_guid(env.inst.name, db.name, "fork"))}


# --------------------------------------------------------------------------- security


def cert_info(env: ExecEnv, cert: Certificate) -> x509.CertInfo | None:
    key = cert.thumbprint
    if key not in env.state.cert_cache:
        try:
            env.state.cert_cache[key] = x509.parse(cert.der)
        except Exception:  # noqa: BLE001 - a scenario may give a placeholder blob
            env.state.cert_cache[key] = None
    return env.state.cert_cache[key]


def cert_sid(cert: Certificate) -> bytes:
    return bytes.fromhex("010600000000000901000000") + cert.thumbprint


def cert_string_sid(cert: Certificate) -> str:
    tp = cert.thumbprint
    parts = [int.from_bytes(tp[i:i + 4], "little") for i in range(0, 20, 4)]
    return "S-1-9-1-" + "-".join(str(p) for p in parts)


def r_certificates(env: ExecEnv, db: Database) -> Iterable[Row]:
    for cert in env.certificates(db.name).values():
        info = cert_info(env, cert)
        yield {
            "name": cert.name, "certificate_id": cert.certificate_id,
            "pvt_key_encryption_type": cert.pvt_key_encryption_type,
            "pvt_key_encryption_type_desc": PVK_DESC.get(cert.pvt_key_encryption_type),
            "issuer_name": cert.issuer or (info.issuer if info else cert.subject),
            "cert_serial_number": cert.serial or (info.serial if info else None),
            "sid": cert_sid(cert), "string_sid": cert_string_sid(cert), "subject": cert.subject,
            "expiry_date": ts(cert.expiry_date), "start_date": ts(cert.start_date), "thumbprint": cert.thumbprint,
            "key_length": info.key_length if info else 2048,
        }


def r_symmetric_keys(env: ExecEnv, db: Database) -> Iterable[Row]:
    if db.name.lower() == "master":
        if env.inst.master_key:
            created = ts(env.state.master_key_created or env.state.start_time)
            yield {"name": "##MS_DatabaseMasterKey##", "symmetric_key_id": 101, "create_date": created,
                   "modify_date": created, "key_guid": g(stable_guid(env.inst.name, "master", "dmk"))}
        started = ts(dt.datetime(2003, 4, 8, 9, 13, 36))
        yield {"name": "##MS_ServiceMasterKey##", "symmetric_key_id": 102, "create_date": started,
               "modify_date": started, "key_guid": g(stable_guid(env.inst.name, "smk"))}
    elif db.name.lower() in env.state.db_master_keys:
        created = ts(env.state.db_master_keys[db.name.lower()])
        yield {"name": "##MS_DatabaseMasterKey##", "symmetric_key_id": 101, "create_date": created,
               "modify_date": created, "key_guid": g(stable_guid(env.inst.name, db.name, "dmk"))}


SYSTEM_ENDPOINTS = [
    # id, name, protocol, protocol_desc, is_admin, tcp port
    (1, "Dedicated Admin Connection", 2, "TCP", True, 0),
    (2, "TSQL Local Machine", 4, "SHARED_MEMORY", False, None),
    (3, "TSQL Named Pipes", 3, "NAMED_PIPES", False, None),
    (4, "TSQL Default TCP", 2, "TCP", False, 0),
    (5, "TSQL Default VIA", 5, "VIA", False, None),
]
ENDPOINT_STATES = {"STARTED": 0, "STOPPED": 1, "DISABLED": 2}
ROLE_CODES = {"NONE": 0, "PARTNER": 1, "WITNESS": 2, "ALL": 3}
AUTH_CODES = {"NTLM": 1, "KERBEROS": 2, "NEGOTIATE": 3, "CERTIFICATE": 4, "NTLM, CERTIFICATE": 5,
              "KERBEROS, CERTIFICATE": 6, "NEGOTIATE, CERTIFICATE": 7, "CERTIFICATE, NTLM": 8,
              "CERTIFICATE, KERBEROS": 9, "CERTIFICATE, NEGOTIATE": 10}
ALGO_CODES = {"NONE": 0, "RC4": 1, "AES": 2, "NONE, RC4": 3, "NONE, AES": 4, "RC4, AES": 5, "AES, RC4": 6,
              "NONE, RC4, AES": 7, "NONE, AES, RC4": 8}


def algorithm_desc(encryption: str, algorithm: str) -> str:
    if encryption == "DISABLED":
        return "NONE"
    algos = ", ".join(a for a in algorithm.replace(",", " ").split())
    return f"NONE, {algos}" if encryption == "SUPPORTED" else algos


def _endpoint_rows(env: ExecEnv, kind: str) -> Iterable[Row]:
    if kind != "dbm":
        for eid, name, proto, proto_desc, admin, port in SYSTEM_ENDPOINTS:
            if kind == "tcp" and port is None:
                continue
            row: Row = {"name": name, "endpoint_id": eid, "protocol": proto, "protocol_desc": proto_desc,
                        "type": 2, "type_desc": "TSQL", "state": 0, "state_desc": "STARTED",
                        "is_admin_endpoint": admin}
            if kind == "tcp":
                row.update({"port": port, "is_dynamic_port": True})
            yield row
    for ep in sorted(env.inst.endpoints.values(), key=lambda e: e.endpoint_id):
        row = {"name": ep.name, "endpoint_id": ep.endpoint_id, "state": ENDPOINT_STATES.get(ep.state, 1),
               "state_desc": ep.state}
        if kind == "tcp":
            row.update({"port": ep.port, "ip_address": ep.ip_address})
        elif kind == "dbm":
            cert = env.inst.certificates.get(ep.certificate_name or "") if ep.certificate_name else None
            algo = algorithm_desc(ep.encryption, ep.algorithm)
            row.update({"role": ROLE_CODES.get(ep.role, 3), "role_desc": ep.role,
                        "is_encryption_enabled": ep.encryption != "DISABLED",
                        "connection_auth": AUTH_CODES.get(ep.connection_auth, 4),
                        "connection_auth_desc": ep.connection_auth,
                        "certificate_id": cert.certificate_id if cert else 0,
                        "encryption_algorithm": ALGO_CODES.get(algo, 2), "encryption_algorithm_desc": algo})
        yield row


def r_endpoints(env: ExecEnv) -> Iterable[Row]:
    return _endpoint_rows(env, "all")


def r_tcp_endpoints(env: ExecEnv) -> Iterable[Row]:
    return _endpoint_rows(env, "tcp")


def r_database_mirroring_endpoints(env: ExecEnv) -> Iterable[Row]:
    return _endpoint_rows(env, "dbm")


SERVER_ROLES = ["public", "sysadmin", "securityadmin", "serveradmin", "setupadmin", "processadmin",
                "diskadmin", "dbcreator", "bulkadmin"]


def login_principal_id(env: ExecEnv, name: str) -> int:
    names = sorted(env.inst.logins, key=lambda n: (n.lower() != "sa", n.lower()))
    for i, n in enumerate(names):
        if n.lower() == name.lower():
            return 1 if n.lower() == "sa" else 256 + i
    return 0


LOGIN_TYPE_DESC = {"S": "SQL_LOGIN", "E": "EXTERNAL_LOGIN", "X": "EXTERNAL_GROUP"}  # sys.server_principals


def login_sid(env: ExecEnv, name: str) -> bytes:
    """A login's SID: 0x01 for sa, the Entra object/client ID for an external login, else a stable hash."""
    if name.lower() == "sa":
        return b"\x01"
    lg = env.inst.logins.get(name) or next((v for k, v in env.inst.logins.items() if k.lower() == name.lower()), None)
    if lg is not None and lg.sid is not None:
        return lg.sid
    return hashlib.md5(f"{env.inst.name}|{name.lower()}".encode()).digest()


def _principals(env: ExecEnv, sql_logins_only: bool) -> Iterable[Row]:
    created = ts(dt.datetime(2003, 4, 8, 9, 10, 35))
    for name, lg in sorted(env.inst.logins.items(), key=lambda kv: login_principal_id(env, kv[0])):
        if sql_logins_only and lg.type != "S":
            continue  # sys.sql_logins: SQL Server authentication logins only
        row: Row = {"name": name, "principal_id": login_principal_id(env, name), "sid": login_sid(env, name),
                    "type": lg.type, "type_desc": LOGIN_TYPE_DESC[lg.type], "is_disabled": lg.disabled,
                    "create_date": created, "modify_date": created, "default_database_name": "master",
                    "default_language_name": "us_english"}
        if sql_logins_only:
            row["password_hash"] = hashlib.sha512(lg.password.encode()).digest()
        yield row
    if sql_logins_only:
        return
    for i, role in enumerate(SERVER_ROLES):
        yield {"name": role, "principal_id": 2 + i, "sid": bytes([2 + i]) if role != "public" else b"\x02",
               "type": "R", "type_desc": "SERVER_ROLE", "create_date": created, "modify_date": created,
               "owning_principal_id": 1, "is_fixed_role": role != "public"}


def r_server_principals(env: ExecEnv) -> Iterable[Row]:
    return _principals(env, False)


def r_sql_logins(env: ExecEnv) -> Iterable[Row]:
    return _principals(env, True)


def r_server_role_members(env: ExecEnv) -> Iterable[Row]:
    for name, lg in env.inst.logins.items():
        if lg.sysadmin:
            yield {"role_principal_id": 3, "member_principal_id": login_principal_id(env, name)}


def r_dm_database_encryption_keys(env: ExecEnv) -> Iterable[Row]:
    encrypted = [db for db in env.databases() if db.is_encrypted]
    if not encrypted:
        return
    now = ts(env.state.start_time)
    tempdb = next((d for d in env.databases() if d.name == "tempdb"), None)
    for db in ([tempdb] if tempdb else []) + encrypted:
        row: Row = {"database_id": db.database_id, "encryption_state": 3, "create_date": now,
                    "regenerate_date": now, "modify_date": now, "set_date": now, "opened_date": now}
        if db.name != "tempdb":
            row["encryptor_thumbprint"] = hashlib.sha1(f"{env.inst.name}|TDE|{db.name}".encode()).digest()
            row["encryptor_type"] = "CERTIFICATE"
        else:
            row["encryptor_type"] = "ASYMMETRIC KEY"
        if env.major >= 15:
            row.update({"encryption_state_desc": "ENCRYPTED", "encryption_scan_state": 4,
                        "encryption_scan_state_desc": "COMPLETE", "encryption_scan_modify_date": now})
        yield row


def r_dm_exec_sessions(env: ExecEnv) -> Iterable[Row]:
    for spid, s in sorted(env.state.sessions.items()):
        db = env.find_db(s.database)
        yield {"session_id": spid, "login_time": ts(s.login_time), "host_name": s.host_name,
               "program_name": s.app_name, "login_name": s.login, "original_login_name": s.login,
               "status": "running" if s is env.session else "sleeping",
               "last_request_start_time": ts(s.last_request_start or s.login_time),
               "last_request_end_time": ts(s.last_request_end), "database_id": db.database_id if db else 1,
               "open_transaction_count": s.trancount, "security_id": login_sid(env, s.login),
               "original_security_id": login_sid(env, s.login), "context_info": s.context_info,
               "lock_timeout": s.options.get("LOCK_TIMEOUT", -1),
               "text_size": s.options.get("TEXTSIZE", 2147483647)}


# --------------------------------------------------------------------------- server


def r_dm_os_host_info(env: ExecEnv) -> Iterable[Row]:
    inst = env.inst
    windows = is_windows(inst)
    yield {"host_platform": inst.host_platform, "host_distribution": inst.host_distribution,
           "host_release": inst.host_release, "host_sku": 8 if windows else None,
           "os_language_version": 1033 if windows else 0}


def r_dm_server_services(env: ExecEnv) -> Iterable[Row]:
    inst = env.inst
    name = instance_name(inst) or "MSSQLSERVER"
    windows = is_windows(inst)
    started = env.state.start_time.replace(tzinfo=dt.timezone.utc)
    yield {"servicename": f"SQL Server ({name})", "startup_type": 2, "startup_type_desc": "Automatic",
           "status": 4, "status_desc": "Running", "process_id": 4242, "last_startup_time": to_sqlite(started),
           "service_account": f"NT Service\\MSSQL${name}" if windows and name != "MSSQLSERVER"
           else ("NT Service\\MSSQLSERVER" if windows else "mssql"),
           "filename": f'"C:\\Program Files\\Microsoft SQL Server\\{instance_id(inst)}\\MSSQL\\Binn\\sqlservr.exe" '
                       f"-s{name}" if windows else "/opt/mssql/bin/sqlservr"}
    running = inst.agent_running
    yield {"servicename": f"SQL Server Agent ({name})", "startup_type": 2 if running else 3,
           "startup_type_desc": "Automatic" if running else "Manual", "status": 4 if running else 1,
           "status_desc": "Running" if running else "Stopped", "process_id": 4343 if running else None,
           "last_startup_time": to_sqlite(started) if running else None,
           "service_account": "NT Service\\SQLSERVERAGENT" if windows else "mssql",
           "filename": f'"C:\\Program Files\\Microsoft SQL Server\\{instance_id(inst)}\\MSSQL\\Binn\\SQLAGENT.EXE" '
                       f"-i {name}" if windows else "/opt/mssql/bin/sqlagent",
           "instant_file_initialization_enabled": "N"}


def config_value(env: ExecEnv, opt) -> int:
    """sys.configurations.value: Agent XPs reads 1 while SQL Server Agent runs (Agent enables them)."""
    return 1 if opt.name == "Agent XPs" and env.inst.agent_running else opt.value


def config_in_use(env: ExecEnv, opt) -> int:
    if opt.name == "Agent XPs" and env.inst.agent_running:
        return 1
    return opt.in_use()


def r_configurations(env: ExecEnv) -> Iterable[Row]:
    for opt in sorted(env.state.config.values(), key=lambda o: o.configuration_id):
        yield {"configuration_id": opt.configuration_id, "name": opt.name, "value": config_value(env, opt),
               "minimum": opt.minimum, "maximum": opt.maximum, "value_in_use": config_in_use(env, opt),
               "description": opt.description, "is_dynamic": opt.is_dynamic, "is_advanced": opt.is_advanced}


def r_dm_server_registry(env: ExecEnv) -> Iterable[Row]:
    inst = env.inst
    base = f"HKLM\\Software\\Microsoft\\Microsoft SQL Server\\{instance_id(inst)}\\MSSQLServer"
    ddir = data_dir(inst)
    yield {"registry_key": f"{base}\\CurrentVersion", "value_name": "CurrentVersion", "value_data": inst.version}
    yield {"registry_key": f"{base}\\SuperSocketNetLib\\Tcp\\IPAll", "value_name": "TcpPort",
           "value_data": "1433"}
    yield {"registry_key": f"{base}\\SuperSocketNetLib\\Tcp\\IPAll", "value_name": "TcpDynamicPorts",
           "value_data": ""}
    args = [f"-d{ddir}master.mdf", f"-e{ddir.replace('DATA', 'Log')}ERRORLOG", f"-l{ddir}mastlog.ldf"]
    args += [f"-T{flag}" for flag in sorted(inst.startup_trace_flags)]
    for i, arg in enumerate(args):
        yield {"registry_key": f"{base}\\Parameters", "value_name": f"SQLArg{i}", "value_data": arg}
    svc = "SQLSERVERAGENT" if not instance_name(inst) else f"SQLAgent${instance_name(inst)}"
    yield {"registry_key": f"HKLM\\SYSTEM\\CurrentControlSet\\Services\\{svc}", "value_name": "Start",
           "value_data": 2 if inst.agent_running else 3}
    yield {"registry_key": f"HKLM\\SYSTEM\\CurrentControlSet\\Services\\{svc}", "value_name": "ObjectName",
           "value_data": "NT Service\\SQLSERVERAGENT"}
    if inst.hadr_enabled or inst.hadr_enabled_after_restart:
        yield {"registry_key": f"{base}\\HADR", "value_name": "HADR_Enabled",
               "value_data": int(bool(inst.hadr_enabled_after_restart if inst.hadr_enabled_after_restart
                                      is not None else inst.hadr_enabled))}


def r_system_objects(env: ExecEnv) -> Iterable[Row]:
    from .catalog import VIEWS
    from .procedures import available_procedures

    created = ts(dt.datetime(2022, 10, 8, 6, 55, 0) if env.major >= 16 else dt.datetime(2019, 9, 24, 14, 21))
    for i, (name, kind) in enumerate(sorted(available_procedures(env).items())):
        ptype, desc = ("X", "EXTENDED_STORED_PROCEDURE") if kind == "X" else ("P", "SQL_STORED_PROCEDURE")
        yield {"name": name, "object_id": -1_000_000 - i, "type": ptype, "type_desc": desc,
               "create_date": created, "modify_date": created}
    for i, key in enumerate(sorted(VIEWS)):
        v = VIEWS[key]
        if v.scope == "msdb" or v.min_major > env.major:
            continue
        yield {"name": key.split(".", 1)[1], "object_id": -2_000_000 - i, "type": "V", "type_desc": "VIEW",
               "create_date": created, "modify_date": created}


def r_dm_hadr_cluster(env: ExecEnv) -> Iterable[Row]:
    if any(ag.cluster_type == "WSFC" for ag in env.inst.availability_groups.values()):
        yield {"cluster_name": f"{machine_name(env.inst)}-CL", "quorum_type": 0, "quorum_type_desc": "NODE_MAJORITY",
               "quorum_state": 1, "quorum_state_desc": "NORMAL_QUORUM"}


ServerRenderer = Callable[[ExecEnv], Iterable[Row]]
DatabaseRenderer = Callable[[ExecEnv, Database], Iterable[Row]]
