"""The lab's control API (plain HTTP on loopback): scenarios, workload, faults, clock, counters.

Tests, benchmarks and the app's Lab panel use it to break things on purpose and to read what
the lab counted (lost transactions, round trips per source). It is not part of any real
system's contract, so it is deliberately small and JSON-only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from .model import PortBlock, Workload, World
from .replication import ReplicationEngine

log = logging.getLogger("milink.lab.control")


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, default=str))


def _bad(message: str) -> web.Response:
    return _json({"error": message}, status=400)


class Control:
    """Holds the live world; ``rebuild`` swaps a scenario in place so servers keep their references."""

    def __init__(self, world: World, engine: ReplicationEngine, rebuild: Callable[[str], World],
                 extras: dict[str, Callable[..., Any]] | None = None) -> None:
        self.world = world
        self.engine = engine
        self.rebuild = rebuild
        self.extras = extras or {}

    # ------------------------------------------------------------------ views

    def state(self) -> dict[str, Any]:
        w = self.world
        links = []
        for p in self.engine.pairings():
            for s in p.link.streams.values():
                links.append({
                    "link": p.link.name, "database": s.database, "sql_server": p.instance.name,
                    "managed_instance": p.mi.name, "sql_role": p.dag.role, "mi_role": p.link.instance_link_role,
                    "primary_side": s.primary_side, "connected": s.connected, "phase": s.phase,
                    "seeding_percent": s.seeding_percent, "log_send_queue_kb": s.log_send_queue_kb,
                    "redo_queue_kb": s.redo_queue_kb, "secondary_lag_seconds": s.secondary_lag_seconds,
                    "hardened_transactions": s.hardened_transactions,
                    "last_error": s.last_error[0] if s.last_error else None,
                })
        return {
            "scenario": w.scenario, "now": w.clock.now().isoformat(), "speed": w.clock.speed,
            "lost_transactions": w.lost_transactions, "round_trips": dict(w.round_trips),
            "faults": dataclasses.asdict(w.faults),
            "network": [dataclasses.asdict(b) for b in w.network_blocks],
            "sql_servers": {
                name: {"version": i.version, "hadr_enabled": i.hadr_enabled, "platform": i.host_platform,
                       "agent_running": i.agent_running,
                       "hadr_pending_restart": i.hadr_enabled_after_restart is not None,
                       "trace_flags": sorted(i.trace_flags), "restarts": i.restarts,
                       "databases": {d.name: {"state": d.state, "transactions": d.transactions,
                                              "end_of_log_lsn": d.end_of_log_lsn}
                                     for d in i.databases.values()}}
                for name, i in w.sql_instances.items()
            },
            "managed_instances": {
                mi.name: {"available": mi.available, "links": sorted(link.name for link in mi.links.values()),
                          "fqdn": mi.fqdn, "node_name": mi.node_name, "hadr_port": mi.hadr_port,
                          "subnet": mi.subnet,
                          "databases": {d.name: {"state": d.state, "transactions": d.transactions}
                                        for d in mi.databases.values()}}
                for mi in w.managed_instances.values()
            },
            "links": links,
        }

    # ------------------------------------------------------------------ handlers

    async def get_state(self, request: web.Request) -> web.Response:
        return _json(self.state())

    async def post_scenario(self, request: web.Request) -> web.Response:
        body = await request.json()
        name = body.get("name")
        try:
            fresh_world = self.rebuild(name)
        except KeyError:
            return _bad(f"unknown scenario {name!r}")
        with self.world.lock:
            for f in dataclasses.fields(World):
                if f.name != "lock":
                    setattr(self.world, f.name, getattr(fresh_world, f.name))
        return _json({"scenario": name})

    async def post_workload(self, request: web.Request) -> web.Response:
        body = await request.json()
        server = body.get("server") or next(iter(self.world.sql_instances))
        database = body.get("database")
        if server not in self.world.sql_instances or not database:
            return _bad("need an existing 'server' and a 'database'")
        tps = float(body.get("transactions_per_second", 0))
        size = int(body.get("bytes_per_transaction", 4096))
        if tps < 0 or size <= 0:
            return _bad("transactions_per_second must be >= 0 and bytes_per_transaction > 0")
        with self.world.lock:
            self.world.workloads[(server, database)] = Workload(tps, size)
        return _json({"server": server, "database": database, "transactions_per_second": tps})

    async def post_fault(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = await request.json()
        w = self.world
        with w.lock:
            f = w.faults
            if "partition" in body:
                f.partitioned = bool(body["partition"])
            if "bandwidth_bps" in body:
                f.bandwidth_bps = float(body["bandwidth_bps"])
            if "mi_unavailable" in body:
                for name, down in dict(body["mi_unavailable"]).items():
                    mi = w.find_mi(name)
                    if mi is None:
                        return _bad(f"no managed instance {name!r}")
                    mi.available = not down
            if "arm_status" in body:
                f.arm_status = int(body["arm_status"]) if body["arm_status"] else None
                f.arm_status_remaining = int(body.get("arm_count", 10))
            if "arm_retry_after" in body:
                f.arm_retry_after = body["arm_retry_after"]
            if "arm_limits" in body:
                f.arm_limits = bool(body["arm_limits"])
            if "arm_read_limit" in body:  # [bucket, tokens a second], or null for ARM's own
                limit = body["arm_read_limit"]
                try:
                    bucket, rate = (float(limit[0]), float(limit[1])) if limit else (0.0, 0.0)
                except (TypeError, ValueError, IndexError, KeyError):
                    return _bad("arm_read_limit: [bucket, tokens a second] or null")
                if limit and (bucket < 1 or rate <= 0):
                    return _bad("arm_read_limit: a bucket of at least 1 and a positive rate")
                f.arm_read_limit = (bucket, rate) if limit else None
            if "fail_next_lro" in body:
                f.fail_next_lro = body["fail_next_lro"] or None
            if "tds_drop" in body:
                f.tds_drop_next = int(body["tds_drop"])
            if "cert_expires_in_days" in body:
                err = self._expire(dict(body["cert_expires_in_days"]))
                if err:
                    return _bad(err)
        return _json(dataclasses.asdict(w.faults))

    def _expire(self, spec: dict[str, Any]) -> str | None:
        """{'sql': {'server': 'X', 'certificate': 'name', 'days': 10}} or {'mi': {'name': .., 'days': ..}}."""
        now = self.world.clock.now()
        if "sql" in spec:
            s = spec["sql"]
            inst = self.world.sql_instances.get(s.get("server") or next(iter(self.world.sql_instances)))
            cert = inst.certificates.get(s.get("certificate", f"Cert_{inst.name}_endpoint")) if inst else None
            if cert is None:
                return "no such SQL Server certificate"
            cert.expiry_date = now + dt.timedelta(days=float(s["days"]))
            for mi in self.world.managed_instances.values():
                for trusted in mi.trust_certificates.values():
                    if trusted.thumbprint == cert.thumbprint:
                        trusted.expiry_date = cert.expiry_date
        if "mi" in spec:
            m = spec["mi"]
            mi = self.world.find_mi(m.get("name", ""))
            if mi is None or mi.endpoint_certificate is None:
                return "no such managed instance"
            mi.endpoint_certificate.expiry_date = now + dt.timedelta(days=float(m["days"]))
        return None

    async def post_network(self, request: web.Request) -> web.Response:
        """Firewall / NSG deny rules on the SQL Server -> managed instance path (and back).

        ``{"clear": true, "block": [{"low": 11000, "high": 11999, "where": "sql-outbound",
        "sql_server": null, "managed_instance": null}]}``; ``partition`` stays in /fault.
        """
        body: dict[str, Any] = await request.json()
        blocks = []
        for spec in body.get("block") or []:
            try:
                low = int(spec["low"])
                high = int(spec.get("high", low))
                where = spec.get("where", "sql-outbound")
            except (KeyError, TypeError, ValueError):
                return _bad("each block needs an integer 'low' (and optional 'high')")
            if not 1 <= low <= high <= 65535 or where not in ("sql-outbound", "mi-inbound", "mi-outbound",
                                                              "sql-inbound"):
                return _bad("ports are 1..65535 with low <= high; where is sql-outbound, mi-inbound "
                            "(SQL Server -> MI), mi-outbound or sql-inbound (MI -> SQL Server)")
            blocks.append(PortBlock(low, high, where, spec.get("sql_server"), spec.get("managed_instance")))
        with self.world.lock:
            if body.get("clear"):
                self.world.network_blocks.clear()
            self.world.network_blocks.extend(blocks)
            return _json({"network": [dataclasses.asdict(b) for b in self.world.network_blocks]})

    async def post_clock(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self.world.lock:
            if "speed" in body:
                speed = float(body["speed"])
                if speed <= 0:
                    return _bad("speed must be > 0")
                self.world.clock.set_speed(speed)
            if "advance" in body:
                self.engine.advance(float(body["advance"]))
        return _json({"now": self.world.clock.now().isoformat(), "speed": self.world.clock.speed})

    async def post_sql_config(self, request: web.Request) -> web.Response:
        """Service-level settings a DBA changes outside T-SQL (Configuration Manager, mssql-conf)."""
        body = await request.json()
        inst = self.world.sql_instances.get(body.get("server") or next(iter(self.world.sql_instances)))
        if inst is None:
            return _bad("no such server")
        with self.world.lock:
            if "hadr_enabled" in body:
                inst.hadr_enabled_after_restart = bool(body["hadr_enabled"])
            if "agent_running" in body:
                inst.agent_running = bool(body["agent_running"])
            if "host_platform" in body:
                if body["host_platform"] not in ("Windows", "Linux"):
                    return _bad("host_platform is Windows or Linux")
                _set_platform(inst, body["host_platform"])
            if "startup_trace_flags" in body:
                inst.startup_trace_flags = {int(x) for x in body["startup_trace_flags"]}
            if body.get("restart"):
                inst.restart()
        return _json({"server": inst.name, "hadr_enabled": inst.hadr_enabled, "restarts": inst.restarts,
                      "agent_running": inst.agent_running, "host_platform": inst.host_platform})

    async def post_counters_reset(self, request: web.Request) -> web.Response:
        with self.world.lock:
            self.world.round_trips.clear()
            self.world.lost_transactions = 0
        return _json({"ok": True})

    async def post_extra(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        fn = self.extras.get(name)
        if fn is None:
            return _json({"error": f"unknown action {name!r}"}, status=404)
        body = await request.json() if request.can_read_body else {}
        return _json(fn(**body) or {"ok": True})

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes([
            web.get("/state", self.get_state),
            web.post("/scenario", self.post_scenario),
            web.post("/workload", self.post_workload),
            web.post("/fault", self.post_fault),
            web.post("/clock", self.post_clock),
            web.post("/network", self.post_network),
            web.post("/sql/config", self.post_sql_config),
            web.post("/counters/reset", self.post_counters_reset),
            web.post("/x/{name}", self.post_extra),
        ])
        return app


def _set_platform(inst: Any, platform: str) -> None:
    from .scenarios import set_platform

    set_platform(inst, platform)
