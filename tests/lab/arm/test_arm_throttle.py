"""ARM's request limits in the lab: token buckets per subscription and principal (and global).

Unit tests drive the buckets with a fake clock; the SDK tests go over HTTPS as a client would
and read what ARM says: the remaining counts on every answer, and 429 + Retry-After when empty.
"""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError

from milink_tui.lab.arm.throttle import GLOBAL_FACTOR, LIMITS, Throttle, Throttled


def test_a_bucket_empties_refills_and_says_what_is_left() -> None:
    now = [0.0]
    t = Throttle(clock=lambda: now[0])
    limits = {**LIMITS, "reads": (3, 2.0)}
    heads = [t.take("GET", "SUB", "alice", limits) for _ in range(3)]
    assert [h["x-ms-ratelimit-remaining-subscription-reads"] for h in heads] == ["2", "1", "0"]
    assert heads[0]["x-ms-ratelimit-remaining-subscription-global-reads"] == str(3 * GLOBAL_FACTOR - 1)
    with pytest.raises(Throttled) as e:
        t.take("GET", "sub", "alice", limits)  # subscriptions are case-insensitive
    assert e.value.kind == "reads" and e.value.retry_after == 1
    assert t.take("GET", "sub", "bob", limits)  # another principal has its own bucket
    assert t.take("PUT", "sub", "alice", limits)["x-ms-ratelimit-remaining-subscription-writes"] == "199"
    assert t.take("DELETE", "sub", "alice", limits)["x-ms-ratelimit-remaining-subscription-deletes"] == "199"
    now[0] = 0.5  # one token back (2 a second)
    assert t.take("GET", "sub", "alice", limits)["x-ms-ratelimit-remaining-subscription-reads"] == "0"
    now[0] = 100.0  # full again, never above the bucket
    assert t.take("GET", "sub", "alice", limits)["x-ms-ratelimit-remaining-subscription-reads"] == "2"
    assert t.take("GET", "sub", "alice", None) == {}  # limits off
    assert t.take("GET", None, "alice", limits) == {}  # tenant-level requests are not counted here


def test_the_global_bucket_is_shared_by_every_principal() -> None:
    now = [0.0]
    t = Throttle(clock=lambda: now[0])
    limits = {**LIMITS, "reads": (1, 0.001)}  # global: 15 for everyone
    for i in range(GLOBAL_FACTOR):
        t.take("GET", "sub", f"p{i}", limits)
    with pytest.raises(Throttled):
        t.take("GET", "sub", "newcomer", limits)


async def test_every_answer_carries_the_remaining_reads(sql, arm, world) -> None:
    responses = []
    mi = await sql.managed_instances.get("rg-prod", "mi-prod",
                                         cls=lambda r, m, h: responses.append(r.http_response.headers) or m)
    assert mi.name == "mi-prod"
    left = int(responses[0]["x-ms-ratelimit-remaining-subscription-reads"])
    assert 0 < left < LIMITS["reads"][0]
    assert int(responses[0]["x-ms-ratelimit-remaining-subscription-global-reads"]) > left


async def test_an_empty_read_bucket_answers_429_with_retry_after(sql_no_retry, world) -> None:
    world.faults.arm_read_limit = (2, 0.5)
    for _ in range(2):
        await sql_no_retry.managed_instances.get("rg-prod", "mi-prod")
    with pytest.raises(HttpResponseError) as e:
        await sql_no_retry.managed_instances.get("rg-prod", "mi-prod")
    assert e.value.status_code == 429 and e.value.error.code == "SubscriptionRequestsThrottled"
    assert e.value.response.headers["Retry-After"] == "2"
    assert e.value.response.headers["x-ms-ratelimit-remaining-subscription-reads"] == "0"
    world.faults.arm_limits = False  # off: never throttled
    assert (await sql_no_retry.managed_instances.get("rg-prod", "mi-prod")).name == "mi-prod"
