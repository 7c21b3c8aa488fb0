"""Long-running operations: 202 + Azure-AsyncOperation/Location, finished on the lab's own clock.

Each operation takes a short simulated time (``world.clock``, which may run fast) and a
background task finishes it whether or not anyone polls (az ``--no-wait``). The status is
also settled on read, so a poll that races the task never sees a stale ``InProgress``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ..hooks import LabError
from ..model import SimClock, World
from .errors import ArmError, from_lab_error, lro_message

log = logging.getLogger(__name__)
UTC = dt.timezone.utc

# simulated seconds per operation kind
DEFAULT_DURATIONS = {
    "create": 3.0, "update": 2.0, "delete": 2.0, "failover": 3.0, "setRole": 2.0,
    "certCreate": 1.0, "certDelete": 1.0,
}


@dataclass
class Operation:
    op_id: str
    kind: str  # 'create' | 'update' | 'delete' | 'failover' | 'setRole' | 'certCreate' | 'certDelete'
    family: str  # URL family: 'distributedAvailabilityGroups' | 'serverTrustCertificates'
    subscription_id: str
    location: str
    api_version: str
    started: dt.datetime
    done_at: float  # simulated seconds (world.clock.seconds())
    finish: Callable[[], None] | None = None
    result: Callable[[], dict[str, Any] | None] | None = None
    link_key: tuple[str, str] | None = None  # (mi lower, link lower) while a role change runs
    failure: tuple[str, str] | None = None  # (code, message)
    status: str = "InProgress"
    ended: dt.datetime | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    clock: SimClock | None = field(default=None, repr=False)  # the clock done_at is measured on

    def due(self) -> bool:
        return self.clock is None or self.clock.seconds() >= self.done_at


class LroManager:
    """Registry of operations and the background tasks that finish them."""

    def __init__(self, world: World, durations: dict[str, float] | None = None) -> None:
        self.world = world
        self.durations = dict(DEFAULT_DURATIONS, **(durations or {}))
        self.operations: dict[str, Operation] = {}
        self._closed = False

    # ----------------------------------------------------------------- start

    def start(self, *, kind: str, family: str, subscription_id: str, location: str, api_version: str,
              origin: str, apply: Callable[[], None] | None = None, finish: Callable[[], None] | None = None,
              result: Callable[[], dict[str, Any] | None] | None = None,
              link_key: tuple[str, str] | None = None) -> web.Response:
        """Run ``apply`` now (under the world lock held by the caller) and answer 202.

        ``faults.fail_next_lro`` makes the operation do nothing and end ``Failed`` with that code.
        A LabError from ``apply`` is a synchronous refusal (no operation is created).
        """
        failure = None
        code = self.world.faults.fail_next_lro
        if code:
            self.world.faults.fail_next_lro = None
            failure = (code, lro_message(code))
        elif apply is not None:
            try:
                apply()
            except LabError as e:
                raise from_lab_error(e) from None
        op = Operation(
            op_id=str(uuid.uuid4()), kind=kind, family=family, subscription_id=subscription_id,
            location=location, api_version=api_version, started=dt.datetime.now(UTC),
            done_at=self.world.clock.seconds() + self.durations.get(kind, 2.0),
            finish=None if failure else finish, result=result, link_key=None if failure else link_key,
            failure=failure, clock=self.world.clock,
        )
        self.operations[op.op_id] = op
        if not self._closed:
            op.task = asyncio.get_running_loop().create_task(self._run(op))
        headers = {
            "Azure-AsyncOperation": self.url(op, origin, "AzureAsyncOperation"),
            "Location": self.url(op, origin, "OperationResults"),
        }
        headers.update(self.retry_after())
        return web.Response(status=202, headers=headers)

    def url(self, op: Operation, origin: str, which: str) -> str:
        return (f"{origin}/subscriptions/{op.subscription_id}/providers/Microsoft.Sql/locations/{op.location}/"
                f"{op.family}{which}/{op.op_id}?api-version={op.api_version}")

    def retry_after(self) -> dict[str, str]:
        """Retry-After only when the lab asks for it (az waits 30 s without it; SDK tests want none)."""
        value = self.world.faults.arm_retry_after
        return {"Retry-After": str(value)} if value else {}

    # ----------------------------------------------------------------- progress

    async def _run(self, op: Operation) -> None:
        try:
            clock = op.clock or self.world.clock
            while True:
                remaining = op.done_at - clock.seconds()
                if remaining <= 0:
                    break
                speed = max(clock.speed, 1e-6)
                await asyncio.sleep(min(remaining / speed, 0.25))
            self.settle(op)
        except asyncio.CancelledError:
            raise
        except Exception:  # pragma: no cover - a bug must not kill the loop silently
            log.exception("LRO %s crashed", op.op_id)

    def settle(self, op: Operation) -> Operation:
        """Finish ``op`` if its time has come (idempotent)."""
        if op.status != "InProgress" or not op.due():
            return op
        with self.world.lock:
            if op.status != "InProgress":
                return op
            if op.failure is None and op.finish is not None:
                try:
                    op.finish()
                except LabError as e:
                    err = from_lab_error(e)
                    op.failure = (err.code, err.message)
            op.status = "Failed" if op.failure else "Succeeded"
            op.ended = dt.datetime.now(UTC)
            op.link_key = None
        return op

    def role_change_running(self, link_key: tuple[str, str]) -> bool:
        """A failover/setRole on this link has not finished yet (renders LinkFailoverInProgress)."""
        return any(op.link_key == link_key and self.settle(op).status == "InProgress"
                   for op in self.operations.values() if op.link_key)

    # ----------------------------------------------------------------- polling endpoints

    def get(self, op_id: str) -> Operation:
        op = self.operations.get(op_id)
        if op is None:
            raise ArmError(404, "ResourceNotFound", f"The requested operation '{op_id}' was not found.")
        return self.settle(op)

    def status_response(self, op_id: str) -> web.Response:
        """The Azure-AsyncOperation document."""
        op = self.get(op_id)
        body: dict[str, Any] = {"name": op.op_id, "status": op.status,
                                "startTime": op.started.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
        if op.ended:
            body["endTime"] = op.ended.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if op.failure:
            body["error"] = {"code": op.failure[0], "message": op.failure[1]}
        headers = self.retry_after() if op.status == "InProgress" else {}
        return web.Response(text=json.dumps(body), content_type="application/json", headers=headers)

    def result_response(self, op_id: str, origin: str) -> web.Response:
        """The Location document: 202 while running, then the resource (POST results are read here)."""
        op = self.get(op_id)
        if op.status == "InProgress":
            headers = {"Location": self.url(op, origin, "OperationResults"), **self.retry_after()}
            return web.Response(status=202, headers=headers)
        if op.failure:
            raise ArmError(400, op.failure[0], op.failure[1])
        if op.result is None:
            return web.Response(status=204)
        with self.world.lock:
            data = op.result()  # may raise ArmError (the resource is gone)
        return web.Response(text=json.dumps(data), content_type="application/json")

    async def close(self) -> None:
        self._closed = True
        tasks = [op.task for op in self.operations.values() if op.task and not op.task.done()]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
