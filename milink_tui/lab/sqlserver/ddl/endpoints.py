"""CREATE / ALTER / DROP ENDPOINT ... FOR DATABASE_MIRRORING (the link's transport endpoint)."""

from __future__ import annotations

from dataclasses import dataclass

from ...model import Endpoint
from ...tds.backend import Outcome
from ..context import ExecEnv
from ..errors import sql_error
from ..lexer import Cursor
from .base import Command, require_sysadmin, unsupported

_DBM_OPTIONS = ("AUTHENTICATION", "ENCRYPTION", "ROLE")


@dataclass
class EndpointCommand(Command):
    action: str
    name: str
    state: str | None = None
    port: int | None = None
    ip: str | None = None
    ip_given: bool = False
    auth: str | None = None
    certificate: str | None = None
    encryption: str | None = None
    algorithm: str | None = None
    role: str | None = None

    def execute(self, env: ExecEnv) -> list[Outcome]:
        require_sysadmin(env)
        endpoints = env.inst.endpoints
        existing = next((n for n in endpoints if n.lower() == self.name.lower()), None)
        if self.action == "DROP":
            if existing is None:
                raise sql_error(15151, "drop", "endpoint", self.name)
            del endpoints[existing]
            return []
        certificate = self.certificate
        if certificate is not None:
            certificate = next((n for n in env.inst.certificates if n.lower() == certificate.lower()), None)
            if certificate is None:
                raise sql_error(15151, "find", "certificate", self.certificate)
        if self.action == "CREATE":
            if endpoints:
                raise sql_error(7862)
            ep = Endpoint(name=self.name, port=self.port or 5022)
            endpoints[self.name] = ep
            env.state.endpoint_created[self.name.lower()] = env.now
        else:
            if existing is None:
                raise sql_error(15151, "alter", "endpoint", self.name)
            ep = endpoints[existing]
        if self.state is not None:
            ep.state = self.state  # type: ignore[assignment]
        if self.port is not None:
            ep.port = self.port
        if self.ip_given:
            ep.ip_address = self.ip
        if self.auth is not None:
            ep.connection_auth = self.auth
            ep.certificate_name = certificate
        if self.encryption is not None:
            ep.encryption = self.encryption  # type: ignore[assignment]
            ep.algorithm = self.algorithm or ("AES" if self.encryption != "DISABLED" else ep.algorithm)
        if self.role is not None:
            ep.role = self.role  # type: ignore[assignment]
        return []


def parse_endpoint(cur: Cursor) -> EndpointCommand:
    action = cur.next().upper
    cur.expect_word("ENDPOINT")
    cmd = EndpointCommand(action, cur.name())
    if action == "DROP":
        return cmd
    if cur.accept_word("AUTHORIZATION"):
        cur.name()
    if cur.accept_word("STATE"):
        cur.expect_punct("=")
        state = cur.next().upper
        if state not in ("STARTED", "STOPPED", "DISABLED"):
            raise sql_error(102, state)
        cmd.state = state
    if cur.accept_word("AS"):
        if not cur.accept_word("TCP"):
            raise unsupported("AS " + (cur.peek().text if cur.peek() else ""))
        _parse_tcp(cur, cmd)
    elif action == "CREATE":
        raise cur.error()
    if cur.accept_word("FOR"):
        if not cur.accept_word("DATABASE_MIRRORING"):
            raise unsupported("FOR " + (cur.peek().text if cur.peek() else ""))
        _parse_dbm(cur, cmd, action == "CREATE")
    elif action == "CREATE":
        raise cur.error()
    if action == "CREATE" and cmd.auth is None:
        cmd.auth = "NEGOTIATE"
    if action == "CREATE" and cmd.encryption is None:
        cmd.encryption, cmd.algorithm = "REQUIRED", "AES"
    return cmd


def _parse_tcp(cur: Cursor, cmd: EndpointCommand) -> None:
    cur.expect_punct("(")
    while True:
        if cur.accept_word("LISTENER_PORT"):
            cur.expect_punct("=")
            cmd.port = cur.integer()
        elif cur.accept_word("LISTENER_IP"):
            cur.expect_punct("=")
            cmd.ip_given = True
            if cur.accept_word("ALL"):
                cmd.ip = None
            else:
                cur.expect_punct("(")
                parts = []
                while not cur.at_punct(")"):
                    parts.append(cur.next().text)
                cur.expect_punct(")")
                cmd.ip = "".join(parts)
        else:
            raise cur.error()
        if cur.accept_punct(")"):
            return
        cur.accept_punct(",")


def _parse_dbm(cur: Cursor, cmd: EndpointCommand, create: bool) -> None:
    cur.expect_punct("(")
    while True:
        word = cur.peek()
        if word is None or word.upper not in _DBM_OPTIONS:
            raise cur.error()
        cur.next()
        cur.expect_punct("=")
        if word.upper == "AUTHENTICATION":
            cmd.auth, cmd.certificate = _parse_auth(cur)
        elif word.upper == "ENCRYPTION":
            _parse_encryption(cur, cmd)
        else:
            role = cur.next().upper
            if role not in ("WITNESS", "PARTNER", "ALL"):
                raise sql_error(102, role)
            cmd.role = role
        if cur.accept_punct(")"):
            break
        cur.accept_punct(",")
    if create and cmd.role is None:
        raise sql_error(102, ")")


def _parse_auth(cur: Cursor) -> tuple[str, str | None]:
    parts: list[str] = []
    cert: str | None = None
    while True:
        if cur.accept_word("WINDOWS"):
            kind = "NEGOTIATE"
            t = cur.peek()
            if t is not None and t.upper in ("NTLM", "KERBEROS", "NEGOTIATE"):
                kind = cur.next().upper
            parts.append(kind)
        elif cur.accept_word("CERTIFICATE"):
            cert = cur.name(allow_reserved=True)
            parts.append("CERTIFICATE")
        else:
            break
    if not parts:
        raise cur.error()
    return ", ".join(parts), cert


def _parse_encryption(cur: Cursor, cmd: EndpointCommand) -> None:
    mode = cur.next().upper
    if mode not in ("DISABLED", "SUPPORTED", "REQUIRED"):
        raise sql_error(102, mode)
    cmd.encryption = mode
    if mode != "DISABLED" and cur.accept_word("ALGORITHM"):
        algos = []
        while cur.peek() is not None and cur.peek().upper in ("AES", "RC4"):  # type: ignore[union-attr]
            algos.append(cur.next().upper)
        if not algos:
            raise cur.error()
        cmd.algorithm = " ".join(algos)
    elif mode != "DISABLED":
        cmd.algorithm = "AES"


