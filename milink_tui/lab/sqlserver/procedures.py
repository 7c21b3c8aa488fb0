"""System stored procedures (EXEC in a batch or RPC by name).

Which procedures exist depends on the build: the Azure Connect procedures
(``sp_certificate_add_issuer``, ``sp_get_endpoint_certificate``) are missing on 2016/2017
without the Azure Connect pack, and calling them then fails with 2812 exactly as on a real
server. sys.system_objects lists what is available.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..tds.backend import Column, Message, Outcome, ResultSet
from .context import ExecEnv, default_files
from .errors import TsqlError, sql_error
from .functions import version_string
from .render import config_in_use, config_value
from .sqltypes import coerce, parse_type, python_type_of

ProcResult = tuple[list[Outcome], int]


@dataclass
class Param:
    name: str  # '@name'
    type: str
    default: Any = ...  # ... = required
    output: bool = False  # the procedure writes it back (EXEC ... @p = @var OUTPUT)


@dataclass
class Proc:
    name: str
    kind: str  # 'P' (T-SQL) or 'X' (extended)
    params: list[Param]
    impl: Callable[[ExecEnv, dict[str, Any]], ProcResult]
    available: Callable[[ExecEnv], bool] = lambda env: True
    home: str | None = None  # a database-resident procedure (msdb.dbo.sp_add_job); None = sys


PROCS: dict[str, Proc] = {}


def proc(name: str, params: list[Param], kind: str = "P", available: Callable[[ExecEnv], bool] | None = None,
         home: str | None = None):
    def deco(impl: Callable[[ExecEnv, dict[str, Any]], ProcResult]):
        PROCS[name.lower()] = Proc(name, kind, params, impl, available or (lambda env: True), home)
        return impl
    return deco


def _azure_connect(env: ExecEnv) -> bool:
    return env.inst.has_azure_connect_procs


def available_procedures(env: ExecEnv) -> dict[str, str]:
    """name -> kind for the procedures this instance has (sys.system_objects)."""
    names = {p.name: p.kind for p in PROCS.values() if p.available(env) and p.home is None}
    names.update({"sp_executesql": "X", "sp_prepare": "X", "sp_execute": "X", "sp_prepexec": "X",
                  "sp_unprepare": "X"})
    return names


def normalize_name(parts: list[str]) -> str:
    """'master.sys.sp_x' / '[sys].[sp_x]' / 'master..sp_x' -> 'sp_x' (system procs live in sys)."""
    return parts[-1].lower()


def lookup(env: ExecEnv, parts: list[str]) -> Proc:
    written = ".".join(parts)
    name = normalize_name(parts)
    schema = parts[-2].lower() if len(parts) >= 2 else ""
    p = PROCS.get(name)
    if p is None or not p.available(env) or schema not in ("", "sys", "dbo"):
        raise sql_error(2812, written)
    if p.home is not None:  # lives in one database: msdb.dbo.sp_x, or sp_x while USE msdb
        database = parts[-3].lower() if len(parts) >= 3 else env.session.database.lower()
        if database != p.home or schema == "sys":
            raise sql_error(2812, written)
    return p


def bind(p: Proc, args: list[tuple[str | None, Any]]) -> dict[str, Any]:
    """Positional and @named arguments -> {'@param': value}; errors 8144/8145/201 like the server."""
    out: dict[str, Any] = {}
    positional = True
    for i, (name, value) in enumerate(args):
        if name is None:
            if not positional:
                raise TsqlError(119, "Must pass parameter number 2 and subsequent parameters as '@name = value'. "
                                     "After the form '@name = value' has been used, all subsequent parameters must "
                                     "be passed in the form '@name = value'.", 15, 1)
            if i >= len(p.params):
                raise sql_error(8144, p.name)
            out[p.params[i].name] = value
        else:
            positional = False
            match = next((q for q in p.params if q.name.lower() == name.lower()), None)
            if match is None:
                raise sql_error(8145, name, p.name)
            out[match.name] = value
    for q in p.params:
        if q.name not in out or out[q.name] is Ellipsis:
            if q.default is ...:
                raise sql_error(201, p.name, q.name)
            out[q.name] = q.default
        elif out[q.name] is not None:
            out[q.name] = coerce(out[q.name], parse_type(q.type, default_length=30), python_type_of(out[q.name]))
    return out


def result(columns: list[tuple[str, str, bool]], rows: list[tuple[Any, ...]]) -> ResultSet:
    return ResultSet([Column(n, parse_type(t, default_length=30), nullable) for n, t, nullable in columns], rows)


# --------------------------------------------------------------------------- link procedures


def _find_cert(env: ExecEnv, ident: Any):
    store = env.certificates(env.session.database)
    for cert in store.values():
        if (isinstance(ident, int) and cert.certificate_id == ident) or (
                isinstance(ident, str) and cert.name.lower() == ident.lower()):
            return cert
    return None


@proc("sp_certificate_add_issuer", [Param("@certificate_id", "sql_variant"), Param("@issuer_name", "nvarchar(4000)")],
      available=_azure_connect)
def _sp_certificate_add_issuer(env: ExecEnv, a: dict[str, Any]) -> ProcResult:
    if not env.sysadmin:
        raise sql_error(15247)
    ident = a["@certificate_id"]
    if isinstance(ident, str) and ident.strip().lstrip("-").isdigit():
        ident = int(ident)
    cert = _find_cert(env, ident)
    if cert is None:
        raise sql_error(15151, "find", "certificate", ident)
    pattern = a["@issuer_name"]
    if not pattern:
        raise TsqlError(15600, "An invalid parameter or option was specified for procedure "
                               "'sys.sp_certificate_add_issuer'.", 15, 1)
    cert.issuer_for = str(pattern)
    return [], 0


@proc("sp_get_endpoint_certificate", [Param("@endpoint_type", "int")], available=_azure_connect)
def _sp_get_endpoint_certificate(env: ExecEnv, a: dict[str, Any]) -> ProcResult:
    blob = None
    if a["@endpoint_type"] == 4:
        ep = next(iter(env.inst.endpoints.values()), None)
        if ep is not None:
            if "CERTIFICATE" not in ep.connection_auth or not ep.certificate_name:
                raise TsqlError(33113, f"The endpoint '{ep.name}' is not configured for certificate-based "
                                       "authentication.", 16, 1)
            cert = env.inst.certificates.get(ep.certificate_name)
            blob = cert.der if cert else None
    return [result([("EndpointCertificatePublicKey", "varbinary(max)", True)], [(blob,)])], 0


@proc("sp_validate_certificate_ca_chain", [Param("@certificate_id", "int")], available=_azure_connect)
def _sp_validate_certificate_ca_chain(env: ExecEnv, a: dict[str, Any]) -> ProcResult:
    cert = _find_cert(env, a["@certificate_id"])
    if cert is None:
        raise sql_error(15151, "find", "certificate", a["@certificate_id"])
    if cert.expiry_date < env.now:
        raise TsqlError(33134, f"The certificate chain for certificate '{cert.name}' could not be validated: the "
                               "certificate has expired.", 16, 1)
    return [], 0


def _multidb_available(env: ExecEnv) -> bool:
    return env.major >= 16


@proc("sp_multidb_milink", [Param("@enable", "int", None)], available=_multidb_available)
def _sp_multidb_milink(env: ExecEnv, a: dict[str, Any]) -> ProcResult:
    if a["@enable"] is None:
        return [result([("", "int", False)], [(int(env.state.multidb_milink),)])], 0
    if not env.sysadmin:
        raise sql_error(15247)
    if a["@enable"] not in (0, 1):
        raise TsqlError(15600, "An invalid parameter or option was specified for procedure 'sys.sp_multidb_milink'.",
                        15, 1)
    env.state.multidb_milink = bool(a["@enable"])
    return [], 0


# --------------------------------------------------------------------------- server configuration


@proc("sp_configure", [Param("@configname", "varchar(35)", None), Param("@configvalue", "int", None)])
def _sp_configure(env: ExecEnv, a: dict[str, Any]) -> ProcResult:
    config = env.state.config
    advanced = config["show advanced options"].in_use() == 1
    visible = [o for o in sorted(config.values(), key=lambda o: o.name.lower()) if advanced or not o.is_advanced]
    name = a["@configname"]
    cols = [("name", "nvarchar(35)", False), ("minimum", "int", False), ("maximum", "int", False),
            ("config_value", "int", False), ("run_value", "int", False)]
    if name is None:
        return [result(cols, [(o.name, o.minimum, o.maximum, config_value(env, o), config_in_use(env, o)) for o in visible])], 0
    exact = [o for o in visible if o.name.lower() == str(name).lower()]
    matches = exact or [o for o in visible if str(name).lower() in o.name.lower()]
    if not matches:
        raise sql_error(15123, name)
    if len(matches) > 1:
        raise sql_error(15124, name)
    opt = matches[0]
    if a["@configvalue"] is None:
        return [result(cols, [(opt.name, opt.minimum, opt.maximum, config_value(env, opt), config_in_use(env, opt))])], 0
    if not env.sysadmin:
        raise sql_error(15247)
    value = int(a["@configvalue"])
    if not opt.minimum <= value <= opt.maximum:
        raise sql_error(15129, value, opt.name)
    old, opt.value = opt.value, value
    return [Message(15457, f"Configuration option '{opt.name}' changed from {old} to {value}. Run the "
                           "RECONFIGURE statement to install.", 10)], 0


def _errorlog_lines(env: ExecEnv) -> list[tuple[dt.datetime, str, str]]:
    start = env.state.start_time.replace(microsecond=0)
    inst = env.inst
    account = "NT Service\\MSSQLSERVER" if inst.host_platform == "Windows" else "mssql"
    lines = [(start, "Server", line) for line in version_string(env).split("\n")]
    lines += [(start, "Server", "UTC adjustment: 0:00"), (start, "Server", "(c) Microsoft Corporation."),
              (start, "Server", "All rights reserved."), (start, "Server", "Server process ID is 4242."),
              (start, "Server", "Authentication mode is MIXED."),
              (start, "Server", f"The service account is '{account}'. This is an informational message; no user "
                                "action is required.")]
    if inst.hadr_enabled:
        lines.append((start, "Server", "Always On: The availability replica manager is starting. This is an "
                                       "informational message only. No user action is required."))
    for flag in sorted(inst.startup_trace_flags):
        lines.append((start, "spid7s", f"DBCC TRACEON {flag}, server process ID (SPID) 7. This is an informational "
                                       "message only; no user action is required."))
    lines.append((start, "spid24s", "Recovery is complete. This is an informational message only. No user action "
                                    "is required."))
    return lines


@proc("xp_readerrorlog", [Param("@p1", "int", 0), Param("@p2", "int", 1), Param("@p3", "nvarchar(4000)", None),
                          Param("@p4", "nvarchar(4000)", None), Param("@p5", "datetime", None),
                          Param("@p6", "datetime", None), Param("@p7", "nvarchar(10)", "asc")], kind="X")
def _xp_readerrorlog(env: ExecEnv, a: dict[str, Any]) -> ProcResult:
    cols = [("LogDate", "datetime", True), ("ProcessInfo", "nvarchar(50)", True), ("Text", "nvarchar(max)", True)]
    if a["@p1"] not in (0, None) or a["@p2"] == 2:
        return [result(cols, [])], 0
    rows = [r for r in _errorlog_lines(env)
            if all(s is None or str(s).lower() in r[2].lower() for s in (a["@p3"], a["@p4"]))]
    if str(a["@p7"] or "asc").lower() == "desc":
        rows.reverse()
    return [result(cols, rows)], 0


PROCS["sp_readerrorlog"] = Proc("sp_readerrorlog", "P", [Param("@p1", "int", 0), Param("@p2", "int", 1),
                                                        Param("@p3", "nvarchar(4000)", None),
                                                        Param("@p4", "nvarchar(4000)", None)],
                                lambda env, a: _xp_readerrorlog(env, {**a, "@p5": None, "@p6": None, "@p7": "asc"}))


@proc("sp_helpdb", [Param("@dbname", "nvarchar(128)", None)])
def _sp_helpdb(env: ExecEnv, a: dict[str, Any]) -> ProcResult:
    cols = [("name", "nvarchar(128)", True), ("db_size", "nvarchar(13)", True), ("owner", "nvarchar(128)", True),
            ("dbid", "smallint", True), ("created", "nvarchar(11)", True), ("status", "nvarchar(600)", True),
            ("compatibility_level", "tinyint", True)]
    dbs = env.databases()
    if a["@dbname"] is not None:
        db = env.find_db(str(a["@dbname"]))
        if db is None:
            raise TsqlError(15010, f"The database '{a['@dbname']}' does not exist. Supply a valid database name. To "
                                   "see available databases, use sys.databases.", 16, 1)
        dbs = [db]
    rows = []
    for db in dbs:
        size = sum(f.size_pages for f in default_files(env.inst, db)) / 128.0
        status = (f"Status={db.state}, Updateability={'READ_ONLY' if db.is_read_only else 'READ_WRITE'}, "
                  f"UserAccess=MULTI_USER, Recovery={db.recovery_model}, Version=957, "
                  f"Collation={db.collation}, SQLSortOrder=52")
        rows.append((db.name, f"{size:10.2f} MB", "sa", db.database_id, db.create_date.strftime("%b %d %Y"),
                     status, db.compatibility_level))
    out: list[Outcome] = [result(cols, rows)]
    if a["@dbname"] is not None:
        db = dbs[0]
        fcols = [("name", "nchar(128)", True), ("fileid", "smallint", True), ("filename", "nchar(260)", True),
                 ("filegroup", "nvarchar(128)", True), ("size", "nvarchar(18)", True), ("maxsize", "nvarchar(18)", True),
                 ("growth", "nvarchar(18)", True), ("usage", "varchar(9)", True)]
        frows = []
        for f in default_files(env.inst, db):
            fg = next((g.name for g in db.filegroups if g.data_space_id == f.data_space_id), None)
            frows.append((f.name, f.file_id, f.physical_name, None if f.type == 1 else fg, f"{f.size_pages * 8} KB",
                          "2147483648 KB" if f.type == 1 else "Unlimited", "65536 KB",
                          "log only" if f.type == 1 else "data only"))
        out.append(result(fcols, frows))
    return out, 0


@proc("sp_who", [Param("@loginame", "sysname", None)])
def _sp_who(env: ExecEnv, a: dict[str, Any]) -> ProcResult:
    cols = [("spid", "smallint", False), ("ecid", "smallint", False), ("status", "nchar(30)", False),
            ("loginame", "nchar(128)", True), ("hostname", "nchar(128)", False), ("blk", "char(5)", True),
            ("dbname", "nchar(128)", True), ("cmd", "nchar(16)", False), ("request_id", "int", False)]
    rows = [(spid, 0, "runnable" if s is env.session else "sleeping", s.login, s.host_name, "0    ", s.database,
             "SELECT" if s is env.session else "AWAITING COMMAND", 0)
            for spid, s in sorted(env.state.sessions.items())
            if a["@loginame"] is None or s.login.lower() == str(a["@loginame"]).lower()]
    return [result(cols, rows)], 0


# --------------------------------------------------------------------------- driver catalog procedures

_TYPE_INFO = [
    # TYPE_NAME, DATA_TYPE, PRECISION, PREFIX, SUFFIX, CREATE_PARAMS, NULLABLE, CASE_SENSITIVE, SEARCHABLE,
    # UNSIGNED, MONEY, AUTO_INCREMENT, LOCAL_TYPE_NAME, MIN_SCALE, MAX_SCALE, SQL_DATA_TYPE, SQL_DATETIME_SUB,
    # NUM_PREC_RADIX, INTERVAL_PRECISION, USERTYPE
    ("sql_variant", -150, 8000, None, None, None, 1, 0, 2, None, 0, None, "sql_variant", 0, 0, -150, None, 10, None, 0),
    ("uniqueidentifier", -11, 36, "'", "'", None, 1, 0, 2, None, 0, None, "uniqueidentifier", None, None, -11, None,
     None, None, 0),
    ("ntext", -10, 1073741823, "N'", "'", None, 1, 0, 1, None, 0, None, "ntext", None, None, -10, None, None, None, 0),
    ("xml", -152, 0, "N'", "'", None, 1, 1, 0, None, 0, None, "xml", None, None, -152, None, None, None, 0),
    ("nvarchar", -9, 4000, "N'", "'", "max length", 1, 0, 3, None, 0, None, "nvarchar", None, None, -9, None, None,
     None, 0),
    ("sysname", -9, 128, "N'", "'", None, 0, 0, 3, None, 0, None, "sysname", None, None, -9, None, None, None, 18),
    ("nchar", -8, 4000, "N'", "'", "length", 1, 0, 3, None, 0, None, "nchar", None, None, -8, None, None, None, 0),
    ("bit", -7, 1, None, None, None, 1, 0, 2, None, 0, None, "bit", 0, 0, -7, None, None, None, 16),
    ("tinyint", -6, 3, None, None, None, 1, 0, 2, 1, 0, 0, "tinyint", 0, 0, -6, None, 10, None, 5),
    ("bigint", -5, 19, None, None, None, 1, 0, 2, 0, 0, 0, "bigint", 0, 0, -5, None, 10, None, 0),
    ("image", -4, 2147483647, "0x", None, None, 1, 0, 0, None, 0, None, "image", None, None, -4, None, None, None, 20),
    ("varbinary", -3, 8000, "0x", None, "max length", 1, 0, 2, None, 0, None, "varbinary", None, None, -3, None, None,
     None, 4),
    ("binary", -2, 8000, "0x", None, "length", 1, 0, 2, None, 0, None, "binary", None, None, -2, None, None, None, 3),
    ("text", -1, 2147483647, "'", "'", None, 1, 0, 1, None, 0, None, "text", None, None, -1, None, None, None, 19),
    ("char", 1, 8000, "'", "'", "length", 1, 0, 3, None, 0, None, "char", None, None, 1, None, None, None, 1),
    ("numeric", 2, 38, None, None, "precision,scale", 1, 0, 2, 0, 0, 0, "numeric", 0, 38, 2, None, 10, None, 10),
    ("decimal", 3, 38, None, None, "precision,scale", 1, 0, 2, 0, 0, 0, "decimal", 0, 38, 3, None, 10, None, 24),
    ("money", 3, 19, "$", None, None, 1, 0, 2, 0, 1, 0, "money", 4, 4, 3, None, 10, None, 11),
    ("int", 4, 10, None, None, None, 1, 0, 2, 0, 0, 0, "int", 0, 0, 4, None, 10, None, 7),
    ("smallint", 5, 5, None, None, None, 1, 0, 2, 0, 0, 0, "smallint", 0, 0, 5, None, 10, None, 6),
    ("float", 6, 53, None, None, None, 1, 0, 2, 0, 0, 0, "float", None, None, 6, None, 2, None, 8),
    ("real", 7, 24, None, None, None, 1, 0, 2, 0, 0, 0, "real", None, None, 7, None, 2, None, 23),
    ("varchar", 12, 8000, "'", "'", "max length", 1, 0, 3, None, 0, None, "varchar", None, None, 12, None, None,
     None, 2),
    ("date", 91, 10, "'", "'", None, 1, 0, 2, None, 0, None, "date", None, 0, 9, 1, None, 0, 0),
    ("time", 92, 16, "'", "'", "scale", 1, 0, 2, None, 0, None, "time", 0, 7, -154, 0, None, 0, 0),
    ("datetime2", 93, 27, "'", "'", "scale", 1, 0, 2, None, 0, None, "datetime2", 0, 7, 9, 3, None, 0, 0),
    ("datetime", 93, 23, "'", "'", None, 1, 0, 2, None, 0, None, "datetime", 3, 3, 9, 3, None, 0, 12),
    ("smalldatetime", 93, 16, "'", "'", None, 1, 0, 2, None, 0, None, "smalldatetime", 0, 0, 9, 3, None, 0, 22),
    ("datetimeoffset", -155, 34, "'", "'", "scale", 1, 0, 2, None, 0, None, "datetimeoffset", 0, 7, -155, 0, None,
     0, 0),
]
_TYPE_INFO_COLS = [
    ("TYPE_NAME", "sysname", False), ("DATA_TYPE", "smallint", False), ("PRECISION", "int", True),
    ("LITERAL_PREFIX", "varchar(32)", True), ("LITERAL_SUFFIX", "varchar(32)", True),
    ("CREATE_PARAMS", "varchar(32)", True), ("NULLABLE", "smallint", False), ("CASE_SENSITIVE", "smallint", False),
    ("SEARCHABLE", "smallint", False), ("UNSIGNED_ATTRIBUTE", "smallint", True), ("MONEY", "smallint", False),
    ("AUTO_INCREMENT", "smallint", True), ("LOCAL_TYPE_NAME", "sysname", True), ("MINIMUM_SCALE", "smallint", True),
    ("MAXIMUM_SCALE", "smallint", True), ("SQL_DATA_TYPE", "smallint", False), ("SQL_DATETIME_SUB", "smallint", True),
    ("NUM_PREC_RADIX", "int", True), ("INTERVAL_PRECISION", "smallint", True), ("USERTYPE", "smallint", True),
]


def _type_info(env: ExecEnv, a: dict[str, Any]) -> ProcResult:
    wanted = a["@data_type"] or 0
    rows = [r for r in _TYPE_INFO if wanted in (0, r[1])]
    return [result(_TYPE_INFO_COLS, rows)], 0


PROCS["sp_datatype_info_100"] = Proc("sp_datatype_info_100", "P", [Param("@data_type", "int", 0),
                                                                   Param("@ODBCVer", "tinyint", 2)], _type_info)
PROCS["sp_datatype_info"] = Proc("sp_datatype_info", "P", [Param("@data_type", "int", 0),
                                                           Param("@ODBCVer", "tinyint", 2)], _type_info)


@proc("sp_describe_undeclared_parameters", [Param("@tsql", "nvarchar(max)"), Param("@params", "nvarchar(max)", None)])
def _sp_describe_undeclared_parameters(env: ExecEnv, a: dict[str, Any]) -> ProcResult:
    from .lexer import VAR, tokenize

    declared = {t.text.lower() for t in tokenize(str(a["@params"] or "")) if t.kind == VAR}
    seen: list[str] = []
    for t in tokenize(str(a["@tsql"] or "")):
        if t.kind == VAR and t.text.lower() not in declared and t.text.lower() not in (s.lower() for s in seen):
            seen.append(t.text)
    cols = [("parameter_ordinal", "int", False), ("name", "sysname", False), ("suggested_system_type_id", "int", False),
            ("suggested_system_type_name", "nvarchar(256)", True), ("suggested_max_length", "smallint", False),
            ("suggested_precision", "tinyint", False), ("suggested_scale", "tinyint", False),
            ("suggested_user_type_id", "int", True), ("suggested_user_type_database", "sysname", True),
            ("suggested_user_type_schema", "sysname", True), ("suggested_user_type_name", "sysname", True),
            ("suggested_assembly_qualified_type_name", "nvarchar(4000)", True),
            ("suggested_xml_collection_id", "int", True), ("suggested_xml_collection_database", "sysname", True),
            ("suggested_xml_collection_schema", "sysname", True), ("suggested_xml_collection_name", "sysname", True),
            ("suggested_is_xml_document", "bit", False), ("suggested_is_case_sensitive", "bit", False),
            ("suggested_is_fixed_length_null_terminated", "bit", False), ("suggested_is_input", "bit", False),
            ("suggested_is_output", "bit", False), ("formal_parameter_name", "sysname", True),
            ("suggested_tds_type_id", "int", False), ("suggested_tds_length", "int", False)]
    rows = [(i + 1, name, 231, "nvarchar(4000)", 8000, 0, 0, None, None, None, None, None, None, None, None, None,
             False, False, False, True, False, None, 231, 8000) for i, name in enumerate(seen)]
    return [result(cols, rows)], 0
