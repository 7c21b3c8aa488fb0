"""ODBC connection strings and driver choice for SQL Server.

``Encrypt=yes`` is the default; trusting the server certificate is only ever the user's
explicit, visible choice. Secrets live in :class:`SqlTarget` fields that never print.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PREFERRED_DRIVERS = (
    "ODBC Driver 18 for SQL Server",
    "ODBC Driver 17 for SQL Server",
    "FreeTDS",
)

INSTALL_HINT = (
    "No SQL Server ODBC driver is installed. Install one of: Microsoft ODBC Driver 18 "
    "(`pip install mssql-python` brings the driver library; register it with "
    "`python tools/odbcinst.py .odbc` and `export ODBCSYSINI=$PWD/.odbc`, or use Microsoft's "
    "`msodbcsql18` package), or FreeTDS (`sudo apt-get install unixodbc tdsodbc`)."
)


class NoDriverError(RuntimeError):
    """No usable SQL Server ODBC driver; the message says how to get one."""


@dataclass
class SqlTarget:
    """Where and how to connect. ``password`` and ``access_token`` are never shown in repr."""

    server: str
    port: int | None = None
    auth: Literal["sql", "entra", "integrated"] = "sql"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
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


def choose_driver(available: list[str], wanted: str | None = None) -> str:
    """The driver to use: the one asked for, else the best installed one."""
    if wanted:
        if wanted in available:
            return wanted
        raise NoDriverError(f"The ODBC driver {wanted!r} is not installed (installed: {', '.join(available) or 'none'}).")
    for name in PREFERRED_DRIVERS:
        if name in available:
            return name
    raise NoDriverError(INSTALL_HINT)


def build(target: SqlTarget, driver: str, *, redacted: bool = False) -> str:
    """The ODBC connection string for ``target`` through ``driver``.

    It contains the password unless ``redacted`` (the form for logs and error messages).
    """
    parts: list[tuple[str, str]] = [("DRIVER", "{" + driver + "}")]
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
        parts.append(("LoginTimeout", str(target.login_timeout)))
        parts.append(("APP", target.app_name))
    parts.append(("DATABASE", target.database))
    if target.auth == "sql":
        parts.append(("UID", target.user or ""))
        parts.append(("PWD", "***" if redacted else (target.password or "")))
    elif target.auth == "integrated":
        parts.append(("Trusted_Connection", "yes") if freetds else ("Authentication", "ActiveDirectoryIntegrated"))
    # entra: the token is passed as a connection attribute (SQL_COPT_SS_ACCESS_TOKEN), not here
    return ";".join(f"{k}={odbc_value(v) if k != 'DRIVER' else v}" for k, v in parts) + ";"
