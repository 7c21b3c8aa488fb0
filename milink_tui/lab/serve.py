"""``milink lab serve``: the lab as its own process.

It makes a throwaway CA, starts one TDS listener per simulated SQL Server and per managed
instance (its T-SQL side: SQL admin login or Entra token), the HTTPS ARM +
Entra endpoint and the control API on loopback, runs the replication clock, prints one JSON
line with every endpoint when ready (``--json``), and exits 0 on SIGTERM/SIGINT after
cancelling its tasks. Clients (the app, tests) launch it; nothing imports it in-process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import signal
import ssl
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .arm.entra import FakeEntra
    from .tds.server import FedAuthVerifier

log = logging.getLogger("milink.lab")

TICK_SECONDS = 0.1


def run(scenario: str = "fresh", speed: float = 1.0, json_line: bool = False, state_dir: str | None = None) -> int:
    logging.basicConfig(level=os.environ.get("MILINK_LAB_LOG", "WARNING"), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        asyncio.run(_main(scenario, speed, json_line, state_dir))
    except KeyboardInterrupt:
        pass
    return 0


def _certificates(state_dir: Path) -> tuple[Path, ssl.SSLContext, ssl.SSLContext]:
    """A lab CA and a server certificate for localhost/127.0.0.1 (what the clients validate)."""
    import trustme

    ca = trustme.CA(organization_name="milink lab")
    leaf = ca.issue_cert("localhost", "127.0.0.1", "::1", common_name="localhost")
    ca_file = state_dir / "lab-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    https = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(https)
    tds = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(tds)
    tds.maximum_version = ssl.TLSVersion.TLSv1_2  # TLS inside PRELOGIN: 1.3 breaks ODBC Driver 18
    return ca_file, https, tds


async def _main(scenario: str, speed: float, json_line: bool, state_dir: str | None) -> None:
    from aiohttp import web

    from .arm.entra import SQL_AUDIENCES
    from .arm.server import serve_arm
    from .control import Control
    from .hooks import NoOps
    from .replication import ReplicationEngine
    from .scenarios import MI_ADMIN, SA_PASSWORD, build
    from .sqlserver import SqlServerBackend, managed_backend
    from .tds.server import serve_tds

    folder = Path(state_dir) if state_dir else Path(tempfile.mkdtemp(prefix="milink-lab-"))
    folder.mkdir(parents=True, exist_ok=True)
    ca_file, https_ctx, tds_ctx = _certificates(folder)

    world = build(scenario, speed)
    engine = ReplicationEngine(world)

    # ARM first: its Entra authority issues the tokens the SQL Servers accept for Entra logins
    arm = await serve_arm(world, engine, https_ctx, host="127.0.0.1", port=0)
    backend_class = _with_entra_logins(SqlServerBackend)
    tds_servers = {}
    for name in list(world.sql_instances):
        backend = backend_class(world, name, engine, arm.entra.sql_admins, arm.entra.sql_sid)
        tds_servers[name] = await serve_tds(backend, host="127.0.0.1", port=0, ssl_context=tds_ctx,
                                            fedauth=_fedauth_verifier(arm.entra))
    mi_class = _with_entra_logins(managed_backend(MI_ADMIN))
    mi_servers = {}
    for key, mi in list(world.managed_instances.items()):
        backend = mi_class(world, key, NoOps(), arm.entra.sql_admins, arm.entra.sql_sid)
        mi_servers[mi.name] = (mi.fqdn, await serve_tds(backend, host="127.0.0.1", port=0, ssl_context=tds_ctx,
                                                        fedauth=_fedauth_verifier(arm.entra)))

    control = Control(world, engine, lambda name: build(name, world.clock.speed),
                      extras=getattr(arm, "control_actions", {}))
    runner = web.AppRunner(control.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    control_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # read the launcher's pid now, before announcing readiness: it may die right after reading it
    ticker = asyncio.create_task(_tick(world, engine, stop, parent=os.getppid()))

    first = next(iter(tds_servers))
    info: dict[str, Any] = {
        "sql": {"host": "localhost", "port": tds_servers[first].port, "user": "sa", "password": SA_PASSWORD,
                "ca_file": str(ca_file), "server_name": first,
                "address": world.sql_instances[first].address},  # how the managed instances reach it
        "sql_servers": [{"server_name": n, "host": "localhost", "port": s.port,
                         "address": world.sql_instances[n].address} for n, s in tds_servers.items()],
        "managed_instances": [{"name": n, "fqdn": fqdn, "host": "localhost", "port": s.port, "user": MI_ADMIN[0],
                               "password": MI_ADMIN[1]} for n, (fqdn, s) in mi_servers.items()],
        "arm": {"base_url": arm.base_url, "ca_file": str(ca_file),
                "subscription_id": next(iter(world.subscriptions))},
        "entra": {"authority": arm.authority, "tenant_id": world.tenant_id,
                  **getattr(arm, "client_info", {}),
                  "sql_scope": f"{SQL_AUDIENCES[0]}/.default", "sql_admins": sorted(arm.entra.sql_admins())},
        "control": {"url": f"http://127.0.0.1:{control_port}"},
        "scenario": scenario,
        "pid": os.getpid(),
    }
    (folder / "lab.json").write_text(json.dumps(info))
    if json_line:
        sys.stdout.write(json.dumps(info) + "\n")
        sys.stdout.flush()
    else:
        sys.stdout.write(_banner(info))
        sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)
        for server in [*tds_servers.values(), *(s for _, s in mi_servers.values())]:
            await server.close()
        await arm.close()
        await runner.cleanup()


def _fedauth_verifier(entra: FakeEntra) -> FedAuthVerifier:
    """TDS FEDAUTH -> the lab's own Entra: signature, expiry, audience and tenant, as SQL Server checks them."""
    from .arm.entra import SQL_TOKEN_REFUSALS, TokenRejected
    from .tds.backend import SqlError

    def verify(token: str) -> str:
        try:
            return entra.sql_principal(token)
        except TokenRejected as e:
            log.info("Entra token refused at SQL login: %s", e.kind)
            raise SqlError(18456, SQL_TOKEN_REFUSALS[e.kind], 14, 1) from None

    return verify


def _with_entra_logins(base: type) -> type:
    """``base`` (SqlServerBackend) plus Microsoft Entra logins for the lab's Entra admins.

    The first Entra login of an admin creates its login (sysadmin, named by UPN or
    ``appid@tenant`` so SUSER_SNAME() shows it): an external login, type 'E' / EXTERNAL_LOGIN in
    sys.server_principals with the Entra ID as its SID, absent from sys.sql_logins. It holds a
    random password nobody knows; SQL authentication with such a name is refused, as for a real
    external login.
    """
    from .model import Login
    from .tds.backend import SqlError

    token_principal = "<token-identified principal>"

    class EntraBackend(base):  # type: ignore[misc, valid-type]
        def __init__(self, world: Any, name: str, ops: Any, admins: Callable[[], set[str]],
                     sid_of: Callable[[str], bytes]) -> None:
            super().__init__(world, name, ops)
            self._admins = admins
            self._sid_of = sid_of

        def _is_admin(self, name: str) -> bool:
            return name.lower() in {a.lower() for a in self._admins()}

        def login(self, user: str, password: str, database: str | None, app_name: str) -> Any:
            if self._is_admin(user):
                raise SqlError(18456, f"Login failed for user '{user}'.", 14, 1)
            return super().login(user, password, database, app_name)

        def login_federated(self, principal: str, database: str | None, app_name: str) -> Any:
            if not self._is_admin(principal):
                raise SqlError(18456, f"Login failed for user '{token_principal}'.", 14, 1)
            with self.world.lock:
                logins = self.instance.logins
                found = next((lg for n, lg in logins.items() if n.lower() == principal.lower()), None)
                if found is None:
                    found = logins[principal] = Login(principal, secrets.token_urlsafe(32), sysadmin=True,
                                                      type="E", sid=self._sid_of(principal))
                name, password = found.name, found.password
            return base.login(self, name, password, database, app_name)

    return EntraBackend


async def _tick(world, engine, stop: asyncio.Event, parent: int) -> None:
    """Advance replication by the simulated time that passed, about ten times a second."""
    last = world.clock.seconds()
    while not stop.is_set():
        await asyncio.sleep(TICK_SECONDS)
        if os.getppid() != parent:  # whoever launched us is gone (SSH dropped, app killed): stop too
            log.warning("parent process %d went away; stopping the lab", parent)
            stop.set()
            break
        now = world.clock.seconds()
        try:
            engine.tick(now - last)
        except Exception:  # a bug in one tick must not take the lab down
            log.exception("replication tick failed")
        last = now


def _banner(info: dict[str, Any]) -> str:
    sql, arm = info["sql"], info["arm"]
    return (
        f"milink lab ({info['scenario']}) ready\n"
        f"  SQL Server  {sql['server_name']}: tcp:{sql['host']},{sql['port']}  user {sql['user']}  "
        f"password {sql['password']}\n"
        + "".join(f"  Managed instance {m['name']}: tcp:{m['host']},{m['port']}  user {m['user']}  "
                  f"password {m['password']}\n" for m in info.get("managed_instances", []))
        + f"  Azure ARM   {arm['base_url']}  subscription {arm['subscription_id']}\n"
        f"  Entra SQL   token for {info['entra'].get('sql_scope', '')} as {info['entra'].get('user', '')} "
        "(Entra admin of every lab SQL Server and managed instance)\n"
        f"  lab CA      {sql['ca_file']}\n"
        f"  control     {info['control']['url']}\n"
        "Ctrl+C stops it.\n"
    )
