"""Derived link figures (domain.md §8.3): what a DBA asks of a link right now.

RPO: data that would be lost by failing over now ≈ the send queue (KB) and the commit-time
gap. RTO: redo time = redo queue / redo rate. All pure functions of one sample.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass
class LinkSample:
    """One link database at one moment, merged from the DMVs and ARM (None = unknown)."""

    connected: bool | None
    sync_state: str | None  # SYNCHRONIZING / SYNCHRONIZED / NOT SYNCHRONIZING / ...
    sync_health: str | None
    log_send_queue_kb: float | None
    log_send_rate_kbs: float | None
    redo_queue_kb: float | None
    redo_rate_kbs: float | None
    primary_commit_time: dt.datetime | None
    secondary_commit_time: dt.datetime | None
    secondary_lag_seconds: float | None = None
    seeding_done_bytes: float | None = None
    seeding_total_bytes: float | None = None
    seeding_rate_bps: float | None = None
    certificate_expiry: dt.datetime | None = None


def data_loss_seconds(s: LinkSample) -> float | None:
    """Estimated data loss (seconds) if you failed over now."""
    if s.primary_commit_time and s.secondary_commit_time:
        return max(0.0, (s.primary_commit_time - s.secondary_commit_time).total_seconds())
    return s.secondary_lag_seconds


def data_loss_mb(s: LinkSample) -> float | None:
    return None if s.log_send_queue_kb is None else s.log_send_queue_kb / 1024


def redo_seconds(s: LinkSample) -> float | None:
    """Estimated catch-up (redo) time; infinite while the queue grows with no redo progress."""
    if s.redo_queue_kb is None:
        return None
    if s.redo_queue_kb == 0:
        return 0.0
    if not s.redo_rate_kbs:
        return float("inf")
    return s.redo_queue_kb / s.redo_rate_kbs


def planned_failover_safe(s: LinkSample, max_queue_kb: float = 0) -> tuple[bool, str]:
    """Whether a planned failover would lose nothing now, and why not."""
    if not s.connected:
        return False, "the replicas are not connected"
    if s.sync_health != "HEALTHY":
        return False, f"synchronization health is {s.sync_health or 'unknown'}"
    if s.sync_state not in ("SYNCHRONIZING", "SYNCHRONIZED"):
        return False, f"the secondary is {s.sync_state or 'not synchronizing'}"
    if (s.log_send_queue_kb or 0) > max_queue_kb:
        return False, f"{s.log_send_queue_kb:,.0f} KB not yet sent"
    return True, "connected, healthy, nothing waiting to be sent"


def seeding_eta_seconds(s: LinkSample) -> float | None:
    if not s.seeding_total_bytes or s.seeding_done_bytes is None:
        return None
    left = max(0.0, s.seeding_total_bytes - s.seeding_done_bytes)
    if left == 0:
        return 0.0
    return left / s.seeding_rate_bps if s.seeding_rate_bps else None


def certificate_days_left(s: LinkSample, now: dt.datetime) -> float | None:
    return None if s.certificate_expiry is None else (s.certificate_expiry - now).total_seconds() / 86400
