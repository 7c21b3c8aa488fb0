-- milink dashboard: every link on this SQL Server in one round trip (polite to production).
-- Result sets: link databases; seeding in progress; the endpoint certificate; server name and clock.
-- The link databases come FOR JSON: one text column (split into rows the client joins) instead of
-- 23 values a row, which the ODBC driver hands over one call each (500 links: ~5 ms of client CPU
-- a refresh, measured). NULLs are kept so every row has every key. LSNs are numeric(25,0), wider
-- than a JSON parser's 64-bit integers: they travel as text.
SET NOCOUNT ON;
SET LOCK_TIMEOUT 2000;
SELECT ag.name AS link_name,
       lrs.role_desc AS local_role,
       rrs.connected_state_desc AS connected_state,
       rrs.synchronization_health_desc AS replica_health,
       rrs.last_connect_error_number, rrs.last_connect_error_description,
       ar.replica_server_name AS remote_member, ar.endpoint_url AS remote_url, ar.availability_mode_desc,
       DB_NAME(ldrs.database_id) AS database_name,
       rdrs.synchronization_state_desc AS sync_state,
       rdrs.synchronization_health_desc AS sync_health,
       rdrs.log_send_queue_size, rdrs.log_send_rate, rdrs.redo_queue_size, rdrs.redo_rate,
       ldrs.last_commit_time AS primary_commit_time, rdrs.last_commit_time AS secondary_commit_time,
       rdrs.secondary_lag_seconds,
       CONVERT(varchar(25), ldrs.end_of_log_lsn) AS end_of_log_lsn,
       CONVERT(varchar(25), rdrs.last_hardened_lsn) AS last_hardened_lsn,
       ldrs.synchronization_state_desc AS local_sync_state
FROM sys.availability_groups ag
JOIN sys.dm_hadr_availability_replica_states lrs ON lrs.group_id = ag.group_id AND lrs.is_local = 1
LEFT JOIN sys.dm_hadr_availability_replica_states rrs ON rrs.group_id = ag.group_id AND rrs.is_local = 0
LEFT JOIN sys.availability_replicas ar ON ar.replica_id = rrs.replica_id
LEFT JOIN sys.dm_hadr_database_replica_states ldrs ON ldrs.group_id = ag.group_id AND ldrs.is_local = 1
LEFT JOIN sys.dm_hadr_database_replica_states rdrs ON rdrs.group_id = ag.group_id AND rdrs.is_local = 0
      AND rdrs.group_database_id = ldrs.group_database_id
WHERE ag.is_distributed = 1
ORDER BY ag.name
FOR JSON PATH, INCLUDE_NULL_VALUES;
SELECT local_database_name, transferred_size_bytes, database_size_bytes, transfer_rate_bytes_per_second,
       start_time_utc, estimate_time_complete_utc
FROM sys.dm_hadr_physical_seeding_stats;
SELECT c.name, c.expiry_date
FROM sys.database_mirroring_endpoints e
JOIN master.sys.certificates c ON c.certificate_id = e.certificate_id;
SELECT @@SERVERNAME AS server_name, SYSUTCDATETIME() AS now_utc;
