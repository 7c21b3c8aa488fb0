"""Driver-support procedures answered by the protocol layer itself.

ODBC drivers call these on connect or when binding parameters; their answers shape how the
driver encodes later parameters, so they must look like real SQL Server's:

- ``sp_datatype_info_100``: pyodbc reads the first row for SQL_TYPE_TIMESTAMP to learn the
  datetime precision; without a ``datetime2`` row of COLUMN_SIZE 27 it truncates datetime
  parameters to whole seconds. The VARCHAR/WVARCHAR/BINARY rows give its max lengths.
- ``sp_describe_undeclared_parameters``: Driver 18 asks it when a ``None`` is bound (or for
  fast_executemany); every ``@P`` is described as nvarchar(4000) unless the backend knows better.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .backend import Column, ResultSet, SqlType
from .datatypes import type_declaration

_SMALLINT = SqlType("smallint")
_INT = SqlType("int")
_SYSNAME = SqlType("nvarchar", 128)
_VC32 = SqlType("varchar", 32)

DATATYPE_INFO_COLUMNS = [
    Column("TYPE_NAME", _SYSNAME, False),
    Column("DATA_TYPE", _SMALLINT, False),
    Column("PRECISION", _INT),
    Column("LITERAL_PREFIX", _VC32),
    Column("LITERAL_SUFFIX", _VC32),
    Column("CREATE_PARAMS", _VC32),
    Column("NULLABLE", _SMALLINT, False),
    Column("CASE_SENSITIVE", _SMALLINT, False),
    Column("SEARCHABLE", _SMALLINT, False),
    Column("UNSIGNED_ATTRIBUTE", _SMALLINT),
    Column("MONEY", _SMALLINT, False),
    Column("AUTO_INCREMENT", _SMALLINT),
    Column("LOCAL_TYPE_NAME", _SYSNAME),
    Column("MINIMUM_SCALE", _SMALLINT),
    Column("MAXIMUM_SCALE", _SMALLINT),
    Column("SQL_DATA_TYPE", _SMALLINT, False),
    Column("SQL_DATETIME_SUB", _SMALLINT),
    Column("NUM_PREC_RADIX", _INT),
    Column("INTERVAL_PRECISION", _SMALLINT),
    Column("USERTYPE", _SMALLINT),
]

# name, DATA_TYPE, PRECISION, prefix, suffix, create_params, case_sensitive, searchable, unsigned,
# money, auto_increment, min_scale, max_scale, SQL_DATA_TYPE, SQL_DATETIME_SUB, radix, usertype.
# Ordered by DATA_TYPE then best match first, as SQL Server orders them.
_TYPES: list[tuple[Any, ...]] = [
    ("sql_variant", -150, 8000, None, None, None, 0, 2, None, 0, None, 0, 0, -150, None, 10, 0),
    ("xml", -152, 0, "N'", "'", None, 1, 0, None, 0, None, None, None, -152, None, None, 0),
    ("datetimeoffset", -155, 34, "'", "'", "scale", 0, 3, None, 0, None, 0, 7, -155, 0, None, 0),
    ("time", -154, 16, "'", "'", "scale", 0, 3, None, 0, None, 0, 7, -154, 0, None, 0),
    ("uniqueidentifier", -11, 36, "'", "'", None, 0, 2, None, 0, None, None, None, -11, None, None, 0),
    ("ntext", -10, 1073741823, "N'", "'", None, 0, 1, None, 0, None, None, None, -10, None, None, 0),
    ("nvarchar", -9, 4000, "N'", "'", "max length", 0, 3, None, 0, None, None, None, -9, None, None, 0),
    ("sysname", -9, 128, "N'", "'", None, 0, 3, None, 0, None, None, None, -9, None, None, 18),
    ("nchar", -8, 4000, "N'", "'", "length", 0, 3, None, 0, None, None, None, -8, None, None, 0),
    ("bit", -7, 1, None, None, None, 0, 2, None, 0, None, 0, 0, -7, None, None, 16),
    ("tinyint", -6, 3, None, None, None, 0, 2, 1, 0, 0, 0, 0, -6, None, 10, 5),
    ("tinyint identity", -6, 3, None, None, None, 0, 2, 1, 0, 1, 0, 0, -6, None, 10, 5),
    ("bigint", -5, 19, None, None, None, 0, 2, 0, 0, 0, 0, 0, -5, None, 10, 0),
    ("bigint identity", -5, 19, None, None, None, 0, 2, 0, 0, 1, 0, 0, -5, None, 10, 0),
    ("image", -4, 2147483647, "0x", None, None, 0, 0, None, 0, None, None, None, -4, None, None, 20),
    ("varbinary", -3, 8000, "0x", None, "max length", 0, 2, None, 0, None, None, None, -3, None, None, 4),
    ("binary", -2, 8000, "0x", None, "length", 0, 2, None, 0, None, None, None, -2, None, None, 3),
    ("timestamp", -2, 8, "0x", None, None, 0, 2, None, 0, None, None, None, -2, None, None, 80),
    ("text", -1, 2147483647, "'", "'", None, 0, 1, None, 0, None, None, None, -1, None, None, 19),
    ("char", 1, 8000, "'", "'", "length", 0, 3, None, 0, None, None, None, 1, None, None, 1),
    ("numeric", 2, 38, None, None, "precision,scale", 0, 2, 0, 0, 0, 0, 38, 2, None, 10, 10),
    ("numeric() identity", 2, 38, None, None, "precision", 0, 2, 0, 0, 1, 0, 0, 2, None, 10, 10),
    ("decimal", 3, 38, None, None, "precision,scale", 0, 2, 0, 0, 0, 0, 38, 3, None, 10, 24),
    ("money", 3, 19, "$", None, None, 0, 2, 0, 1, 0, 4, 4, 3, None, 10, 11),
    ("smallmoney", 3, 10, "$", None, None, 0, 2, 0, 1, 0, 4, 4, 3, None, 10, 21),
    ("decimal() identity", 3, 38, None, None, "precision", 0, 2, 0, 0, 1, 0, 0, 3, None, 10, 24),
    ("int", 4, 10, None, None, None, 0, 2, 0, 0, 0, 0, 0, 4, None, 10, 7),
    ("int identity", 4, 10, None, None, None, 0, 2, 0, 0, 1, 0, 0, 4, None, 10, 7),
    ("smallint", 5, 5, None, None, None, 0, 2, 0, 0, 0, 0, 0, 5, None, 10, 6),
    ("smallint identity", 5, 5, None, None, None, 0, 2, 0, 0, 1, 0, 0, 5, None, 10, 6),
    ("float", 6, 53, None, None, None, 0, 2, 0, 0, 0, None, None, 6, None, 2, 8),
    ("real", 7, 24, None, None, None, 0, 2, 0, 0, 0, None, None, 7, None, 2, 23),
    ("varchar", 12, 8000, "'", "'", "max length", 0, 3, None, 0, None, None, None, 12, None, None, 2),
    ("date", 91, 10, "'", "'", None, 0, 3, None, 0, None, None, None, 9, 1, None, 0),
    ("datetime2", 93, 27, "'", "'", "scale", 0, 3, None, 0, None, 0, 7, 9, 3, None, 0),
    ("datetime", 93, 23, "'", "'", None, 0, 3, None, 0, None, 3, 3, 9, 3, None, 12),
    ("smalldatetime", 93, 16, "'", "'", None, 0, 3, None, 0, None, 0, 0, 9, 3, None, 22),
]

# ODBC 2 spells the date/time types differently.
_ODBC2 = {91: 9, 92: 10, 93: 11}


def datatype_info(data_type: int | None, odbc_version: int | None) -> ResultSet:
    """The result of ``sp_datatype_info_100 @data_type, @ODBCVer``."""
    odbc2 = odbc_version == 2
    rows = []
    for t in _TYPES:
        (name, dtype, precision, prefix, suffix, params, case, searchable, unsigned, money, autoinc,
         min_scale, max_scale, sql_dtype, sub, radix, usertype) = t
        if odbc2:
            dtype = _ODBC2.get(dtype, dtype)
            sql_dtype = dtype if sql_dtype == 9 else sql_dtype
        if data_type and dtype != data_type:
            continue
        rows.append((name, dtype, precision, prefix, suffix, params, 1, case, searchable, unsigned, money,
                     autoinc, name, min_scale, max_scale, sql_dtype, sub, radix, None, usertype))
    return ResultSet(list(DATATYPE_INFO_COLUMNS), rows)


_EXEC_DTI = re.compile(
    r"^\s*(?:exec(?:ute)?\s+)?(?:\[?master\]?\.)?(?:\[?sys\]?\.|\.)?\[?sp_datatype_info(?:_90|_100)?\]?"
    r"(?P<args>(?:\s+.*)?)$", re.IGNORECASE | re.DOTALL)


def match_datatype_info_batch(sql: str) -> tuple[int | None, int | None] | None:
    """Recognise ``exec sp_datatype_info_100 93, @ODBCVer = 3`` sent as a SQL batch (FreeTDS)."""
    m = _EXEC_DTI.match(sql.strip().rstrip(";"))
    if not m:
        return None
    args = [a.strip() for a in m.group("args").split(",") if a.strip()]
    data_type = odbc = None
    for i, arg in enumerate(args):
        name, _, value = arg.rpartition("=")
        name = name.strip().lower()
        try:
            number = int(value.strip())
        except ValueError:
            return None
        if name in ("@odbcver",) or (not name and i == 1):
            odbc = number
        elif name in ("@data_type",) or (not name and i == 0):
            data_type = number
    return data_type, odbc


# ---- sp_describe_undeclared_parameters ----------------------------------------------------
_TYPE_IDS = {
    "bit": (104, 0x68), "tinyint": (48, 0x26), "smallint": (52, 0x26), "int": (56, 0x26),
    "bigint": (127, 0x26), "decimal": (106, 0x6A), "numeric": (108, 0x6C), "float": (62, 0x6D),
    "real": (59, 0x6D), "char": (175, 0xAF), "varchar": (167, 0xA7), "nchar": (239, 0xEF),
    "nvarchar": (231, 0xE7), "binary": (173, 0xAD), "varbinary": (165, 0xA5), "datetime": (61, 0x6F),
    "datetime2": (42, 0x2A), "date": (40, 0x28), "time": (41, 0x29), "datetimeoffset": (43, 0x2B),
    "uniqueidentifier": (36, 0x24), "sql_variant": (98, 0x62),
}
_FIXED_LEN = {"bit": 1, "tinyint": 1, "smallint": 2, "int": 4, "bigint": 8, "float": 8, "real": 4,
              "datetime": 8, "date": 3, "uniqueidentifier": 16, "sql_variant": 8016}

DESCRIBE_COLUMNS = [
    Column("parameter_ordinal", _INT, False),
    Column("name", _SYSNAME, False),
    Column("suggested_system_type_id", _INT, False),
    Column("suggested_system_type_name", SqlType("nvarchar", 256)),
    Column("suggested_max_length", _SMALLINT, False),
    Column("suggested_precision", SqlType("tinyint"), False),
    Column("suggested_scale", SqlType("tinyint"), False),
    Column("suggested_user_type_id", _INT),
    Column("suggested_user_type_database", _SYSNAME),
    Column("suggested_user_type_schema", _SYSNAME),
    Column("suggested_user_type_name", _SYSNAME),
    Column("suggested_assembly_qualified_type_name", SqlType("nvarchar", 4000)),
    Column("suggested_xml_collection_id", _INT),
    Column("suggested_xml_collection_database", _SYSNAME),
    Column("suggested_xml_collection_schema", _SYSNAME),
    Column("suggested_xml_collection_name", _SYSNAME),
    Column("suggested_is_xml_document", SqlType("bit"), False),
    Column("suggested_is_case_sensitive", SqlType("bit"), False),
    Column("suggested_is_fixed_length_type", SqlType("bit"), False),
    Column("suggested_is_input", SqlType("bit"), False),
    Column("suggested_is_output", SqlType("bit"), False),
    Column("formal_parameter_name", _SYSNAME),
    Column("suggested_tds_type_id", _INT, False),
    Column("suggested_tds_length", _INT, False),
]

_STRINGS = re.compile(r"N?'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/", re.DOTALL)
_VARIABLE = re.compile(r"(?<![@\w])@[A-Za-z_][\w@#$]*")


def undeclared_names(sql: str, declared: Iterable[str]) -> list[str]:
    """Parameter names used in ``sql`` (outside literals/comments) but not declared, in order."""
    skip = {d.lower() for d in declared}
    seen: list[str] = []
    for name in _VARIABLE.findall(_STRINGS.sub(" ", sql)):
        if name.lower() not in skip and name.lower() not in (s.lower() for s in seen):
            seen.append(name)
    return seen


def describe_parameters(names: list[str], known: dict[str, SqlType]) -> ResultSet:
    """Result set of sp_describe_undeclared_parameters: nvarchar(4000) unless ``known`` says."""
    rows = []
    for ordinal, name in enumerate(names, start=1):
        t = known.get(name) or known.get(name.lower()) or SqlType("nvarchar", 4000)
        sys_id, tds_id = _TYPE_IDS[t.name]
        if t.name in ("char", "varchar", "nchar", "nvarchar", "binary", "varbinary"):
            length = 4000 if t.length is None and t.name == "nvarchar" else (t.length or 8000)
            max_len = -1 if length == -1 else length * (2 if t.name in ("nchar", "nvarchar") else 1)
            tds_len = 0xFFFF if max_len == -1 else max_len
            precision = scale = 0
        elif t.name in ("decimal", "numeric"):
            precision, scale = t.precision or 18, t.scale or 0
            max_len = tds_len = 17 if precision > 28 else 13 if precision > 19 else 9 if precision > 9 else 5
        elif t.name in ("datetime2", "time", "datetimeoffset"):
            scale = 7 if t.scale is None else t.scale
            base = {"datetime2": 19, "time": 8, "datetimeoffset": 26}[t.name]
            precision = base + (scale + 1 if scale else 0)
            tsize = 3 if scale <= 2 else 4 if scale <= 4 else 5
            max_len = tds_len = tsize + {"datetime2": 3, "time": 0, "datetimeoffset": 5}[t.name]
        else:
            max_len = tds_len = _FIXED_LEN[t.name]
            precision = {"tinyint": 3, "smallint": 5, "int": 10, "bigint": 19, "float": 53, "real": 24,
                         "datetime": 23, "date": 10, "bit": 1}.get(t.name, 0)
            scale = 3 if t.name == "datetime" else 0
        fixed = t.name in _FIXED_LEN or t.name in ("char", "nchar", "binary")
        rows.append((ordinal, name, sys_id, type_declaration(t), max_len, precision, scale, sys_id, None, None,
                     None, None, None, None, None, None, False, False, fixed, True, False, name, tds_id,
                     tds_len))
    return ResultSet(list(DESCRIBE_COLUMNS), rows)
