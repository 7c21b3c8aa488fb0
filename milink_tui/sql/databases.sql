-- milink: one row per user database with what the eligibility rules need (domain.md §3).
SET NOCOUNT ON;
SELECT d.name, d.database_id, d.state_desc, d.recovery_model_desc, d.is_read_only, d.is_in_standby,
       d.collation_name, d.is_encrypted, d.is_broker_enabled, d.is_published, d.is_merge_published,
       d.is_cdc_enabled, d.is_distributor, d.group_database_id,
       rs.last_log_backup_lsn,
       (SELECT TOP 1 ag.name FROM sys.availability_databases_cluster adc
          JOIN sys.availability_groups ag ON ag.group_id = adc.group_id
         WHERE adc.database_name = d.name AND ag.is_distributed = 0) AS ag_name,
       (SELECT COUNT(*) FROM sys.master_files mf WHERE mf.database_id = d.database_id AND mf.type = 1) AS log_files,
       (SELECT SUM(CAST(mf.size AS bigint)) * 8 / 1024 FROM sys.master_files mf
         WHERE mf.database_id = d.database_id) AS size_mb,
       (SELECT COUNT(*) FROM sys.master_files mf WHERE mf.database_id = d.database_id AND mf.type = 2)
         AS filestream_or_xtp_containers,
       (SELECT MAX(b.backup_finish_date) FROM msdb.dbo.backupset b
         WHERE b.database_name = d.name AND b.type = 'D' AND b.is_copy_only = 0) AS last_full_backup,
       (SELECT COUNT(*) FROM msdb.dbo.backupset b
         WHERE b.database_name = d.name AND b.type = 'D' AND b.is_copy_only = 1) AS copy_only_backups
FROM sys.databases d
JOIN sys.database_recovery_status rs ON rs.database_id = d.database_id
WHERE d.database_id > 4
ORDER BY d.name;
