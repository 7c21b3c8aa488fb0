-- Home screen: the links (distributed availability groups) on this SQL Server, one row each.
SELECT ag.name                                        AS link,
       ISNULL(l.role_desc, N'')                       AS local_role,
       ISNULL(r.connected_state_desc, N'')            AS connected_state,
       ISNULL(r.synchronization_health_desc, N'')     AS health
FROM sys.availability_groups ag
LEFT JOIN sys.dm_hadr_availability_replica_states l ON l.group_id = ag.group_id AND l.is_local = 1
LEFT JOIN sys.dm_hadr_availability_replica_states r ON r.group_id = ag.group_id AND r.is_local = 0
WHERE ag.is_distributed = 1
ORDER BY ag.name;
