"""System built-ins: SERVERPROPERTY, @@globals, logins and roles, databases, certificates, errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from ...tds.backend import SqlType
from ..context import ExecEnv, instance_name, machine_name
from ..sqltypes import INT, SQL_VARIANT, SYSNAME, VARBINARY_MAX, to_sqlite
from .registry import FUNCTIONS, Fn, fn
from .registry import nv as _nv

# --------------------------------------------------------------------------- system


VERSION_YEARS = {13: "2016", 14: "2017", 15: "2019", 16: "2022", 17: "2025"}
BUILD_DATES = {13: "Dec 11 2024 22:33:52", 14: "Jan 22 2025 13:52:22", 15: "Jul  9 2024 17:42:31",
               16: "Oct  8 2024 15:42:01", 17: "Nov 18 2025 12:12:11"}
EDITION_IDS = {"enterprise": 1804890536, "developer": -2117995310, "standard": -1534726760,
               "express": -1592396055, "web": 1293598313, "evaluation": 610778273, "sql": 1674378470}


def version_string(env: ExecEnv) -> str:
    """@@VERSION, the multi-line banner (level, KB, build date, edition, host OS)."""
    inst = env.inst
    if inst.engine_edition == 8:  # Azure SQL Managed Instance
        return (f"Microsoft SQL Azure (RTM) - {inst.version} \n\tOct  2 2025 14:33:06 \n"
                "\tCopyright (C) 2022 Microsoft Corporation\n")
    year = VERSION_YEARS.get(inst.major, str(2000 + inst.major))
    level = inst.product_level + (f"-{inst.update_level}" if inst.update_level else "")
    kb = f" ({inst.update_reference})" if inst.update_reference else ""
    if inst.host_platform == "Windows":
        host = f"{inst.host_distribution} {inst.host_release} <X64> (Build 20348: ) (Hypervisor)\n"
    else:
        host = f"Linux ({inst.host_distribution} {inst.host_release}) <X64>"
    return (f"Microsoft SQL Server {year} ({level}){kb} - {inst.version} (X64) \n"
            f"\t{BUILD_DATES.get(inst.major, 'Jan  1 2025 00:00:00')} \n"
            f"\tCopyright (C) {year} Microsoft Corporation\n"
            f"\t{inst.edition} on {host}")


def server_property(env: ExecEnv, name: str) -> Any:
    inst = env.inst
    parts = inst.version.split(".")
    windows = inst.host_platform == "Windows"
    from ..context import backup_dir, data_dir

    edition_key = inst.edition.split()[0].lower() if inst.edition else ""
    props: dict[str, Any] = {
        "productversion": inst.version, "productmajorversion": parts[0],
        "productminorversion": parts[1] if len(parts) > 1 else "0",
        "productbuild": parts[2] if len(parts) > 2 else "0", "productlevel": inst.product_level,
        "productupdatelevel": inst.update_level, "productupdatereference": inst.update_reference,
        "productbuildtype": None, "edition": inst.edition, "editionid": EDITION_IDS.get(edition_key),
        "engineedition": inst.engine_edition, "ishadrenabled": int(inst.hadr_enabled),
        "hadrmanagerstatus": 1 if inst.hadr_enabled else 0, "collation": inst.collation,
        "collationid": 872468488, "lcid": 1033, "sqlcharset": 1, "sqlcharsetname": "iso_1", "sqlsortorder": 52,
        "sqlsortordername": "nocase_iso", "servername": inst.name, "machinename": machine_name(inst),
        "computernamephysicalnetbios": machine_name(inst), "instancename": instance_name(inst),
        "isclustered": 0, "isintegratedsecurityonly": 0, "issingleuser": 0, "isxtpsupported": 1,
        "isfulltextinstalled": 1 if windows else 0, "islocaldb": 0, "ispolybaseinstalled": 0,
        "isadvancedanalyticsinstalled": 0, "instancedefaultdatapath": data_dir(inst),
        "instancedefaultlogpath": data_dir(inst), "pathseparator": "\\" if windows else "/",
        "processid": 4242, "resourceversion": inst.version, "licensetype": "DISABLED", "numlicenses": None,
        "buildclrversion": "v4.0.30319", "filestreamconfiguredlevel": 0, "filestreameffectivelevel": 0,
        "filestreamsharename": instance_name(inst) or "MSSQLSERVER", "isserversuspendedforsnapshotbackup": 0,
        "suspendeddatabasecount": 0, "errorlogfilename": data_dir(inst).replace("DATA", "Log") + "ERRORLOG",
        "resourcelastupdatedatetime": to_sqlite(dt.datetime(2024, 10, 8, 15, 42, 1)),
    }
    if inst.major >= 15:
        props.update({"instancedefaultbackuppath": backup_dir(inst), "isbigdatacluster": 0,
                      "istempdbmetadatamemoryoptimized": 0})
    if inst.major >= 16:
        props["isexternalgovernanceenabled"] = 0
    return props.get(name.lower())


def _fixed_role(role: str) -> bool:
    return role.lower() in ("sysadmin", "serveradmin", "dbcreator", "setupadmin", "bulkadmin", "securityadmin",
                            "diskadmin", "processadmin", "public")


@fn("SERVERPROPERTY", 1, 1, SQL_VARIANT)
def _serverproperty(env: ExecEnv, name: Any) -> Any:
    return None if name is None else server_property(env, str(name))


@fn("IS_SRVROLEMEMBER", 1, 2, INT)
def _is_srvrolemember(env: ExecEnv, role: Any, login: Any = None) -> Any:
    if role is None or not _fixed_role(str(role)):
        return None
    lg = env.inst.logins.get(str(login)) if login is not None else env.login()
    if lg is None:
        return None
    if str(role).lower() == "public":
        return 1
    return 1 if str(role).lower() == "sysadmin" and lg.sysadmin else 0


@fn("IS_MEMBER", 1, 1, INT)
def _is_member(env: ExecEnv, role: Any) -> Any:
    return 1 if env.sysadmin and str(role).lower() in ("db_owner", "public") else (1 if str(role).lower() == "public" else 0)


@fn("HAS_PERMS_BY_NAME", 3, 5, INT)
def _has_perms_by_name(env: ExecEnv, securable: Any, cls: Any, permission: Any, *rest: Any) -> Any:
    if env.sysadmin:
        return 1
    return 1 if str(permission).upper() in ("CONNECT SQL", "VIEW ANY DATABASE", "CONNECT") else 0


def _login_name(env: ExecEnv) -> str:
    return env.session.login


for _n in ("SUSER_SNAME", "SUSER_NAME", "ORIGINAL_LOGIN", "SYSTEM_USER"):
    FUNCTIONS[_n] = Fn(_n, 0, 1, lambda env, sid=None: _suser(env, sid), SYSNAME)


def _suser(env: ExecEnv, sid: Any) -> Any:
    if sid is None:
        return _login_name(env)
    from ..render import login_sid

    for name in env.inst.logins:
        if login_sid(env, name) == sid or name.lower() == str(sid).lower():
            return name
    return None


@fn("SUSER_SID", 0, 1, SqlType("varbinary", 85))
def _suser_sid(env: ExecEnv, name: Any = None) -> Any:
    from ..render import login_sid

    target = _login_name(env) if name is None else str(name)
    return login_sid(env, target) if any(n.lower() == target.lower() for n in env.inst.logins) else None


for _n in ("USER_NAME", "CURRENT_USER", "SESSION_USER", "USER"):
    FUNCTIONS[_n] = Fn(_n, 0, 1, lambda env, uid=None: "dbo" if env.sysadmin else env.session.login, SYSNAME)


@fn("USER_ID", 0, 1, INT)
def _user_id(env: ExecEnv, name: Any = None) -> int:
    return 1 if env.sysadmin else 5


@fn("HOST_NAME", 0, 0, SYSNAME)
def _host_name(env: ExecEnv) -> str:
    return env.session.host_name


@fn("APP_NAME", 0, 0, SYSNAME)
def _app_name(env: ExecEnv) -> str:
    return env.session.app_name


@fn("DB_NAME", 0, 1, SYSNAME)
def _db_name(env: ExecEnv, dbid: Any = None) -> Any:
    if dbid is None:
        db = env.current_db
        return db.name if db else env.session.database
    db = env.db_by_id(int(dbid))
    return db.name if db else None


@fn("DB_ID", 0, 1, SqlType("smallint"))
def _db_id(env: ExecEnv, name: Any = None) -> Any:
    db = env.current_db if name is None else env.find_db(str(name))
    return db.database_id if db else None


@fn("DATABASEPROPERTYEX", 2, 2, SQL_VARIANT)
def _databasepropertyex(env: ExecEnv, name: Any, prop: Any) -> Any:
    db = env.find_db(str(name)) if name is not None else None
    if db is None or prop is None:
        return None
    p = str(prop).lower()
    values = {"recovery": db.recovery_model, "status": db.state,
              "updateability": "READ_ONLY" if db.is_read_only else "READ_WRITE", "useraccess": "MULTI_USER",
              "collation": db.collation if db.state == "ONLINE" else None, "isinstandby": int(db.is_in_standby),
              "isautoclose": 0, "isautoshrink": 0, "isautocreatestatistics": 1, "isautoupdatestatistics": 1,
              "isfulltextenabled": 1, "isencrypted": int(db.is_encrypted), "version": 957,
              "comparisonstyle": 196609, "lcid": 1033, "sqlsortorder": 52, "ispublished": int(db.is_published),
              "isclonedatabase": 0, "ismemoryoptimizedelevatetosnapshoton": 0, "lastgoodcheckdbtime":
              to_sqlite(dt.datetime(1900, 1, 1))}
    return values.get(p)


def _object_id(env: ExecEnv, name: Any, kind: Any = None) -> Any:
    if name is None:
        return None
    from ..catalog import VIEWS, find_view
    from ..procedures import available_procedures

    parts = [p.strip("[]") for p in str(name).split(".")]
    obj = parts[-1]
    schema = parts[-2] if len(parts) >= 2 and parts[-2] else "dbo"
    if schema.lower() == "sys" or len(parts) == 1:
        v = find_view("sys", obj)
        if v is not None and v.min_major <= env.major:
            return -2_000_000 - sorted(VIEWS).index(v.key)
        procs = sorted(available_procedures(env))
        for i, p in enumerate(procs):
            if p.lower() == obj.lower():
                return -1_000_000 - i
    db = env.find_db(parts[-3]) if len(parts) >= 3 and parts[-3] else env.current_db
    if db is not None:
        from ..render import r_tables

        for row in r_tables(env, db):
            if row["name"].lower() == obj.lower():
                return row["object_id"]
    return None


FUNCTIONS["OBJECT_ID"] = Fn("OBJECT_ID", 1, 2, _object_id, INT)


@fn("OBJECT_NAME", 1, 2, SYSNAME)
def _object_name(env: ExecEnv, oid: Any, dbid: Any = None) -> Any:
    from ..catalog import VIEWS
    from ..procedures import available_procedures

    if oid is None:
        return None
    oid = int(oid)
    if -2_000_000 >= oid > -3_000_000:
        keys = sorted(VIEWS)
        i = -2_000_000 - oid
        return keys[i].split(".", 1)[1] if i < len(keys) else None
    if -1_000_000 >= oid > -2_000_000:
        procs = sorted(available_procedures(env))
        i = -1_000_000 - oid
        return procs[i] if i < len(procs) else None
    return None


@fn("SCHEMA_NAME", 0, 1, SYSNAME)
def _schema_name(env: ExecEnv, sid: Any = None) -> Any:
    return {None: "dbo", 1: "dbo", 2: "guest", 3: "INFORMATION_SCHEMA", 4: "sys"}.get(sid)


def _find_cert(env: ExecEnv, cert_id: Any):
    if cert_id is None:
        return None
    for cert in env.certificates(env.session.database).values():
        if cert.certificate_id == int(cert_id):
            return cert
    return None


@fn("CERT_ID", 1, 1, INT)
def _cert_id(env: ExecEnv, name: Any) -> Any:
    if name is None:
        return None
    store = env.certificates(env.session.database)
    cert = store.get(str(name))
    return cert.certificate_id if cert else None


@fn("CERTENCODED", 1, 1, VARBINARY_MAX)
def _certencoded(env: ExecEnv, cert_id: Any) -> Any:
    cert = _find_cert(env, cert_id)
    return cert.der if cert else None


@fn("CERTPRIVATEKEY", 2, 3, VARBINARY_MAX)
def _certprivatekey(env: ExecEnv, cert_id: Any, password: Any, decryption: Any = None) -> Any:
    cert = _find_cert(env, cert_id)
    if cert is None or cert.pvt_key_encryption_type == "NA":
        return None
    return env.state.private_keys.get(cert.thumbprint)


@fn("CERTPROPERTY", 2, 2, SQL_VARIANT)
def _certproperty(env: ExecEnv, cert_id: Any, prop: Any) -> Any:
    cert = _find_cert(env, cert_id)
    if cert is None or prop is None:
        return None
    from ..render import cert_info, cert_sid, cert_string_sid

    info = cert_info(env, cert)
    values = {"expiry_date": to_sqlite(cert.expiry_date), "start_date": to_sqlite(cert.start_date),
              "issuer_name": cert.issuer or (info.issuer if info else cert.subject),
              "cert_serial_number": cert.serial or (info.serial if info else None), "subject": cert.subject,
              "sid": cert_sid(cert), "string_sid": cert_string_sid(cert)}
    return values.get(str(prop).lower())


for _n, _key in (("ERROR_NUMBER", "number"), ("ERROR_SEVERITY", "severity"), ("ERROR_STATE", "state"),
                 ("ERROR_LINE", "line")):
    FUNCTIONS[_n] = Fn(_n, 0, 0, (lambda key: lambda env: getattr(env.current_error, key, None)
                                  if env.current_error is not None else None)(_key), INT)
FUNCTIONS["ERROR_MESSAGE"] = Fn("ERROR_MESSAGE", 0, 0, lambda env: env.current_error.text
                                if env.current_error is not None else None, _nv(4000))
FUNCTIONS["ERROR_PROCEDURE"] = Fn("ERROR_PROCEDURE", 0, 0, lambda env: None, _nv(128))


@fn("XACT_STATE", 0, 0, SqlType("smallint"))
def _xact_state(env: ExecEnv) -> int:
    return 1 if env.session.trancount else 0


@fn("SCOPE_IDENTITY", 0, 0, SqlType("numeric", precision=38, scale=0))
def _scope_identity(env: ExecEnv) -> None:
    return None


@fn("CONNECTIONPROPERTY", 1, 1, SQL_VARIANT)
def _connectionproperty(env: ExecEnv, prop: Any) -> Any:
    return {"net_transport": "TCP", "protocol_type": "TSQL", "auth_scheme": "SQL", "local_net_address":
            env.inst.address, "local_tcp_port": 1433, "client_net_address": "127.0.0.1",
            "physical_net_transport": "TCP"}.get(str(prop).lower())


@fn("SESSIONPROPERTY", 1, 1, SQL_VARIANT)
def _sessionproperty(env: ExecEnv, prop: Any) -> Any:
    return {"ansi_nulls": 1, "ansi_padding": 1, "ansi_warnings": 1, "arithabort": 1,
            "concat_null_yields_null": 1, "numeric_roundabort": 0, "quoted_identifier": 1}.get(str(prop).lower())


@fn("HAS_DBACCESS", 1, 1, INT)
def _has_dbaccess(env: ExecEnv, name: Any) -> Any:
    return 1 if env.find_db(str(name)) is not None else None


@fn("FILEPROPERTY", 2, 2, INT)
def _fileproperty(env: ExecEnv, name: Any, prop: Any) -> Any:
    db = env.current_db
    if db is None:
        return None
    from ..context import default_files

    for f in default_files(env.inst, db):
        if f.name.lower() == str(name).lower():
            if str(prop).lower() == "spaceused":
                return f.size_pages // 2
            if str(prop).lower() == "islogfile":
                return int(f.type == 1)
            return None
    return None


# --------------------------------------------------------------------------- @@ globals

GLOBALS: dict[str, tuple[SqlType, Callable[[ExecEnv], Any]]] = {
    "@@VERSION": (_nv(300), version_string),
    "@@SERVERNAME": (_nv(128), lambda env: env.inst.name),
    "@@SERVICENAME": (_nv(128), lambda env: instance_name(env.inst) or "MSSQLSERVER"),
    "@@SPID": (SqlType("smallint"), lambda env: env.session.spid),
    "@@TRANCOUNT": (INT, lambda env: env.session.trancount),
    "@@ROWCOUNT": (INT, lambda env: env.session.rowcount),
    "@@ERROR": (INT, lambda env: env.session.error),
    "@@LANGUAGE": (_nv(128), lambda env: "us_english"),
    "@@LANGID": (SqlType("smallint"), lambda env: 0),
    "@@MAX_CONNECTIONS": (INT, lambda env: 32767),
    "@@LOCK_TIMEOUT": (INT, lambda env: env.session.options.get("LOCK_TIMEOUT", -1)),
    "@@TEXTSIZE": (INT, lambda env: env.session.options.get("TEXTSIZE", 2147483647)),
    "@@OPTIONS": (INT, lambda env: 5496),
    "@@DATEFIRST": (SqlType("tinyint"), lambda env: 7),
    "@@NESTLEVEL": (INT, lambda env: env.nest_level),
    "@@MICROSOFTVERSION": (INT, lambda env: (env.major << 24) | int(env.inst.version.split(".")[2])),
    "@@IDENTITY": (SqlType("numeric", precision=38, scale=0), lambda env: None),
    "@@FETCH_STATUS": (INT, lambda env: -1),
    "@@PROCID": (INT, lambda env: 0),
    "@@DBTS": (SqlType("varbinary", 8), lambda env: b"\x00\x00\x00\x00\x00\x00\x07\xd1"),
    "@@CONNECTIONS": (INT, lambda env: 1000 + len(env.state.sessions)),
    "@@MAX_PRECISION": (SqlType("tinyint"), lambda env: 38),
    "@@REMSERVER": (_nv(128), lambda env: None),
    "@@CURSOR_ROWS": (INT, lambda env: 0),
    "@@PACK_RECEIVED": (INT, lambda env: 0),
    "@@PACK_SENT": (INT, lambda env: 0),
}


