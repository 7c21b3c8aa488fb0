"""Master keys, certificates, logins and server-role membership."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ...model import Certificate, Login
from ...tds.backend import Outcome
from .. import x509
from ..context import ExecEnv
from ..errors import TsqlError, sql_error
from ..lexer import HEX, NSTR, STR, Cursor
from ..sqltypes import parse_datetime
from .base import Command, Option, find, parse_option_list, require_sysadmin, unsupported

# --------------------------------------------------------------------------- master key


@dataclass
class MasterKeyCommand(Command):
    action: str  # CREATE / DROP / OPEN / CLOSE
    password: str | None = None

    def execute(self, env: ExecEnv) -> list[Outcome]:
        require_sysadmin(env)
        db = env.session.database.lower()
        master = db == "master"
        exists = env.inst.master_key if master else db in env.state.db_master_keys
        if self.action == "CREATE":
            if exists:
                raise sql_error(15578)
            if master:
                env.inst.master_key = True
                env.state.master_key_created = env.now
            else:
                env.state.db_master_keys[db] = env.now
        elif self.action == "DROP":
            if not exists:
                raise TsqlError(15151, "Cannot drop the master key because it does not exist or you do not "
                                       "have permission.", 16, 1)
            for cert in env.certificates(db).values():
                if cert.pvt_key_encryption_type == "MK":
                    raise sql_error(15580, "certificate", cert.name)
            if master:
                env.inst.master_key = False
                env.state.master_key_created = None
            else:
                env.state.db_master_keys.pop(db, None)
        elif self.action == "OPEN" and not exists:
            raise sql_error(15581)
        return []


def parse_master_key(cur: Cursor) -> MasterKeyCommand:
    action = cur.next().upper
    cur.expect_word("MASTER", "KEY")
    if action == "CREATE":
        if cur.accept_word("ENCRYPTION"):
            cur.expect_word("BY", "PASSWORD")
            cur.expect_punct("=")
            return MasterKeyCommand("CREATE", cur.string())
        raise cur.error()
    if action == "ALTER":
        raise unsupported("ALTER MASTER KEY")
    return MasterKeyCommand(action)


def parse_open_master_key(cur: Cursor) -> MasterKeyCommand:
    action = cur.next().upper
    cur.expect_word("MASTER", "KEY")
    if action == "OPEN":
        cur.expect_word("DECRYPTION", "BY", "PASSWORD")
        cur.expect_punct("=")
        return MasterKeyCommand("OPEN", cur.string())
    return MasterKeyCommand("CLOSE")


# --------------------------------------------------------------------------- certificates


@dataclass
class CreateCertificate(Command):
    name: str
    source: str  # 'generate' / 'binary' / 'file'
    blob: bytes = b""
    path: str = ""
    password: str | None = None
    subject: str = ""
    start: str | None = None
    expiry: str | None = None
    private_key: list[Option] | None = None

    def execute(self, env: ExecEnv) -> list[Outcome]:
        require_sysadmin(env)
        store = env.certificates(env.session.database)
        if any(n.lower() == self.name.lower() for n in store):
            raise sql_error(15232, self.name)
        if self.source == "generate":
            cert = self._generate(env)
        else:
            data = self.blob
            if self.source == "file":
                try:
                    with open(self.path, "rb") as fh:
                        data = fh.read()
                except OSError:
                    raise sql_error(15208) from None
            try:
                info = x509.parse(data)
            except ValueError:
                raise sql_error(15297) from None
            has_key = self.private_key is not None
            cert = Certificate(name=self.name, subject=info.subject, der=info.der, start_date=info.start,
                               expiry_date=info.expiry, issuer=info.issuer, has_private_key=has_key,
                               pvt_key_encryption_type="PW" if has_key and find(
                                   self.private_key, "ENCRYPTION") else ("MK" if has_key else "NA"),
                               serial=info.serial)
            if has_key and cert.pvt_key_encryption_type == "MK" and not _has_master_key(env):
                raise sql_error(15581)
        if any(c.thumbprint == cert.thumbprint for c in store.values()):
            raise sql_error(15232, self.name)
        store[self.name] = cert
        env.state.cert_cache.pop(cert.thumbprint, None)
        return []

    def _generate(self, env: ExecEnv) -> Certificate:
        if self.password is None and not _has_master_key(env):
            raise sql_error(15581)
        now = env.now.replace(microsecond=0)
        start = _cert_date(self.start) if self.start else now
        expiry = _cert_date(self.expiry) if self.expiry else start + dt.timedelta(days=365)
        if expiry <= start:
            raise sql_error(15468, "An error occurred during the generation of the certificate.")
        info = x509.generate(self.subject, start, expiry)
        cert = Certificate(name=self.name, subject=self.subject, der=info.der, start_date=start, expiry_date=expiry,
                           issuer=self.subject, has_private_key=True,
                           pvt_key_encryption_type="PW" if self.password is not None else "MK", serial=info.serial)
        if info.private_key_pem:
            env.state.private_keys[cert.thumbprint] = info.private_key_pem
        return cert


def _has_master_key(env: ExecEnv) -> bool:
    db = env.session.database.lower()
    return env.inst.master_key if db == "master" else db in env.state.db_master_keys


def _cert_date(text: str) -> dt.datetime:
    return parse_datetime(text).replace(tzinfo=None, microsecond=0)


def parse_certificate(cur: Cursor) -> Command:
    action = cur.next().upper
    cur.expect_word("CERTIFICATE")
    name = cur.name()
    if action == "DROP":
        return DropCertificate(name)
    if action == "ALTER":
        return _parse_alter_certificate(cur, name)
    if cur.accept_word("AUTHORIZATION"):
        cur.name()
    if cur.accept_word("FROM"):
        cmd = CreateCertificate(name, "binary")
        if cur.accept_word("BINARY"):
            cur.expect_punct("=")
            t = cur.next()
            if t.kind != HEX:
                raise sql_error(102, t.text)
            cmd.blob = bytes.fromhex(t.text)
        elif cur.accept_word("FILE") or cur.accept_word("EXECUTABLE", "FILE"):
            cur.expect_punct("=")
            cmd.source, cmd.path = "file", cur.string()
        else:
            raise unsupported("FROM " + (cur.peek().text if cur.peek() else ""))
        if cur.accept_word("WITH", "PRIVATE", "KEY"):
            cmd.private_key = parse_option_list(cur)
    else:
        cmd = CreateCertificate(name, "generate")
        if cur.accept_word("ENCRYPTION"):
            cur.expect_word("BY", "PASSWORD")
            cur.expect_punct("=")
            cmd.password = cur.string()
        cur.expect_word("WITH")
        while True:
            opt = cur.next()
            key = opt.upper
            cur.expect_punct("=")
            value = cur.next()
            if value.kind not in (STR, NSTR):
                raise sql_error(102, value.text)
            if key == "SUBJECT":
                cmd.subject = value.text
            elif key == "START_DATE":
                cmd.start = value.text
            elif key == "EXPIRY_DATE":
                cmd.expiry = value.text
            else:
                raise sql_error(102, opt.text)
            if not cur.accept_punct(","):
                break
        if not cmd.subject:
            raise cur.error()
    if cur.accept_word("ACTIVE", "FOR", "BEGIN_DIALOG"):
        cur.expect_punct("=")
        cur.next()
    return cmd


@dataclass
class DropCertificate(Command):
    name: str

    def execute(self, env: ExecEnv) -> list[Outcome]:
        require_sysadmin(env)
        store = env.certificates(env.session.database)
        key = next((n for n in store if n.lower() == self.name.lower()), None)
        if key is None:
            raise sql_error(15151, "drop", "certificate", self.name)
        if env.session.database.lower() == "master":
            for ep in env.inst.endpoints.values():
                if (ep.certificate_name or "").lower() == key.lower():
                    raise sql_error(15352, "certificate")
        del store[key]
        return []


@dataclass
class AlterCertificate(Command):
    name: str
    remove_private_key: bool

    def execute(self, env: ExecEnv) -> list[Outcome]:
        require_sysadmin(env)
        store = env.certificates(env.session.database)
        key = next((n for n in store if n.lower() == self.name.lower()), None)
        if key is None:
            raise sql_error(15151, "alter", "certificate", self.name)
        if self.remove_private_key:
            store[key].has_private_key = False
            store[key].pvt_key_encryption_type = "NA"
        return []


def _parse_alter_certificate(cur: Cursor, name: str) -> Command:
    if cur.accept_word("REMOVE", "PRIVATE", "KEY"):
        return AlterCertificate(name, True)
    if cur.accept_word("WITH", "ACTIVE", "FOR", "BEGIN_DIALOG"):
        cur.expect_punct("=")
        cur.next()
        return AlterCertificate(name, False)
    raise unsupported("ALTER CERTIFICATE")


# --------------------------------------------------------------------------- logins


@dataclass
class LoginCommand(Command):
    action: str
    name: str
    password: str | None = None
    enable: bool | None = None

    def execute(self, env: ExecEnv) -> list[Outcome]:
        require_sysadmin(env)
        logins = env.inst.logins
        existing = next((n for n in logins if n.lower() == self.name.lower()), None)
        if self.action == "CREATE":
            if existing is not None:
                raise sql_error(15025, self.name)
            logins[self.name] = Login(self.name, self.password or "")
            return []
        if existing is None:
            raise sql_error(15151, self.action.lower(), "login", self.name)
        if self.action == "DROP":
            if any(s.login.lower() == self.name.lower() for s in env.state.sessions.values()):
                raise sql_error(15434, f"Could not drop login '{self.name}' as the user is currently logged in.")
            del logins[existing]
        else:
            if self.password is not None:
                logins[existing].password = self.password
            if self.enable is not None:
                logins[existing].disabled = not self.enable
        return []


def parse_login(cur: Cursor) -> LoginCommand:
    action = cur.next().upper
    cur.expect_word("LOGIN")
    name = cur.name()
    cmd = LoginCommand(action, name)
    if action == "CREATE":
        if cur.accept_word("FROM"):
            raise unsupported("FROM " + (cur.peek().text if cur.peek() else ""))
        cur.expect_word("WITH", "PASSWORD")
        cur.expect_punct("=")
        cmd.password = cur.string()
        _skip_login_options(cur)
    elif action == "ALTER":
        if cur.accept_word("ENABLE"):
            cmd.enable = True
        elif cur.accept_word("DISABLE"):
            cmd.enable = False
        else:
            cur.expect_word("WITH")
            if cur.accept_word("PASSWORD"):
                cur.expect_punct("=")
                cmd.password = cur.string()
            _skip_login_options(cur)
    return cmd


def _skip_login_options(cur: Cursor) -> None:
    while cur.accept_punct(",") or (cur.peek() is not None and cur.peek().upper in (  # type: ignore[union-attr]
            "CHECK_POLICY", "CHECK_EXPIRATION", "DEFAULT_DATABASE", "DEFAULT_LANGUAGE", "SID", "MUST_CHANGE",
            "UNLOCK")):
        t = cur.next()
        if t.upper in ("MUST_CHANGE", "UNLOCK"):
            continue
        cur.expect_punct("=")
        cur.next()


@dataclass
class ServerRoleMember(Command):
    role: str
    add: bool
    member: str

    def execute(self, env: ExecEnv) -> list[Outcome]:
        require_sysadmin(env)
        login = next((lg for n, lg in env.inst.logins.items() if n.lower() == self.member.lower()), None)
        if login is None:
            raise sql_error(15151, "alter", "login", self.member)
        login.sysadmin = self.add
        return []


def parse_server_role(cur: Cursor) -> Command:
    action = cur.next().upper
    cur.expect_word("SERVER", "ROLE")
    role = cur.name()
    if action != "ALTER" or role.lower() != "sysadmin":
        raise unsupported(f"{action} SERVER ROLE {role}")
    add = cur.accept_word("ADD")
    if not add:
        cur.expect_word("DROP")
    cur.expect_word("MEMBER")
    return ServerRoleMember(role, add, cur.name())

