"""The reference's published queries (domain.md §7, §8.2), verbatim, shared by the lab tests.

``<DAGname>`` is the reference's own placeholder; tests substitute a link name.
"""

SEEDING_QUERY = """
SELECT
    ag.local_database_name AS 'Local database name',
    ar.current_state AS 'Current state',
    ar.is_source AS 'Is source',
    ag.internal_state_desc AS 'Internal state desc',
    ag.database_size_bytes / 1024 / 1024 AS 'Database size MB',
    ag.transferred_size_bytes / 1024 / 1024 AS 'Transferred MB',
    ag.transfer_rate_bytes_per_second / 1024 / 1024 AS 'Transfer rate MB/s',
    ag.total_disk_io_wait_time_ms / 1000 AS 'Total Disk IO wait (sec)',
    ag.total_network_wait_time_ms / 1000 AS 'Total Network wait (sec)',
    ag.is_compression_enabled AS 'Compression',
    ag.start_time_utc AS 'Start time UTC',
    ag.estimate_time_complete_utc as 'Estimated time complete UTC',
    ar.completion_time AS 'Completion time',
    ar.number_of_attempts AS 'Attempt No'
FROM sys.dm_hadr_physical_seeding_stats AS ag
INNER JOIN sys.dm_hadr_automatic_seeding AS ar ON local_physical_seeding_id = operation_id;
"""

ETA_QUERY = """
SELECT DISTINCT CONVERT(VARCHAR(8), DATEADD(SECOND, DATEDIFF(SECOND, start_time_utc, estimate_time_complete_utc), 0), 108)
       AS 'Estimated complete time'
FROM sys.dm_hadr_physical_seeding_stats;
"""

HEALTH_QUERY = """
DECLARE @link_name varchar(max) = '<DAGname>'
SELECT rs.synchronization_health_desc [Link sync health]
FROM sys.availability_groups ag
JOIN sys.dm_hadr_availability_replica_states rs ON ag.group_id = rs.group_id
WHERE rs.is_local = 0 AND rs.role = 2 AND ag.is_distributed = 1 AND ag.name = @link_name
"""

LAG_QUERY = """
USE master
DECLARE @link_name varchar(max) = '<DAGname>'
SELECT ag.name [Link name], ars1.role_desc [Link role],
       ars2.connected_state_desc [Link connected state],
       ars2.synchronization_health_desc [Link sync health],
       drs.secondary_lag_seconds [Link replication latency (seconds)]
FROM sys.availability_groups ag
JOIN sys.dm_hadr_availability_replica_states ars1 ON ag.group_id = ars1.group_id
JOIN sys.dm_hadr_availability_replica_states ars2 ON ag.group_id = ars2.group_id
JOIN sys.dm_hadr_database_replica_states drs ON ars2.replica_id = drs.replica_id
WHERE ag.is_distributed = 1 AND ag.name = @link_name AND ars1.is_local = 1 AND ars2.is_local = 0
"""

DASHBOARD_QUERY = """
SELECT ag.name AS dag, ag.is_distributed, ar.replica_server_name, drs.is_local, drs.is_primary_replica,
       DB_NAME(drs.database_id) AS db,
       drs.synchronization_state_desc,      -- NOT SYNCHRONIZING | SYNCHRONIZING | SYNCHRONIZED | REVERTING | INITIALIZING
       drs.synchronization_health_desc,     -- NOT_HEALTHY | PARTIALLY_HEALTHY | HEALTHY
       drs.is_suspended, drs.suspend_reason_desc,
       drs.log_send_queue_size,  drs.log_send_rate,     -- KB, KB/s (primary-side view of each secondary)
       drs.redo_queue_size,      drs.redo_rate,         -- KB, KB/s
       drs.end_of_log_lsn, drs.last_sent_lsn, drs.last_received_lsn, drs.last_hardened_lsn, drs.last_redone_lsn,
       drs.last_commit_lsn, drs.last_commit_time, drs.last_hardened_time, drs.last_redone_time,
       drs.secondary_lag_seconds            -- 2016+; NULL on the secondary itself
FROM sys.dm_hadr_database_replica_states drs
JOIN sys.availability_replicas ar ON ar.replica_id = drs.replica_id
JOIN sys.availability_groups ag ON ag.group_id = drs.group_id;
"""

SPLIT_BRAIN_QUERY = """
USE master
DECLARE @link_name varchar(max) = '<DAGName>'
SELECT ag.name [Link name], rs.role_desc [Link role]
FROM sys.availability_groups ag
JOIN sys.dm_hadr_availability_replica_states rs ON ag.group_id = rs.group_id
WHERE rs.is_local = 1 AND ag.is_distributed = 1 AND ag.name = @link_name
"""

SYNC_MODE_CHECK = """
SELECT ag.name, ag.is_distributed, ar.replica_server_name, ar.availability_mode_desc,
       ars.connected_state_desc, ars.role_desc, ars.operational_state_desc, ars.synchronization_health_desc
FROM sys.availability_groups ag
JOIN sys.availability_replicas ar ON ag.group_id = ar.group_id
LEFT JOIN sys.dm_hadr_availability_replica_states ars ON ars.replica_id = ar.replica_id
WHERE ag.is_distributed = 1
"""

LSN_QUERY = """
SELECT ag.name AS [Replication group], db.name AS [Database name], drs.database_id, drs.group_id, drs.replica_id,
       drs.synchronization_state_desc AS [Sync state], drs.end_of_log_lsn AS [End of log LSN],
       drs.last_hardened_lsn AS [Last hardened LSN]
FROM sys.dm_hadr_database_replica_states drs
JOIN sys.databases db ON db.database_id = drs.database_id
JOIN sys.availability_groups ag ON drs.group_id = ag.group_id
WHERE ag.is_distributed = 1 AND db.name = '<DatabaseName>'
"""
