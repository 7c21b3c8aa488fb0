"""Fixtures: the lab ARM + Entra in-process over TLS (lab CA), a "linked" world, and milink's client on it."""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import NameOID

from milink_tui.clients.auth import Cloud, SignIn
from milink_tui.clients.azure import AzureClient, AzureSession
from milink_tui.lab import scenarios
from milink_tui.lab.arm import ArmServer, serve_arm
from milink_tui.lab.model import World
from milink_tui.lab.replication import ReplicationEngine

SP_SECRET = "lab-sp-secret"
# operations finish in a few simulated milliseconds: polling at interval 0 needs a handful of GETs
FAST_LROS = {k: 0.02 for k in ("create", "update", "delete", "failover", "setRole", "certCreate", "certDelete")}


def make_cert(cn: str, key: rsa.RSAPrivateKey | None = None) -> tuple[bytes, rsa.RSAPrivateKey]:
    """A self-signed certificate (DER) like the one CREATE CERTIFICATE makes on SQL Server."""
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365)).sign(key, hashes.SHA256()))
    return cert.public_bytes(Encoding.DER), key


def write_pem_with_key(path: Path, der: bytes, key: rsa.RSAPrivateKey) -> str:
    """Certificate + private key in one PEM (what CertificateCredential reads)."""
    cert = x509.load_der_x509_certificate(der)
    path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
                     + cert.public_bytes(Encoding.PEM))
    return str(path)


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_pem(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "lab-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="session")
def server_ssl(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(ctx)
    return ctx


@pytest.fixture(autouse=True)
def _restore_sdk_logging(sdk_logging_restored: None) -> None:
    """Every client test puts the SDK's loggers back (see tests/conftest.py)."""


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated state dir and HOME (persistent token caches land under ~/.IdentityService)."""
    monkeypatch.setenv("MILINK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    (tmp_path / "home").mkdir()
    from milink_tui.clients import auth

    auth.encrypted_cache_available.cache_clear()
    return tmp_path / "state"


@pytest.fixture
def world() -> World:
    return scenarios.build("linked")


@pytest.fixture
async def arm(world: World, server_ssl: ssl.SSLContext) -> AsyncIterator[ArmServer]:
    server = await serve_arm(world, ReplicationEngine(world), server_ssl, sp_client_secret=SP_SECRET,
                             lro_durations=FAST_LROS)
    try:
        yield server
    finally:
        await server.close()


def sp_sign_in(arm: ArmServer, secret: str = SP_SECRET) -> SignIn:
    return SignIn("sp-secret", tenant_id=arm.tenant_id, client_id=arm.sp_client_id, client_secret=secret)


@pytest.fixture
async def session(arm: ArmServer, ca_pem: str, state: Path) -> AsyncIterator[AzureSession]:
    s = AzureSession(sp_sign_in(arm), cloud=Cloud.lab(arm.base_url), ca_file=ca_pem, polling_interval=0,
                     retry_total=0)
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
def az(session: AzureSession) -> AzureClient:
    return AzureClient(session, progress_interval=0.01)
