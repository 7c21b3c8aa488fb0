"""ARM's request limits: token buckets per subscription and principal, and per subscription.

Since 2024 ARM throttles with token buckets, per region, per subscription and principal and
per kind of operation (Learn, "Understand how Azure Resource Manager throttles requests"):

    reads   bucket 250, refilled at 25 a second
    writes  bucket 200, refilled at 10 a second
    deletes bucket 200, refilled at 10 a second

plus a global bucket per subscription of 15 times those, shared by every principal. Each answer
says what is left in ``x-ms-ratelimit-remaining-subscription-{reads,writes,deletes}`` and
``x-ms-ratelimit-remaining-subscription-global-{…}``; an empty bucket answers 429
``SubscriptionRequestsThrottled`` with ``Retry-After``. The lab keeps one region and real
(monotonic) time, whatever its clock speed: limits are about the caller, not the simulation.
Requests without a subscription (tenant level) are not counted here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# kind -> (bucket size, tokens a second), per subscription and principal
LIMITS: dict[str, tuple[float, float]] = {"reads": (250, 25.0), "writes": (200, 10.0), "deletes": (200, 10.0)}
GLOBAL_FACTOR = 15


def kind_of(method: str) -> str:
    if method in ("GET", "HEAD"):
        return "reads"
    return "deletes" if method == "DELETE" else "writes"


@dataclass
class Bucket:
    size: float
    rate: float
    tokens: float
    at: float

    def refill(self, now: float) -> None:
        self.tokens = min(self.size, self.tokens + (now - self.at) * self.rate)
        self.at = now

    def wait(self) -> int:
        """Whole seconds until one token is back (what Retry-After says)."""
        return max(1, math.ceil((1 - self.tokens) / self.rate))


class Throttled(Exception):
    def __init__(self, kind: str, retry_after: int, headers: dict[str, str]) -> None:
        super().__init__(kind)
        self.kind, self.retry_after, self.headers = kind, retry_after, headers


@dataclass
class Throttle:
    """Takes one token per request, or refuses. The limits come with each request (the control
    API can change them): None switches throttling off."""

    clock: Callable[[], float] = time.monotonic
    _buckets: dict[tuple[str, str, str], Bucket] = field(default_factory=dict)

    def _bucket(self, key: tuple[str, str, str], size: float, rate: float, now: float) -> Bucket:
        b = self._buckets.get(key)
        if b is None:
            b = self._buckets[key] = Bucket(size, rate, size, now)
        b.refill(now)
        if (b.size, b.rate) != (size, rate):  # the limits changed: same tokens, new bounds
            b.size, b.rate, b.tokens = size, rate, min(b.tokens, size)
        return b

    def take(self, method: str, subscription: str | None, principal: str,
             limits: dict[str, tuple[float, float]] | None = LIMITS) -> dict[str, str]:
        """The ``x-ms-ratelimit-remaining-*`` headers after this request; raises :class:`Throttled`."""
        if limits is None or not subscription:
            return {}
        kind = kind_of(method)
        size, rate = limits[kind]
        now = self.clock()
        sub = subscription.lower()
        own = self._bucket((sub, principal, kind), size, rate, now)
        every = self._bucket((sub, "*", kind), size * GLOBAL_FACTOR, rate * GLOBAL_FACTOR, now)
        if own.tokens < 1 or every.tokens < 1:
            empty = own if own.tokens < 1 else every
            raise Throttled(kind, empty.wait(), self._headers(kind, own, every))
        own.tokens -= 1
        every.tokens -= 1
        return self._headers(kind, own, every)

    @staticmethod
    def _headers(kind: str, own: Bucket, every: Bucket) -> dict[str, str]:
        return {f"x-ms-ratelimit-remaining-subscription-{kind}": str(int(own.tokens)),
                f"x-ms-ratelimit-remaining-subscription-global-{kind}": str(int(every.tokens))}
