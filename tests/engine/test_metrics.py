"""Derived link figures (RPO, RTO, safety) from one sample."""

from __future__ import annotations

import datetime as dt
import math

from milink_tui.engine import metrics

T = dt.datetime(2026, 11, 23, 12, 0, 0)


def sample(**kw) -> metrics.LinkSample:
    base = dict(connected=True, sync_state="SYNCHRONIZING", sync_health="HEALTHY", log_send_queue_kb=0,
                log_send_rate_kbs=100, redo_queue_kb=0, redo_rate_kbs=1000, primary_commit_time=T,
                secondary_commit_time=T)
    base.update(kw)
    return metrics.LinkSample(**base)


def test_data_loss_from_commit_gap_and_send_queue() -> None:
    s = sample(secondary_commit_time=T - dt.timedelta(seconds=12), log_send_queue_kb=5120)
    assert metrics.data_loss_seconds(s) == 12
    assert metrics.data_loss_mb(s) == 5


def test_redo_time_and_stalled_redo() -> None:
    assert metrics.redo_seconds(sample(redo_queue_kb=4000, redo_rate_kbs=1000)) == 4
    assert math.isinf(metrics.redo_seconds(sample(redo_queue_kb=10, redo_rate_kbs=0)))


def test_planned_failover_safety_explains_why_not() -> None:
    assert metrics.planned_failover_safe(sample())[0]
    ok, why = metrics.planned_failover_safe(sample(connected=False))
    assert not ok and "not connected" in why
    ok, why = metrics.planned_failover_safe(sample(log_send_queue_kb=2048))
    assert not ok and "2,048 KB" in why


def test_seeding_eta_and_certificate_days() -> None:
    s = sample(seeding_done_bytes=25, seeding_total_bytes=100, seeding_rate_bps=5,
               certificate_expiry=T + dt.timedelta(days=10))
    assert metrics.seeding_eta_seconds(s) == 15
    assert metrics.certificate_days_left(s, T) == 10
