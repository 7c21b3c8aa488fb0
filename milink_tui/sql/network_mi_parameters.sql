-- The redirect target: the node hosting the managed instance's primary replica and its HadrPort.
-- This is the documented parameter query (managed-instance-link-preparation, "Test the connection
-- from SQL Server to SQL Managed Instance") returning name/value rows instead of DECLARE text.
-- Service Fabric DMVs are undocumented; only a managed instance has rows in them.
SET NOCOUNT ON;
SELECT N'serverName' AS name, value
FROM sys.dm_hadr_fabric_config_parameters WHERE parameter_name = 'DnsRecordName'
UNION
SELECT N'node' AS name, NodeName + '.' + Cluster AS value
FROM (
    SELECT SUBSTRING(replica_address, 0, CHARINDEX('\', replica_address)) AS NodeName,
           RIGHT(service_name, CHARINDEX('/', REVERSE(service_name)) - 1) AppName, JoinCol = 1
    FROM sys.dm_hadr_fabric_partitions fp
    INNER JOIN sys.dm_hadr_fabric_replicas fr ON fp.partition_id = fr.partition_id
    INNER JOIN sys.dm_hadr_fabric_nodes fn ON fr.node_name = fn.node_name
    WHERE service_name LIKE '%ManagedServer%' AND replica_role = 2
) t1
LEFT JOIN (SELECT value AS Cluster, JoinCol = 1 FROM sys.dm_hadr_fabric_config_parameters
           WHERE parameter_name = 'ClusterName') t2 ON (t1.JoinCol = t2.JoinCol)
INNER JOIN (SELECT [value] AS AppName FROM sys.dm_hadr_fabric_config_parameters
            WHERE section_name = 'SQL' AND parameter_name = 'InstanceName') t3 ON (t1.AppName = t3.AppName)
UNION
SELECT N'port' AS name, value
FROM sys.dm_hadr_fabric_config_parameters WHERE parameter_name = 'HadrPort';
