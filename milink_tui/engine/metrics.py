"""Derived link figures (domain.md §8.3): what a DBA asks of a link right now.

RPO: data that would be lost by failing over now ≈ the send queue (KB) and the commit-time
gap. RTO: redo time = redo queue / redo rate. All pure functions of one sample.

Each figure has a plain-argument form (``loss_seconds`` …), which the dashboard calls for
every changed link on every refresh (500 links: no sample object per link), and the
:class:`LinkSample` form built on it.
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


# --------------------------------------------------------------------------- plain arguments


def loss_seconds(primary_commit_time: dt.datetime | None, secondary_commit_time: dt.datetime | None,
                 secondary_lag_seconds: float | None) -> float | None:
    """Estimated data loss (seconds) if you failed over now: the commit-time gap, else the lag."""
    if primary_commit_time and secondary_commit_time:
        return max(0.0, (primary_commit_time - secondary_commit_time).total_seconds())
    return secondary_lag_seconds


def loss_mb(log_send_queue_kb: float | None) -> float | None:
    return None if log_send_queue_kb is None else log_send_queue_kb / 1024


def redo_eta(redo_queue_kb: float | None, redo_rate_kbs: float | None) -> float | None:
    """Estimated catch-up (redo) time; infinite while the queue grows with no redo progress."""
    if redo_queue_kb is None:
        return None
    if redo_queue_kb == 0:
        return 0.0
    if not redo_rate_kbs:
        return float("inf")
    return redo_queue_kb / redo_rate_kbs


def failover_safe(connected: bool | None, sync_health: str | None, sync_state: str | None,
                  log_send_queue_kb: float | None, max_queue_kb: float = 0) -> tuple[bool, str]:
    """Whether a planned failover would lose nothing now, and why not."""
    if not connected:
        return False, "the replicas are not connected"
    if sync_health != "HEALTHY":
        return False, f"synchronization health is {sync_health or 'unknown'}"
    if sync_state not in ("SYNCHRONIZING", "SYNCHRONIZED"):
        return False, f"the secondary is {sync_state or 'not synchronizing'}"
    if (log_send_queue_kb or 0) > max_queue_kb:
        return False, f"{log_send_queue_kb:,.0f} KB not yet sent"
    return True, "connected, healthy, nothing waiting to be sent"


def seeding_eta(total_bytes: float | None, done_bytes: float | None, rate_bps: float | None) -> float | None:
    if not total_bytes or done_bytes is None:
        return None
    left = max(0.0, total_bytes - done_bytes)
    if left == 0:
        return 0.0
    return left / rate_bps if rate_bps else None


def days_left(expiry: dt.datetime | None, now: dt.datetime) -> float | None:
    return None if expiry is None else (expiry - now).total_seconds() / 86400


# --------------------------------------------------------------------------- one sample


def data_loss_seconds(s: LinkSample) -> float | None:
    """Estimated data loss (seconds) if you failed over now."""
    return loss_seconds(s.primary_commit_time, s.secondary_commit_time, s.secondary_lag_seconds)


def data_loss_mb(s: LinkSample) -> float | None:
    return loss_mb(s.log_send_queue_kb)


def redo_seconds(s: LinkSample) -> float | None:
    """Estimated catch-up (redo) time; infinite while the queue grows with no redo progress."""
    return redo_eta(s.redo_queue_kb, s.redo_rate_kbs)


def planned_failover_safe(s: LinkSample, max_queue_kb: float = 0) -> tuple[bool, str]:
    """Whether a planned failover would lose nothing now, and why not."""
    return failover_safe(s.connected, s.sync_health, s.sync_state, s.log_send_queue_kb, max_queue_kb)


def seeding_eta_seconds(s: LinkSample) -> float | None:
    return seeding_eta(s.seeding_total_bytes, s.seeding_done_bytes, s.seeding_rate_bps)


def certificate_days_left(s: LinkSample, now: dt.datetime) -> float | None:
    return days_left(s.certificate_expiry, now)
