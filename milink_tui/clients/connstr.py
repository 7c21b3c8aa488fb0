"""ODBC connection strings and driver choice for SQL Server.

``Encrypt=yes`` is the default; trusting the server certificate is only ever the user's
explicit, visible choice. Secrets live in :class:`SqlTarget` fields that never print; a
Microsoft Entra token never enters a connection string (it goes in as a connection
attribute, so it can't leak through a logged or redacted string either).

Driver choice is explicit and ordered: a registered ODBC driver through pyodbc first, then
``mssql-python`` (which bundles its own Driver 18, so it works with no system driver at all).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

# The pseudo driver name for the mssql-python package (its own bundled Driver 18, no pyodbc).
MSSQL_PYTHON = "mssql-python"
# Names the driver for every connection (an ODBC driver name or "mssql-python") when a target doesn't.
DRIVER_ENV = "MILINK_SQL_DRIVER"

PREFERRED_DRIVERS = (
    "ODBC Driver 18 for SQL Server",
    "ODBC Driver 17 for SQL Server",
    "FreeTDS",
    MSSQL_PYTHON,
)
# Drivers that can send an access token (SQL_COPT_SS_ACCESS_TOKEN); FreeTDS cannot.
TOKEN_DRIVERS = ("ODBC Driver 18 for SQL Server", "ODBC Driver 17 for SQL Server", MSSQL_PYTHON)

INSTALL_HINT = (
    "No SQL Server driver is installed. Either `pip install mssql-python` (it bundles Microsoft ODBC "
    "Driver 18 and milink uses it directly; it needs `libltdl7` from apt), or register an ODBC driver: "
    "Microsoft ODBC Driver 18 (Microsoft's `msodbcsql18` package, or the copy inside mssql-python via "
    "`python tools/odbcinst.py .odbc` and `export ODBCSYSINI=$PWD/.odbc`), or FreeTDS "
    "(`sudo apt-get install unixodbc tdsodbc`)."
)

TokenProvider = Callable[[], Awaitable[str]]
"""Returns a current Microsoft Entra access token for SQL; called once per login (tokens expire)."""


class NoDriverError(RuntimeError):
    """No usable SQL Server ODBC driver; the message says how to get one."""


@dataclass
class SqlTarget:
    """Where and how to connect. ``password`` and ``access_token`` are never shown in repr.

    Microsoft Entra (``auth="entra"``): ``token_provider`` fetches a fresh token at each login;
    ``access_token`` is a fixed token (tests, or a token the caller already holds).
    ``driver``: an ODBC driver name or ``"mssql-python"``; None means $MILINK_SQL_DRIVER, else the
    best installed one.
    """

    server: str
    port: int | None = None
    auth: Literal["sql", "entra", "integrated"] = "sql"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
    token_provider: TokenProvider | None = field(default=None, repr=False, compare=False)
    database: str = "master"
    encrypt: Literal["yes", "no", "strict"] = "yes"
    trust_server_certificate: bool = False
    driver: str | None = None
    login_timeout: int = 15
    app_name: str = "milink"

    @property
    def display(self) -> str:
        """Server as a DBA writes it, e.g. ``sql01,1433``."""
        return f"{self.server},{self.port}" if self.port else self.server


def odbc_value(value: str) -> str:
    """Brace a connection-string value when it needs it (``;``, ``{``, ``}``, spaces at the ends)."""
    if any(c in value for c in ";{}=") or value != value.strip():
        return "{" + value.replace("}", "}}") + "}"
    return value


def installed_drivers() -> list[str]:
    """SQL Server drivers usable here: pyodbc's registered ODBC drivers, then mssql-python if installed.

    Loads pyodbc (and with it unixODBC) but not mssql-python, whose import loads a driver.
    """
    found: list[str] = []
    try:
        import pyodbc

        found += [d for d in pyodbc.drivers() if d != MSSQL_PYTHON]
    except ImportError:  # pyodbc missing, or libodbc.so.2 (apt unixodbc) missing
        pass
    if importlib.util.find_spec("mssql_python") is not None:
        found.append(MSSQL_PYTHON)
    return found


def choose_driver(available: list[str], wanted: str | None = None, auth: str = "sql") -> str:
    """The driver to use: the one asked for, else the best installed one that can do ``auth``."""
    token = auth == "entra"
    if wanted:
        if wanted not in available:
            raise NoDriverError(f"The SQL Server driver {wanted!r} is not installed "
                                f"(installed: {', '.join(available) or 'none'}).")
        if token and wanted not in TOKEN_DRIVERS:
            raise NoDriverError(f"{wanted} cannot sign in with a Microsoft Entra token. Use ODBC Driver 18 "
                                "or mssql-python (`pip install mssql-python`).")
        return wanted
    for name in PREFERRED_DRIVERS:
        if name in available and (not token or name in TOKEN_DRIVERS):
            return name
    if token and any(name in available for name in PREFERRED_DRIVERS):
        raise NoDriverError("The installed SQL Server driver (FreeTDS) cannot sign in with a Microsoft Entra "
                            "token. Install ODBC Driver 18 or `pip install mssql-python`.")
    raise NoDriverError(INSTALL_HINT)


def build(target: SqlTarget, driver: str, *, redacted: bool = False) -> str:
    """The ODBC connection string for ``target`` through ``driver``.

    It contains the password unless ``redacted`` (the form for logs and error messages).
    mssql-python names its own driver and application and rejects unknown keys (no
    ``LoginTimeout``: it takes ``timeout=`` instead).
    """
    bundled = driver == MSSQL_PYTHON
    parts: list[tuple[str, str]] = [] if bundled else [("DRIVER", "{" + driver + "}")]
    freetds = driver.lower().startswith("freetds")
    if freetds:
        parts += [("SERVER", target.server), ("Port", str(target.port or 1433)), ("TDS_Version", "7.4")]
        if target.encrypt != "no":
            parts.append(("Encryption", "require"))
    else:
        server = f"tcp:{target.server},{target.port}" if target.port else f"tcp:{target.server}"
        parts.append(("SERVER", server))
        parts.append(("Encrypt", {"yes": "yes", "no": "no", "strict": "strict"}[target.encrypt]))
        if target.trust_server_certificate and target.encrypt != "strict":
            parts.append(("TrustServerCertificate", "yes"))
        if not bundled:
            parts.append(("LoginTimeout", str(target.login_timeout)))
            parts.append(("APP", target.app_name))
    parts.append(("DATABASE", target.database))
    if target.auth == "sql":
        parts.append(("UID", target.user or ""))
        parts.append(("PWD", "***" if redacted else (target.password or "")))
    elif target.auth == "integrated":
        parts.append(("Trusted_Connection", "yes"))  # Kerberos (kinit); ActiveDirectoryIntegrated is Entra
    # entra: the token is passed as a connection attribute (SQL_COPT_SS_ACCESS_TOKEN), not here
    return ";".join(f"{k}={odbc_value(v) if k != 'DRIVER' else v}" for k, v in parts) + ";"
