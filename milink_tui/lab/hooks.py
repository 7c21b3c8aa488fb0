"""The seam between the protocol front ends (T-SQL engine, ARM server) and the replication engine.

Front ends validate syntax and permissions, then call these for anything that changes how
the two sides replicate: a failover, a role change, a link created or dropped. The replication
engine implements them; front ends receive an instance in their constructor, so each can be
tested with the real engine or a recording double.
"""

from __future__ import annotations

from typing import Protocol

from .model import AvailabilityGroup, ManagedInstance, MiLink, SqlInstance


class LabError(Exception):
    """A failure with a real SQL Server error number (T-SQL) or ARM error code (Azure).

    ``number`` is the SQL error number (0 when only an ARM code applies); ``code`` is the ARM
    error code (e.g. 'DistributedAvailabilityGroupFailoverInvalidInstanceRole'); ``status``
    the HTTP status an ARM front end should answer with.
    """

    def __init__(self, text: str, number: int = 0, code: str = "", status: int = 409, severity: int = 16,
                 state: int = 1) -> None:
        super().__init__(text)
        self.text = text
        self.number = number
        self.code = code
        self.status = status
        self.severity = severity
        self.state = state


class LinkOps(Protocol):
    # --- SQL Server side (T-SQL) ---
    def sql_dag_created(self, instance: SqlInstance, dag: AvailabilityGroup) -> None:
        """CREATE AVAILABILITY GROUP ... WITH (DISTRIBUTED) succeeded; try to pair it."""

    def sql_dag_dropped(self, instance: SqlInstance, dag: AvailabilityGroup) -> None: ...

    def sql_failover(self, instance: SqlInstance, dag: AvailabilityGroup, force: bool) -> None:
        """ALTER AVAILABILITY GROUP [dag] FAILOVER / FORCE_FAILOVER_ALLOW_DATA_LOSS on SQL Server."""

    def sql_set_role_secondary(self, instance: SqlInstance, dag: AvailabilityGroup) -> None:
        """ALTER AVAILABILITY GROUP [dag] SET (ROLE = SECONDARY)."""

    def sql_availability_mode_changed(self, instance: SqlInstance, dag: AvailabilityGroup) -> None: ...

    def sql_log_backup(self, instance: SqlInstance, database: str) -> None:
        """BACKUP LOG happened (it can break seeding: errors 1408/1412 without TF 12381)."""

    # --- managed instance side (ARM) ---
    def mi_link_created(self, mi: ManagedInstance, link: MiLink) -> None: ...

    def mi_link_deleted(self, mi: ManagedInstance, link: MiLink) -> None: ...

    def mi_link_updated(self, mi: ManagedInstance, link: MiLink) -> None:
        """PATCH (replication mode) applied."""

    def mi_failover(self, mi: ManagedInstance, link: MiLink, failover_type: str) -> None:
        """POST failover {failoverType: Planned | ForcedAllowDataLoss}; raise LabError to refuse."""

    def mi_set_role(self, mi: ManagedInstance, link: MiLink, role: str, change_type: str) -> None:
        """POST setRole {instanceRole, roleChangeType}; raise LabError to refuse."""


class NoOps:
    """A LinkOps that does nothing: for front-end unit tests that only look at catalog effects."""

    def __getattr__(self, name: str):  # noqa: D401 - any hook is a no-op
        return lambda *args, **kwargs: None
