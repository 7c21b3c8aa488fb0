-- milink: everything the Requirements page needs about one SQL Server, in one round trip.
-- Result sets, in order: properties, global trace flags, mirroring endpoints, master certificates,
-- availability groups, services.
SET NOCOUNT ON;
SELECT
    CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128))      AS product_version,
    CAST(SERVERPROPERTY('ProductLevel') AS nvarchar(128))        AS product_level,
    CAST(SERVERPROPERTY('ProductUpdateLevel') AS nvarchar(128))  AS product_update_level,
    CAST(SERVERPROPERTY('Edition') AS nvarchar(128))             AS edition,
    CAST(SERVERPROPERTY('EngineEdition') AS int)                 AS engine_edition,
    CAST(SERVERPROPERTY('IsHadrEnabled') AS int)                 AS is_hadr_enabled,
    CAST(SERVERPROPERTY('HadrManagerStatus') AS int)             AS hadr_manager_status,
    CAST(SERVERPROPERTY('Collation') AS nvarchar(128))           AS collation,
    CAST(SERVERPROPERTY('InstanceName') AS nvarchar(128))        AS instance_name,
    @@SERVERNAME                                                 AS server_name,
    @@VERSION                                                    AS version_string,
    IS_SRVROLEMEMBER('sysadmin')                                 AS is_sysadmin,
    (SELECT COUNT(*) FROM master.sys.symmetric_keys WHERE symmetric_key_id = 101) AS master_keys,
    (SELECT COUNT(*) FROM master.sys.system_objects
      WHERE name IN ('sp_certificate_add_issuer', 'sp_get_endpoint_certificate')) AS connect_procs;
DBCC TRACESTATUS(-1) WITH NO_INFOMSGS;
SELECT e.name, e.state_desc, e.role_desc, e.connection_auth_desc, e.certificate_id,
       c.name AS certificate_name, c.expiry_date AS certificate_expiry,
       e.is_encryption_enabled, e.encryption_algorithm_desc, t.port
FROM sys.database_mirroring_endpoints e
JOIN sys.tcp_endpoints t ON t.endpoint_id = e.endpoint_id
LEFT JOIN master.sys.certificates c ON c.certificate_id = e.certificate_id;
SELECT name, certificate_id, subject, issuer_name, start_date, expiry_date, pvt_key_encryption_type,
       thumbprint
FROM master.sys.certificates;
SELECT ag.name, ag.is_distributed, ag.basic_features,
       (SELECT COUNT(*) FROM sys.availability_databases_cluster adc WHERE adc.group_id = ag.group_id) AS db_count
FROM sys.availability_groups ag;
SELECT servicename, status_desc, startup_type_desc FROM sys.dm_server_services;
