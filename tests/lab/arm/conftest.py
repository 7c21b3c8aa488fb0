"""Fixtures: a small World, the lab ARM over TLS with a test CA, and real SDK clients against it."""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from milink_tui.lab.arm import ArmServer, serve_arm
from milink_tui.lab.hooks import LabError
from milink_tui.lab.model import (
    Certificate,
    Database,
    Endpoint,
    ManagedInstance,
    MiDatabase,
    MiLink,
    SimClock,
    SqlInstance,
    Subscription,
    World,
)

SUB = "6f1c3c7e-8d55-4b0a-9a6f-3f6b2c1d0e01"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
# LROs last 1-3 simulated seconds; the clock runs 40x so each finishes in well under 0.1 s
CLOCK_SPEED = 40.0


def make_cert(cn: str, days: int = 365) -> bytes:
    """A self-signed certificate's DER, like CREATE CERTIFICATE / the MI endpoint certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=days)).sign(key, hashes.SHA256()))
    return cert.public_bytes(Encoding.DER)


@pytest.fixture(scope="session")
def ders() -> dict[str, bytes]:
    return {"sql1": make_cert("Certificate for Cert_sql1_endpoint"), "mi-prod": make_cert("mi-prod endpoint"),
            "mi-dr": make_cert("mi-dr endpoint"), "other": make_cert("unrelated")}


def _cert(name: str, der: bytes) -> Certificate:
    c = x509.load_der_x509_certificate(der)
    return Certificate(name=name, subject=name, der=der, start_date=c.not_valid_before_utc.replace(tzinfo=None),
                       expiry_date=c.not_valid_after_utc.replace(tzinfo=None))


@pytest.fixture
def world(ders: dict[str, bytes]) -> World:
    w = World(clock=SimClock(speed=CLOCK_SPEED), tenant_id=TENANT)
    w.subscriptions[SUB] = Subscription(SUB, "Lab Production", TENANT,
                                        resource_groups={"rg-prod": "westeurope", "rg-dr": "northeurope"})
    prod = ManagedInstance("mi-prod", SUB, "rg-prod", dns_zone="a1b2c3d4e5f6", database_format="SQLServer2022",
                           endpoint_certificate=_cert("mi-prod", ders["mi-prod"]))
    prod.databases["appdb"] = MiDatabase("appdb")
    dr = ManagedInstance("mi-dr", SUB, "rg-dr", location="northeurope", tier="BusinessCritical",
                         hybrid_secondary_usage="Passive", is_general_purpose_v2=False,
                         endpoint_certificate=_cert("mi-dr", ders["mi-dr"]))
    w.managed_instances = {"mi-prod": prod, "mi-dr": dr}
    sql = SqlInstance("sql1", address="10.0.0.4", hadr_enabled=True, master_key=True)
    sql.certificates["Cert_sql1_endpoint"] = _cert("Cert_sql1_endpoint", ders["sql1"])
    sql.endpoints["Hadr_endpoint"] = Endpoint("Hadr_endpoint", state="STARTED", certificate_name="Cert_sql1_endpoint")
    sql.databases["db1"] = Database("db1", 5, collation="Latin1_General_CI_AS")
    w.sql_instances["sql1"] = sql
    return w


class EngineDouble:
    """A LinkOps double that records calls and flips roles the way the replication engine does."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.refuse: dict[str, LabError] = {}

    def _record(self, hook: str, *args: Any) -> None:
        self.calls.append((hook, args))
        if hook in self.refuse:
            raise self.refuse[hook]

    def mi_link_created(self, mi: ManagedInstance, link: MiLink) -> None:
        self._record("mi_link_created", mi.name, link.name)

    def mi_link_deleted(self, mi: ManagedInstance, link: MiLink) -> None:
        self._record("mi_link_deleted", mi.name, link.name)

    def mi_link_updated(self, mi: ManagedInstance, link: MiLink) -> None:
        self._record("mi_link_updated", mi.name, link.name, link.replication_mode)

    def mi_failover(self, mi: ManagedInstance, link: MiLink, failover_type: str) -> None:
        self._record("mi_failover", mi.name, link.name, failover_type)
        link.instance_link_role = "Primary" if link.instance_link_role == "Secondary" else "Secondary"

    def mi_set_role(self, mi: ManagedInstance, link: MiLink, role: str, change_type: str) -> None:
        self._record("mi_set_role", mi.name, link.name, role, change_type)
        link.instance_link_role = role  # type: ignore[assignment]

    def __getattr__(self, name: str) -> Any:  # SQL-side hooks are not used by ARM
        return lambda *a, **k: None


@pytest.fixture
def engine() -> EngineDouble:
    return EngineDouble()


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


@pytest.fixture(scope="session")
def client_ssl(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


@pytest.fixture
async def arm(world: World, engine: EngineDouble, server_ssl: ssl.SSLContext) -> AsyncIterator[ArmServer]:
    server = await serve_arm(world, engine, server_ssl, sp_client_secret="lab-sp-secret")
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
async def session(client_ssl: ssl.SSLContext) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_ssl)) as s:
        yield s


@pytest.fixture
async def credential(arm: ArmServer, ca_pem: str) -> AsyncIterator[Any]:
    from azure.identity.aio import ClientSecretCredential

    cred = ClientSecretCredential(arm.tenant_id, arm.sp_client_id, arm.sp_client_secret, authority=arm.authority,
                                  disable_instance_discovery=True, connection_verify=ca_pem)
    async with cred:
        yield cred


def _transport(session: aiohttp.ClientSession) -> Any:
    from azure.core.pipeline.transport import AioHttpTransport

    return AioHttpTransport(session=session, session_owner=False)


@pytest.fixture
async def sql(arm: ArmServer, credential: Any, session: aiohttp.ClientSession) -> AsyncIterator[Any]:
    from azure.mgmt.sql.aio import SqlManagementClient

    client = SqlManagementClient(credential, SUB, base_url=arm.base_url, transport=_transport(session),
                                 polling_interval=0)
    async with client:
        yield client


@pytest.fixture
async def sql_no_retry(arm: ArmServer, credential: Any, session: aiohttp.ClientSession) -> AsyncIterator[Any]:
    from azure.mgmt.sql.aio import SqlManagementClient

    client = SqlManagementClient(credential, SUB, base_url=arm.base_url, transport=_transport(session),
                                 polling_interval=0, retry_total=0)
    async with client:
        yield client


@pytest.fixture
async def subs(arm: ArmServer, credential: Any, session: aiohttp.ClientSession) -> AsyncIterator[Any]:
    from azure.mgmt.resource.subscriptions.aio import SubscriptionClient

    client = SubscriptionClient(credential, base_url=arm.base_url, transport=_transport(session))
    async with client:
        yield client


async def raw(arm: ArmServer, session: aiohttp.ClientSession, method: str, path: str, *,
              token: str | None = "default", body: Any = None) -> tuple[int, dict[str, str], Any]:
    """A plain HTTPS call (for what the SDK can't send: no token, odd casing, bad api-versions)."""
    headers = {}
    if token == "default":
        token = arm.access_token()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with session.request(method, arm.base_url + path, headers=headers, json=body) as resp:
        text = await resp.text()
        try:
            data = await resp.json(content_type=None) if text else None
        except ValueError:
            data = text
        return resp.status, dict(resp.headers), data


REFERENCE = Path(__file__).parent / "arm_examples"  # public x-ms-examples payloads
